"""Ops with no operands: `constant` (and `full`, a uniform constant) and `iota`.

They have no derivative and are never batched (the batching pass clones an op with
no batched operand unchanged); their rules are the builder, the shape rule and the
lowering.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mlir import ir

from tfn.autodiff.rules import NO_DERIVATIVE
from tfn.batching.rules import BATCH_RULES
from tfn.dialect.core import BUILDERS, create, fail, i64_attr, int_attr
from tfn.dialect.types import canonical_dtype, dtype_of, to_element_type, is_float_dtype, shape_of, tensor_type
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import LOWERINGS, arith, builders, cast_scalar, linalg


def _no_operands(op, operands, bdims):
    raise AssertionError(f"'{op.name}' has no operands: it is never batched")


# ---------------------------------------------------------------- constant

def constant(array, dtype=None) -> ir.Value:
    """A `tfn.constant` holding a copy of `array`."""
    data = np.asarray(array)
    dtype = canonical_dtype(data.dtype if dtype is None else dtype)
    data = np.asarray(data, dtype=dtype, order="C")
    ttype = tensor_type(data.shape, dtype)
    # A zero-size constant holds no element: any splat describes it (and packbits, flat[0] need one).
    first = data.flat[0] if data.size else np.zeros((), dtype)[()]
    uniform = data.size == 0 or bool(np.all(data == first))
    if data.dtype == np.bool_:
        attr = (ir.DenseElementsAttr.get_splat(ttype, ir.BoolAttr.get(bool(first))) if uniform
                else ir.DenseElementsAttr.get(np.packbits(data, bitorder="little"), type=ttype))
    elif uniform and not np.isnan(first):
        scalar = (ir.FloatAttr.get(to_element_type(dtype), float(first)) if is_float_dtype(dtype)
                  else ir.IntegerAttr.get(to_element_type(dtype), int(first)))
        attr = ir.DenseElementsAttr.get_splat(ttype, scalar)
    else:
        attr = ir.DenseElementsAttr.get(data, type=ttype)
    return create("constant", [], ttype, {"value": attr})


def full(shape: Sequence[int], value, dtype) -> ir.Value:
    """A constant of `shape` whose every element is `value`."""
    return constant(np.full(tuple(shape), value, dtype=canonical_dtype(dtype)))


def _lower_constant(op):
    return arith.ConstantOp(op.result.type, op.attributes["value"]).result


BUILDERS["tfn.constant"] = constant
SHAPE_RULES["tfn.constant"] = lambda op: create("constant", [], ir.DenseElementsAttr(op.attributes["value"]).type)
NO_DERIVATIVE["tfn.constant"] = "no operands"
BATCH_RULES["tfn.constant"] = _no_operands
LOWERINGS["tfn.constant"] = _lower_constant


# ---------------------------------------------------------------- iota

def iota(shape: Sequence[int], dimension: int, dtype) -> ir.Value:
    """result[i0, ..., in] = i_dimension."""
    shape = tuple(int(s) for s in shape)
    if not 0 <= dimension < len(shape):
        fail("iota", f"dimension {dimension} out of range for shape {shape}")
    return create("iota", [], tensor_type(shape, dtype), {"dimension": i64_attr(dimension)})


def _lower_iota(op):
    out = ir.RankedTensorType(op.result.type)
    dims, elem, dim = list(out.shape), out.element_type, int_attr(op, "dimension")
    i64 = ir.IntegerType.get_signless(64)

    def body(acc):
        index = arith.index_cast(i64, linalg.IndexOp(dim).result)
        return cast_scalar(index, elem)
    return builders.generic([], builders.empty(dims, elem), [ir.AffineMap.get_identity(len(dims))],
                            [builders.PARALLEL] * len(dims), body)


BUILDERS["tfn.iota"] = iota
SHAPE_RULES["tfn.iota"] = lambda op: iota(shape_of(op.results[0]), int_attr(op, "dimension"), dtype_of(op.results[0]))
NO_DERIVATIVE["tfn.iota"] = "no operands"
BATCH_RULES["tfn.iota"] = _no_operands
LOWERINGS["tfn.iota"] = _lower_iota

__all__ = ["constant", "full", "iota"]
