"""The shape rules of tfn ops, as the `tfn-verify` pass checks them.

IRDL checks only that operands and results are tensors and that attributes have the
right kinds. The rest (shapes, dtypes, attribute values) is what each builder infers
and checks, so an op's shape rule rebuilds it from its operands and attributes with
its builder: `SHAPE_RULES[name](op, *operands) -> ir.Value`, in a scratch block. The
inferred result type must equal the op's, and a builder's ShapeError is the
diagnostic. Each family module of `tfn.ops` registers the rules of its ops here,
beside their builders; `tfn.passes.verify` runs them (also right after `tfn-opt`
parses its input).
"""
from __future__ import annotations

from typing import Callable

from mlir import ir

SHAPE_RULES: dict[str, Callable[..., ir.Value]] = {}
