"""Autodiff rule tables (`tfn.autodiff.rules`): filled by the op families of `tfn.ops`,
read by the `tfn-autodiff` pass (`tfn.passes.autodiff`)."""
from tfn.autodiff.rules import EMITTED_ON_TANGENTS, JVP_RULES, NO_DERIVATIVE, TRANSPOSE_RULES

__all__ = ["EMITTED_ON_TANGENTS", "JVP_RULES", "NO_DERIVATIVE", "TRANSPOSE_RULES"]
