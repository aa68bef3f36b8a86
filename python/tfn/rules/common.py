"""Helpers shared by the rule tables: symbolic zeros, constants shaped like a value."""
from __future__ import annotations

from mlir import ir

from tfn.dialect import ops
from tfn.dialect.types import dtype_of, shape_of


def full_like(v: ir.Value, value) -> ir.Value:
    return ops.full(shape_of(v), value, dtype_of(v))


def zeros_like(v: ir.Value) -> ir.Value:
    return full_like(v, 0)


def add_any(a: ir.Value | None, b: ir.Value | None) -> ir.Value | None:
    """Sum of two tangents where None is a symbolic zero."""
    if a is None:
        return b
    if b is None:
        return a
    return ops.add(a, b)


def neg_any(a: ir.Value | None) -> ir.Value | None:
    return None if a is None else ops.neg(a)


def is_float(v: ir.Value) -> bool:
    return dtype_of(v).kind == "f"


def tangent_or_zeros(t: ir.Value | None, primal: ir.Value) -> ir.Value:
    """The tangent, materialized as zeros where it is symbolic (for ops that need every operand)."""
    return t if t is not None else zeros_like(primal)

