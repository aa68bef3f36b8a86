"""Typed builders for tfn ops: shape and dtype inference, checks, then `Operation.create`.

Every builder inserts at the current `ir.InsertionPoint` with the current
`ir.Location`, and returns the result `ir.Value`. The tracer, the autodiff and
batching rules and the tests all build IR through these functions, so a
derivative is itself made of tfn ops (and can be differentiated or batched).

    >>> from mlir import ir
    >>> from tfn.dialect import new_context, ops, types
    >>> with new_context(), ir.Location.unknown():
    ...     m = ir.Module.create()
    ...     with ir.InsertionPoint(m.body):
    ...         c = ops.constant(np.ones((2, 3), np.float32))
    ...         print(types.shape_of(ops.transpose(c, (1, 0))))
    (3, 2)
"""
from __future__ import annotations

import builtins
import re
from typing import Sequence

import numpy as np
from mlir import ir

from tfn.dialect.types import dtype_of, is_float, shape_of, tensor_type, canonical_dtype, element_type

UNARY_OPS = ("neg", "exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "erf", "logistic",
             "sqrt", "rsqrt", "abs", "sign", "floor", "ceil", "round", "stop_gradient")
FLOAT_ONLY_UNARY = frozenset({"exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "erf", "logistic",
                              "floor", "ceil", "round",
                              "sqrt", "rsqrt"})
BINARY_OPS = ("add", "sub", "mul", "div", "pow", "max", "min")
COMPARE_DIRECTIONS = ("eq", "ne", "lt", "le", "gt", "ge")
REDUCE_OPS = ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod")
SHAPE_OPS = ("broadcast_in_dim", "reshape", "transpose", "slice", "concatenate", "pad")
OTHER_OPS = ("constant", "iota", "compare", "select", "convert", "dot_general")
RANDOM_OPS = ("random_bits",)
ALL_OPS = UNARY_OPS + BINARY_OPS + REDUCE_OPS + SHAPE_OPS + OTHER_OPS + RANDOM_OPS


class ShapeError(TypeError, ValueError):
    """Bad shapes or dtypes given to a tfn op; the message names the op, the shapes and the source line."""


_LOC_FILE_LINE = re.compile(r'loc\("([^"]*)":(\d+)(?::\d+)?')


def source_line() -> str:
    """'file:line' of the current location, or '' when it is unknown."""
    try:
        text = str(ir.Location.current)
    except ValueError:
        return ""
    match = _LOC_FILE_LINE.search(text)
    return f"{match.group(1)}:{match.group(2)}" if match else ""


def fail(op: str, message: str, *values_or_shapes) -> None:
    shapes = ", ".join(_describe(v) for v in values_or_shapes)
    where = source_line()
    text = f"tfn.{op}: {message}" + (f" (got {shapes})" if shapes else "") + (f"\n  at {where}" if where else "")
    raise ShapeError(text)


def _describe(v) -> str:
    if isinstance(v, ir.Value):
        return f"{dtype_of(v).name}{list(shape_of(v))}"
    return str(v)


def _i64_array(values: Sequence[int]) -> ir.DenseI64ArrayAttr:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])


def _create(name: str, operands: list, result_type: ir.Type, attributes: dict | None = None) -> ir.Value:
    op = ir.Operation.create("tfn." + name, results=[result_type], operands=operands,
                             attributes=attributes or {})
    return op.result


def _result_type_like(value: ir.Value, shape=None, dtype=None) -> ir.Type:
    if dtype is None:  # the operand's element type as it is (no dtype round trip)
        t = ir.RankedTensorType(value.type)
        return ir.RankedTensorType.get(t.shape if shape is None else list(shape), t.element_type)
    return tensor_type(shape_of(value) if shape is None else shape, dtype)


# ---------------------------------------------------------------- constants

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
        scalar = (ir.FloatAttr.get(element_type(dtype), float(first)) if is_float(dtype)
                  else ir.IntegerAttr.get(element_type(dtype), int(first)))
        attr = ir.DenseElementsAttr.get_splat(ttype, scalar)
    else:
        attr = ir.DenseElementsAttr.get(data, type=ttype)
    return _create("constant", [], ttype, {"value": attr})


def full(shape: Sequence[int], value, dtype) -> ir.Value:
    return constant(np.full(tuple(shape), value, dtype=canonical_dtype(dtype)))


def iota(shape: Sequence[int], dimension: int, dtype) -> ir.Value:
    """result[i0, ..., in] = i_dimension."""
    shape = tuple(int(s) for s in shape)
    if not 0 <= dimension < len(shape):
        fail("iota", f"dimension {dimension} out of range for shape {shape}")
    return _create("iota", [], tensor_type(shape, dtype),
                   {"dimension": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), dimension)})


# ---------------------------------------------------------------- elementwise

def unary(name: str, x: ir.Value) -> ir.Value:
    if name in FLOAT_ONLY_UNARY and not is_float(dtype_of(x)):
        fail(name, "needs a floating-point operand", x)
    return _create(name, [x], x.type)


def binary(name: str, lhs: ir.Value, rhs: ir.Value) -> ir.Value:
    if lhs.type != rhs.type:
        fail(name, "operands must have one shape and dtype (broadcast and convert first)", lhs, rhs)
    return _create(name, [lhs, rhs], lhs.type)


def _make_unary(name):
    def build(x: ir.Value) -> ir.Value:
        return unary(name, x)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"Elementwise `tfn.{name}`."
    return build


def _make_binary(name):
    def build(lhs: ir.Value, rhs: ir.Value) -> ir.Value:
        return binary(name, lhs, rhs)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"Elementwise `tfn.{name}` of two operands of one type."
    return build


neg, exp, log, log1p, expm1, sin, cos, tanh, erf, logistic, sqrt, rsqrt, abs, sign, floor, ceil, round, \
    stop_gradient = (
    _make_unary(n) for n in UNARY_OPS)
add, sub, mul, div, pow, max, min = (_make_binary(n) for n in BINARY_OPS)


def compare(direction: str, lhs: ir.Value, rhs: ir.Value) -> ir.Value:
    if direction not in COMPARE_DIRECTIONS:
        fail("compare", f"unknown direction {direction!r} (one of {', '.join(COMPARE_DIRECTIONS)})")
    if lhs.type != rhs.type:
        fail("compare", "operands must have one shape and dtype", lhs, rhs)
    return _create("compare", [lhs, rhs], _result_type_like(lhs, dtype=np.bool_),
                   {"direction": ir.StringAttr.get(direction)})


def select(pred: ir.Value, on_true: ir.Value, on_false: ir.Value) -> ir.Value:
    if on_true.type != on_false.type or shape_of(pred) != shape_of(on_true) or dtype_of(pred) != np.bool_:
        fail("select", "needs a bool predicate and two branches, all of one shape", pred, on_true, on_false)
    return _create("select", [pred, on_true, on_false], on_true.type)


def convert(x: ir.Value, dtype) -> ir.Value:
    dtype = canonical_dtype(dtype)
    if dtype_of(x) == dtype:
        return x
    return _create("convert", [x], _result_type_like(x, dtype=dtype))


# ---------------------------------------------------------------- shape ops

def broadcast_in_dim(x: ir.Value, shape: Sequence[int], broadcast_dimensions: Sequence[int]) -> ir.Value:
    """Operand dim i goes to result dim broadcast_dimensions[i]; its size is equal or 1."""
    shape, dims, src = tuple(int(s) for s in shape), tuple(int(d) for d in broadcast_dimensions), shape_of(x)
    if len(dims) != len(src) or len(set(dims)) != len(dims) or list(dims) != sorted(dims) \
            or any(not 0 <= d < len(shape) for d in dims) \
            or any(s not in (1, shape[d]) for s, d in zip(src, dims)):
        fail("broadcast_in_dim", f"cannot broadcast to shape {shape} with dimensions {dims}", x)
    return _create("broadcast_in_dim", [x], _result_type_like(x, shape=shape),
                   {"broadcast_dimensions": _i64_array(dims)})


def reshape(x: ir.Value, shape: Sequence[int]) -> ir.Value:
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) != int(np.prod(shape_of(x))) or any(s < 0 for s in shape):
        fail("reshape", f"cannot reshape to {shape}", x)
    if shape == shape_of(x):
        return x
    return _create("reshape", [x], _result_type_like(x, shape=shape))


def transpose(x: ir.Value, permutation: Sequence[int]) -> ir.Value:
    perm, src = tuple(int(p) for p in permutation), shape_of(x)
    if sorted(perm) != list(range(len(src))):
        fail("transpose", f"permutation {perm} does not fit rank {len(src)}", x)
    if perm == tuple(range(len(src))):
        return x
    return _create("transpose", [x], _result_type_like(x, shape=[src[p] for p in perm]),
                   {"permutation": _i64_array(perm)})


def slice(x: ir.Value, start: Sequence[int], limit: Sequence[int], strides: Sequence[int] | None = None) -> ir.Value:
    src = shape_of(x)
    strides = [1] * len(src) if strides is None else [int(s) for s in strides]
    start, limit = [int(s) for s in start], [int(s) for s in limit]
    if not (len(start) == len(limit) == len(strides) == len(src)) or any(
            not (0 <= b <= e <= n) or s < 1 for b, e, s, n in zip(start, limit, strides, src)):
        fail("slice", f"bad bounds start={start} limit={limit} strides={strides}", x)
    out = [builtins.max(0, -(-(e - b) // s)) for b, e, s in zip(start, limit, strides)]
    return _create("slice", [x], _result_type_like(x, shape=out),
                   {"start_indices": _i64_array(start), "limit_indices": _i64_array(limit),
                    "strides": _i64_array(strides)})


def concatenate(lhs: ir.Value, rhs: ir.Value, dimension: int) -> ir.Value:
    a, b = shape_of(lhs), shape_of(rhs)
    if len(a) != len(b) or not 0 <= dimension < len(a) or dtype_of(lhs) != dtype_of(rhs) or any(
            x != y for i, (x, y) in enumerate(zip(a, b)) if i != dimension):
        fail("concatenate", f"cannot join along dimension {dimension}", lhs, rhs)
    out = list(a)
    out[dimension] += b[dimension]
    return _create("concatenate", [lhs, rhs], _result_type_like(lhs, shape=out),
                   {"dimension": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), dimension)})


def pad(x: ir.Value, padding_value: ir.Value, low: Sequence[int], high: Sequence[int],
        interior: Sequence[int] | None = None) -> ir.Value:
    src = shape_of(x)
    interior = [0] * len(src) if interior is None else [int(i) for i in interior]
    low, high = [int(v) for v in low], [int(v) for v in high]
    if not (len(low) == len(high) == len(interior) == len(src)) or builtins.min(low + high + interior, default=0) < 0 \
            or shape_of(padding_value) != () or dtype_of(padding_value) != dtype_of(x):
        fail("pad", f"bad padding low={low} high={high} interior={interior}", x, padding_value)
    out = [lo + hi + n + builtins.max(n - 1, 0) * i for lo, hi, n, i in zip(low, high, src, interior)]
    return _create("pad", [x, padding_value], _result_type_like(x, shape=out),
                   {"edge_padding_low": _i64_array(low), "edge_padding_high": _i64_array(high),
                    "interior_padding": _i64_array(interior)})


# ---------------------------------------------------------------- contraction

def dot_general(lhs: ir.Value, rhs: ir.Value, batch: tuple[Sequence[int], Sequence[int]],
                contract: tuple[Sequence[int], Sequence[int]]) -> ir.Value:
    """Result dims: batch dims, lhs free dims, rhs free dims (StableHLO's order)."""
    a, b = shape_of(lhs), shape_of(rhs)
    (lb, rb), (lc, rc) = ([int(d) for d in batch[0]], [int(d) for d in batch[1]]), (
        [int(d) for d in contract[0]], [int(d) for d in contract[1]])
    ok = (len(lb) == len(rb) and len(lc) == len(rc) and dtype_of(lhs) == dtype_of(rhs)
          and len(set(lb + lc)) == len(lb + lc) and len(set(rb + rc)) == len(rb + rc)
          and all(0 <= d < len(a) for d in lb + lc) and all(0 <= d < len(b) for d in rb + rc)
          and all(a[i] == b[j] for i, j in zip(lb + lc, rb + rc)))
    if not ok:
        fail("dot_general", f"dimensions do not match (batch {lb}/{rb}, contracting {lc}/{rc})", lhs, rhs)
    lfree = [d for d in range(len(a)) if d not in lb and d not in lc]
    rfree = [d for d in range(len(b)) if d not in rb and d not in rc]
    out = [a[d] for d in lb] + [a[d] for d in lfree] + [b[d] for d in rfree]
    return _create("dot_general", [lhs, rhs], _result_type_like(lhs, shape=out),
                   {"lhs_batching_dimensions": _i64_array(lb), "rhs_batching_dimensions": _i64_array(rb),
                    "lhs_contracting_dimensions": _i64_array(lc), "rhs_contracting_dimensions": _i64_array(rc)})


# ---------------------------------------------------------------- reductions

def reduce(kind: str, x: ir.Value, dimensions: Sequence[int]) -> ir.Value:
    """`tfn.reduce_<kind>` over `dimensions`, which leave the result shape."""
    name = "reduce_" + kind
    if name not in REDUCE_OPS:
        fail(name, "unknown reduction")
    src = shape_of(x)
    dims = sorted({int(d) for d in dimensions})
    if any(not 0 <= d < len(src) for d in dims):
        fail(name, f"dimensions {dims} out of range", x)
    if not dims:
        return x
    out = [n for i, n in enumerate(src) if i not in dims]
    return _create(name, [x], _result_type_like(x, shape=out), {"dimensions": _i64_array(dims)})


# ---------------------------------------------------------------- reading attributes back

def int_array(op: ir.Operation, name: str) -> list[int]:
    attr = ir.DenseI64ArrayAttr(op.attributes[name])
    return [attr[i] for i in range(len(attr))]  # indexing: ~7x faster than the attribute's iterator


def int_attr(op: ir.Operation, name: str) -> int:
    return ir.IntegerAttr(op.attributes[name]).value


def str_attr(op: ir.Operation, name: str) -> str:
    return ir.StringAttr(op.attributes[name]).value


# ---------------------------------------------------------------- random numbers


def random_bits(key: ir.Value, shape: Sequence[int]) -> ir.Value:
    """`tfn.random_bits`: Threefry-2x32 bits of counters 0.. over `shape`, for each key of
    `key` (int32[..., 2]); the result shape is key.shape[:-1] + shape, int32."""
    src, shape = shape_of(key), tuple(int(s) for s in shape)
    if not src or src[-1] != 2 or dtype_of(key) != np.int32 or any(s < 0 for s in shape):
        fail("random_bits", f"needs an int32 key of shape [..., 2] and a non-negative shape, got shape {shape}",
             key)
    return _create("random_bits", [key], tensor_type(src[:-1] + shape, np.int32))
