"""The autodiff rule tables, and the helpers that turn short derivative rules into full ones.

- JVP_RULES[name](op, primals, tangents) -> tangent of op's result, or None for zero.
  `op` is the primal op already emitted, `primals` its operands, `tangents` one
  ir.Value or None (symbolic zero) per operand. Tangents are linear in `tangents`.
- EMITTED_ON_TANGENTS[name]: the ops that name's JVP rule applies to tangents. Those
  ops make up tangent programs, so each must have a transpose rule (a coverage test
  checks it): this is where an op is declared linear.
- TRANSPOSE_RULES[name](op, ct, operands, linear) -> one cotangent (or None) per operand.
  `linear[i]` says which operands carry tangents (their entry in `operands` is None).
- NO_DERIVATIVE[name]: why an op's result has no tangent.

The rules of each op are registered by its family module in `tfn.ops`, beside its
builder. This module does not import `tfn.ops` (the family modules import it): the
few ops its helpers emit (add, neg, mul, constant) are built through
`tfn.dialect.core.BUILDERS`. A rule that a helper here makes for an op carries the
family module that asked for it as its `__module__`, so every rule of an op names the
one module that defines the op.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np
from mlir import ir

from tfn.dialect.core import BUILDERS
from tfn.dialect.types import dtype_of, is_float_dtype, shape_of

JVP_RULES: dict[str, Callable] = {}
TRANSPOSE_RULES: dict[str, Callable] = {}
NO_DERIVATIVE: dict[str, str] = {}
EMITTED_ON_TANGENTS: dict[str, tuple[str, ...]] = {}


class PrimalsReplaced(NamedTuple):
    """What a JVP rule returns when it also recomputes the op's results (custom_vjp's fwd gives
    the results and the residuals at once): the results replace the re-emitted op's."""
    primals: list
    tangents: list


# ---------------------------------------------------------------- registering rules

def defjvp(name: str, rule: Callable, *, emits: Sequence[str]) -> None:
    """Registers JVP rule `rule` of op `name`, which applies the ops `emits` to tangents."""
    JVP_RULES[name] = rule
    EMITTED_ON_TANGENTS[name] = tuple(emits)


def defjvp_unary(name: str, derivative: Callable, *, module: str) -> None:
    """JVP of y = f(x) as t * f'(x); `derivative(x, y)` builds f'(x) from tfn ops."""
    def jvp(op, primals, tangents):
        t = tangents[0]
        return None if t is None else BUILDERS["tfn.mul"](t, derivative(primals[0], op.result))
    jvp.__module__ = module
    defjvp(name, jvp, emits=("tfn.mul",))


def deflinear(name: str, apply: Callable, transpose: Callable, *, module: str) -> None:
    """A one-operand op linear in its operand: its JVP is `apply(op, tangent)` (the op
    itself, on the tangent), and `transpose` its transpose rule."""
    def jvp(op, primals, tangents):
        return None if tangents[0] is None else apply(op, tangents[0])
    jvp.__module__ = module
    defjvp(name, jvp, emits=(name,))
    TRANSPOSE_RULES[name] = transpose


# ---------------------------------------------------------------- symbolic zeros

def full_like(v: ir.Value, value) -> ir.Value:
    return BUILDERS["tfn.constant"](np.full(shape_of(v), value, dtype=dtype_of(v)))


def zeros_like(v: ir.Value) -> ir.Value:
    return full_like(v, 0)


def add_any(a: ir.Value | None, b: ir.Value | None) -> ir.Value | None:
    """Sum of two tangents where None is a symbolic zero."""
    if a is None:
        return b
    if b is None:
        return a
    return BUILDERS["tfn.add"](a, b)


def neg_any(a: ir.Value | None) -> ir.Value | None:
    return None if a is None else BUILDERS["tfn.neg"](a)


def has_float_dtype(v: ir.Value) -> bool:
    return is_float_dtype(dtype_of(v))


def tangent_or_zeros(t: ir.Value | None, primal: ir.Value) -> ir.Value:
    """The tangent, materialized as zeros where it is symbolic (for ops that need every operand)."""
    return t if t is not None else zeros_like(primal)
