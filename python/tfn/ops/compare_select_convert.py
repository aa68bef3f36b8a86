"""compare, select and convert: the elementwise ops that change or pick by dtype.

Each op's builder, shape rule, JVP (or why there is none), transpose, batching and
lowering are defined together below.
"""
from __future__ import annotations

import numpy as np
from mlir import ir

from tfn.autodiff.rules import NO_DERIVATIVE, TRANSPOSE_RULES, defjvp, has_float_dtype, tangent_or_zeros, zeros_like
from tfn.batching.rules import BATCH_RULES, defbroadcasting
from tfn.dialect.core import BUILDERS, create, fail, result_type_like, str_attr
from tfn.dialect.types import canonical_dtype, dtype_of, shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import LOWERINGS, arith, builders, cast_scalar, width

# ---------------------------------------------------------------- compare

COMPARE_DIRECTIONS = ("eq", "ne", "lt", "le", "gt", "ge")


def compare(direction: str, lhs: ir.Value, rhs: ir.Value) -> ir.Value:
    """Elementwise `lhs <direction> rhs` as bools; operands of one type."""
    if direction not in COMPARE_DIRECTIONS:
        fail("compare", f"unknown direction {direction!r} (one of {', '.join(COMPARE_DIRECTIONS)})")
    if lhs.type != rhs.type:
        fail("compare", "operands must have one shape and dtype", lhs, rhs)
    return create("compare", [lhs, rhs], result_type_like(lhs, dtype=np.bool_),
                  {"direction": ir.StringAttr.get(direction)})


# Predicates by name, read from arith when lowering (see tfn.lowering.rules).
_FLOAT_PREDICATES = {"eq": "OEQ", "ne": "UNE", "lt": "OLT", "le": "OLE", "gt": "OGT", "ge": "OGE"}
_INT_PREDICATES = {"eq": "eq", "ne": "ne", "lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge"}
_BOOL_PREDICATES = {**_INT_PREDICATES, "lt": "ult", "le": "ule", "gt": "ugt", "ge": "uge"}


def _lower_compare(op, a, b):
    t, direction = builders.element_type(a), str_attr(op, "direction")
    i1 = ir.IntegerType.get_signless(1)
    if builders.is_float_type(t):
        pred = getattr(arith.CmpFPredicate, _FLOAT_PREDICATES[direction])
        return builders.elementwise([a, b], i1, lambda x, y: arith.cmpf(pred, x, y))
    pred = getattr(arith.CmpIPredicate, (_BOOL_PREDICATES if width(t) == 1 else _INT_PREDICATES)[direction])
    return builders.elementwise([a, b], i1, lambda x, y: arith.cmpi(pred, x, y))


BUILDERS["tfn.compare"] = compare
SHAPE_RULES["tfn.compare"] = lambda op, a, b: compare(str_attr(op, "direction"), a, b)
NO_DERIVATIVE["tfn.compare"] = "bool result: no tangent"
defbroadcasting("tfn.compare", lambda op, a, b: compare(str_attr(op, "direction"), a, b), module=__name__)
LOWERINGS["tfn.compare"] = _lower_compare


# ---------------------------------------------------------------- select

def select(pred: ir.Value, on_true: ir.Value, on_false: ir.Value) -> ir.Value:
    """Elementwise `on_true if pred else on_false`; all three of one shape, pred bool."""
    if on_true.type != on_false.type or shape_of(pred) != shape_of(on_true) or dtype_of(pred) != np.bool_:
        fail("select", "needs a bool predicate and two branches, all of one shape", pred, on_true, on_false)
    return create("select", [pred, on_true, on_false], on_true.type)


def _jvp_select(op, primals, tangents):
    pred, a, b = primals
    _, ta, tb = tangents
    if ta is None and tb is None:
        return None
    return select(pred, tangent_or_zeros(ta, a), tangent_or_zeros(tb, b))


def _transpose_select(op, ct, operands, linear):
    pred = operands[0]
    zero = zeros_like(ct)
    return [None, select(pred, ct, zero) if linear[1] else None,
            select(pred, zero, ct) if linear[2] else None]


def _lower_select(op, p, a, b):
    return builders.elementwise([p, a, b], builders.element_type(a), arith.select)


BUILDERS["tfn.select"] = select
SHAPE_RULES["tfn.select"] = lambda op, p, a, b: select(p, a, b)
defjvp("tfn.select", _jvp_select, emits=["tfn.select"])
TRANSPOSE_RULES["tfn.select"] = _transpose_select
defbroadcasting("tfn.select", lambda op, p, a, b: select(p, a, b), module=__name__)
LOWERINGS["tfn.select"] = _lower_select


# ---------------------------------------------------------------- convert

def convert(x: ir.Value, dtype) -> ir.Value:
    """x as `dtype` (numpy's astype); x itself when it has that dtype already."""
    dtype = canonical_dtype(dtype)
    if dtype_of(x) == dtype:
        return x
    return create("convert", [x], result_type_like(x, dtype=dtype))


def _check_convert(op, x):
    # Any dtype to any other (the builder drops a same-dtype convert, the IR may keep one).
    if shape_of(x) != shape_of(op.results[0]):
        fail("convert", "changes the shape", x, op.results[0])
    return create("convert", [x], op.results[0].type)


def _jvp_convert(op, primals, tangents):
    t = tangents[0]
    if t is None or not has_float_dtype(op.result) or not has_float_dtype(primals[0]):
        return None  # through integers or bools the derivative is zero
    return convert(t, dtype_of(op.result))


def _transpose_convert(op, ct, operands, linear):
    return [convert(ct, dtype_of(op.operands[0]))]


def _batch_convert(op, operands, bdims):
    return convert(operands[0], dtype_of(op.result)), bdims[0]


def _lower_convert(op, x):
    to = ir.RankedTensorType(op.result.type).element_type
    return builders.elementwise([x], to, lambda v: cast_scalar(v, to))


BUILDERS["tfn.convert"] = convert
SHAPE_RULES["tfn.convert"] = _check_convert
defjvp("tfn.convert", _jvp_convert, emits=["tfn.convert"])
TRANSPOSE_RULES["tfn.convert"] = _transpose_convert
BATCH_RULES["tfn.convert"] = _batch_convert
LOWERINGS["tfn.convert"] = _lower_convert

__all__ = ["compare", "select", "convert", "COMPARE_DIRECTIONS"]
