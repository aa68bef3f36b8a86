"""Shape ops: broadcast_in_dim, reshape, transpose, slice, concatenate, pad.

All are linear, so each JVP applies the op to the tangent and each transpose rule is
the adjoint shape op. Batching shifts the dimension attributes around the batch dim.
Each op's builder, shape rule, JVP, transpose, batching rule and lowering are
defined together below.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import TRANSPOSE_RULES, deflinear, defjvp, tangent_or_zeros
from tfn.batching.rules import BATCH_RULES, batch_size, bdim_to_front, moveaxis, shift
from tfn.dialect.core import BUILDERS, create, fail, i64_array, i64_attr, int_array, int_attr, result_type_like
from tfn.dialect.types import dtype_of, shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import LOWERINGS, arith, builders, linalg, tensor


def _result_shape(op):
    return shape_of(op.results[0])


def _ins(values, at):
    values = list(values)
    values.insert(at, 0)
    return values


# ---------------------------------------------------------------- broadcast_in_dim

def broadcast_in_dim(x: ir.Value, shape: Sequence[int], broadcast_dimensions: Sequence[int]) -> ir.Value:
    """Operand dim i goes to result dim broadcast_dimensions[i]; its size is equal or 1."""
    shape, dims, src = tuple(int(s) for s in shape), tuple(int(d) for d in broadcast_dimensions), shape_of(x)
    if len(dims) != len(src) or len(set(dims)) != len(dims) or list(dims) != sorted(dims) \
            or any(not 0 <= d < len(shape) for d in dims) \
            or any(s not in (1, shape[d]) for s, d in zip(src, dims)):
        fail("broadcast_in_dim", f"cannot broadcast to shape {shape} with dimensions {dims}", x)
    return create("broadcast_in_dim", [x], result_type_like(x, shape=shape),
                  {"broadcast_dimensions": i64_array(dims)})


def transpose_broadcast(ct, operand_shape, dims):
    """Adjoint of broadcast_in_dim: sum over new and expanded dims, reshape to the operand."""
    out_shape = shape_of(ct)
    summed = [d for d in range(len(out_shape)) if d not in dims] + [
        d for s, d in zip(operand_shape, dims) if s == 1 and out_shape[d] != 1]
    return reshape(ops.reduce("sum", ct, summed), operand_shape)


def _apply_broadcast(op, x):
    return broadcast_in_dim(x, shape_of(op.result), int_array(op, "broadcast_dimensions"))


def _t_broadcast(op, ct, operands, linear):
    return [transpose_broadcast(ct, shape_of(op.operands[0]), int_array(op, "broadcast_dimensions"))]


def _batch_broadcast_in_dim(op, operands, bdims):
    x = moveaxis(operands[0], bdims[0], 0)
    shape = shape_of(op.result)
    dims = int_array(op, "broadcast_dimensions")
    return broadcast_in_dim(x, (shape_of(x)[0],) + shape, [0] + [d + 1 for d in dims]), 0


def _lower_broadcast_in_dim(op, x):
    out_dims, src = builders.shape(op.result), builders.shape(x)
    dims = int_array(op, "broadcast_dimensions")
    in_map = builders.affine_map(len(out_dims), [None if n == 1 and out_dims[d] != 1 else d
                                                 for n, d in zip(src, dims)])
    return builders.generic([x], builders.empty(out_dims, builders.element_type(x)),
                            [in_map, ir.AffineMap.get_identity(len(out_dims))],
                            [builders.PARALLEL] * len(out_dims), lambda v, acc: v)


BUILDERS["tfn.broadcast_in_dim"] = broadcast_in_dim
SHAPE_RULES["tfn.broadcast_in_dim"] = lambda op, x: broadcast_in_dim(
    x, _result_shape(op), int_array(op, "broadcast_dimensions"))
deflinear("tfn.broadcast_in_dim", _apply_broadcast, _t_broadcast, module=__name__)
BATCH_RULES["tfn.broadcast_in_dim"] = _batch_broadcast_in_dim
LOWERINGS["tfn.broadcast_in_dim"] = _lower_broadcast_in_dim


# ---------------------------------------------------------------- reshape

def reshape(x: ir.Value, shape: Sequence[int]) -> ir.Value:
    """x in row-major order as `shape` (x itself when it has that shape)."""
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) != int(np.prod(shape_of(x))) or any(s < 0 for s in shape):
        fail("reshape", f"cannot reshape to {shape}", x)
    if shape == shape_of(x):
        return x
    return create("reshape", [x], result_type_like(x, shape=shape))


def _check_reshape(op, x):
    # The IR may keep a reshape to the same shape, which the builder drops.
    if _result_shape(op) != shape_of(x):
        return reshape(x, _result_shape(op))
    return create("reshape", [x], op.results[0].type)


def _batch_reshape(op, operands, bdims):
    x = moveaxis(operands[0], bdims[0], 0)
    return reshape(x, (shape_of(x)[0],) + shape_of(op.result)), 0


BUILDERS["tfn.reshape"] = reshape
SHAPE_RULES["tfn.reshape"] = _check_reshape
deflinear("tfn.reshape", lambda op, x: reshape(x, shape_of(op.result)),
          lambda op, ct, operands, linear: [reshape(ct, shape_of(op.operands[0]))], module=__name__)
BATCH_RULES["tfn.reshape"] = _batch_reshape
LOWERINGS["tfn.reshape"] = lambda op, x: builders.reshape(x, builders.shape(op.result))


# ---------------------------------------------------------------- transpose

def transpose(x: ir.Value, permutation: Sequence[int]) -> ir.Value:
    """Result dim i is operand dim permutation[i] (x itself for the identity)."""
    perm, src = tuple(int(p) for p in permutation), shape_of(x)
    if sorted(perm) != list(range(len(src))):
        fail("transpose", f"permutation {perm} does not fit rank {len(src)}", x)
    if perm == tuple(range(len(src))):
        return x
    return create("transpose", [x], result_type_like(x, shape=[src[p] for p in perm]),
                  {"permutation": i64_array(perm)})


def _t_transpose(op, ct, operands, linear):
    perm = int_array(op, "permutation")
    return [transpose(ct, [perm.index(i) for i in range(len(perm))])]


def _batch_transpose(op, operands, bdims):
    # Batch dim first in the result: one transpose, whatever bdim was.
    bd = bdims[0]
    perm = [bd] + shift(int_array(op, "permutation"), bd)
    return transpose(operands[0], perm), 0


def _lower_transpose(op, x):
    perm, out_dims = int_array(op, "permutation"), builders.shape(op.result)
    inverse = [perm.index(i) for i in range(len(perm))]
    return builders.generic([x], builders.empty(out_dims, builders.element_type(x)),
                            [builders.affine_map(len(perm), inverse), ir.AffineMap.get_identity(len(perm))],
                            [builders.PARALLEL] * len(perm), lambda v, acc: v)


BUILDERS["tfn.transpose"] = transpose
SHAPE_RULES["tfn.transpose"] = lambda op, x: transpose(x, int_array(op, "permutation"))
deflinear("tfn.transpose", lambda op, x: transpose(x, int_array(op, "permutation")), _t_transpose,
          module=__name__)
BATCH_RULES["tfn.transpose"] = _batch_transpose
LOWERINGS["tfn.transpose"] = _lower_transpose


# ---------------------------------------------------------------- slice

def slice(x: ir.Value, start: Sequence[int], limit: Sequence[int], strides: Sequence[int] | None = None) -> ir.Value:
    """x[start:limit:strides] per dim."""
    src = shape_of(x)
    strides = [1] * len(src) if strides is None else [int(s) for s in strides]
    start, limit = [int(s) for s in start], [int(s) for s in limit]
    if not (len(start) == len(limit) == len(strides) == len(src)) or any(
            not (0 <= b <= e <= n) or s < 1 for b, e, s, n in zip(start, limit, strides, src)):
        fail("slice", f"bad bounds start={start} limit={limit} strides={strides}", x)
    out = [max(0, -(-(e - b) // s)) for b, e, s in zip(start, limit, strides)]
    return create("slice", [x], result_type_like(x, shape=out),
                  {"start_indices": i64_array(start), "limit_indices": i64_array(limit),
                   "strides": i64_array(strides)})


def _slice_like(op, x):
    return slice(x, int_array(op, "start_indices"), int_array(op, "limit_indices"), int_array(op, "strides"))


def _t_slice(op, ct, operands, linear):
    src = shape_of(op.operands[0])
    start, strides = int_array(op, "start_indices"), int_array(op, "strides")
    out = shape_of(ct)
    high = [n - b - m - max(m - 1, 0) * (s - 1) for n, b, m, s in zip(src, start, out, strides)]
    zero = ops.full((), 0, dtype_of(ct))
    return [pad(ct, zero, start, high, [s - 1 for s in strides])]


def _batch_slice(op, operands, bdims):
    x, bd = operands[0], bdims[0]
    start, limit, strides = (int_array(op, k) for k in ("start_indices", "limit_indices", "strides"))
    start.insert(bd, 0)
    limit.insert(bd, shape_of(x)[bd])
    strides.insert(bd, 1)
    return slice(x, start, limit, strides), bd


def _lower_slice(op, x):
    # tensor.extract_slice bufferizes to a subview that the consumer reads in place; a
    # strided copy, where one is needed, becomes loops (tfn-lower-strided-copies).
    # (A linalg.generic reading x through an offset map would take its loop bounds
    # from x's larger shape wherever the map is a plain dim.)
    start, strides = int_array(op, "start_indices"), int_array(op, "strides")
    return tensor.ExtractSliceOp(op.result.type, x, [], [], [], start, builders.shape(op.result), strides).result


BUILDERS["tfn.slice"] = slice
SHAPE_RULES["tfn.slice"] = _slice_like
deflinear("tfn.slice", _slice_like, _t_slice, module=__name__)
BATCH_RULES["tfn.slice"] = _batch_slice
LOWERINGS["tfn.slice"] = _lower_slice


# ---------------------------------------------------------------- gathers (concatenate and pad lower to them)

def _gather(out_dims, elem, body):
    """A linalg.generic over `out_dims` whose body(indices) reads its operands by tensor.extract.

    Concatenate and pad are built this way rather than from tensor.insert_slice, which
    bufferizes to a strided memref.copy: a call into MLIR's runtime library.
    """
    n = len(out_dims)

    def compute(acc):
        return body([linalg.IndexOp(d).result for d in range(n)])
    return builders.generic([], builders.empty(out_dims, elem), [ir.AffineMap.get_identity(n)],
                            [builders.PARALLEL] * n, compute)


def _index(value: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), value).result


# ---------------------------------------------------------------- concatenate

def concatenate(lhs: ir.Value, rhs: ir.Value, dimension: int) -> ir.Value:
    """lhs and rhs joined along `dimension` (binary: IRDL variadics are homogeneous, see DESIGN.md)."""
    a, b = shape_of(lhs), shape_of(rhs)
    if len(a) != len(b) or not 0 <= dimension < len(a) or dtype_of(lhs) != dtype_of(rhs) or any(
            x != y for i, (x, y) in enumerate(zip(a, b)) if i != dimension):
        fail("concatenate", f"cannot join along dimension {dimension}", lhs, rhs)
    out = list(a)
    out[dimension] += b[dimension]
    return create("concatenate", [lhs, rhs], result_type_like(lhs, shape=out), {"dimension": i64_attr(dimension)})


def _jvp_concatenate(op, primals, tangents):
    ta, tb = tangents
    if ta is None and tb is None:
        return None
    a, b = primals
    return concatenate(tangent_or_zeros(ta, a), tangent_or_zeros(tb, b), int_attr(op, "dimension"))


def _t_concatenate(op, ct, operands, linear):
    dim = int_attr(op, "dimension")
    a = shape_of(op.operands[0])
    full = list(shape_of(ct))
    ct_a = slice(ct, [0] * len(full), [a[dim] if i == dim else n for i, n in enumerate(full)])
    ct_b = slice(ct, [a[dim] if i == dim else 0 for i in range(len(full))], full)
    return [ct_a if linear[0] else None, ct_b if linear[1] else None]


def _batch_concatenate(op, operands, bdims):
    size = batch_size(operands, bdims)
    lhs, rhs = (bdim_to_front(v, d, size) for v, d in zip(operands, bdims))
    return concatenate(lhs, rhs, int_attr(op, "dimension") + 1), 0


def _lower_concatenate(op, a, b):
    dim, na = int_attr(op, "dimension"), builders.shape(a)[int_attr(op, "dimension")]
    if na == 0 or builders.shape(b)[dim] == 0:  # the gather below would read the empty operand
        return b if na == 0 else a

    def body(idx):
        k = idx[dim]
        in_a = arith.cmpi(arith.CmpIPredicate.ult, k, _index(na))
        ka = arith.minui(k, _index(na - 1))
        kb = arith.subi(arith.maxui(k, _index(na)), _index(na))
        va = tensor.ExtractOp(a, idx[:dim] + [ka] + idx[dim + 1:]).result
        vb = tensor.ExtractOp(b, idx[:dim] + [kb] + idx[dim + 1:]).result
        return arith.select(in_a, va, vb)
    return _gather(builders.shape(op.result), builders.element_type(a), body)


BUILDERS["tfn.concatenate"] = concatenate
SHAPE_RULES["tfn.concatenate"] = lambda op, a, b: concatenate(a, b, int_attr(op, "dimension"))
defjvp("tfn.concatenate", _jvp_concatenate, emits=["tfn.concatenate"])
TRANSPOSE_RULES["tfn.concatenate"] = _t_concatenate
BATCH_RULES["tfn.concatenate"] = _batch_concatenate
LOWERINGS["tfn.concatenate"] = _lower_concatenate


# ---------------------------------------------------------------- pad

def pad(x: ir.Value, padding_value: ir.Value, low: Sequence[int], high: Sequence[int],
        interior: Sequence[int] | None = None) -> ir.Value:
    """x with `low`/`high` elements of the 0-d `padding_value` around each dim and `interior`
    ones between its elements."""
    src = shape_of(x)
    interior = [0] * len(src) if interior is None else [int(i) for i in interior]
    low, high = [int(v) for v in low], [int(v) for v in high]
    if not (len(low) == len(high) == len(interior) == len(src)) or min(low + high + interior, default=0) < 0 \
            or shape_of(padding_value) != () or dtype_of(padding_value) != dtype_of(x):
        fail("pad", f"bad padding low={low} high={high} interior={interior}", x, padding_value)
    out = [lo + hi + n + max(n - 1, 0) * i for lo, hi, n, i in zip(low, high, src, interior)]
    return create("pad", [x, padding_value], result_type_like(x, shape=out),
                  {"edge_padding_low": i64_array(low), "edge_padding_high": i64_array(high),
                   "interior_padding": i64_array(interior)})


def _pad_like(op, x, value):
    return pad(x, value, int_array(op, "edge_padding_low"), int_array(op, "edge_padding_high"),
               int_array(op, "interior_padding"))


def _jvp_pad(op, primals, tangents):
    tx, tv = tangents
    if tx is None and tv is None:
        return None
    x, v = primals
    return _pad_like(op, tangent_or_zeros(tx, x), tangent_or_zeros(tv, v))


def _t_pad(op, ct, operands, linear):
    low, interior = int_array(op, "edge_padding_low"), int_array(op, "interior_padding")
    src = shape_of(op.operands[0])
    limit = [lo + n + max(n - 1, 0) * i for lo, n, i in zip(low, src, interior)]
    ct_x = slice(ct, low, limit, [i + 1 for i in interior])
    ct_v = None
    if linear[1]:
        # The padding value fills every position the operand does not.
        all_dims = list(range(len(src)))
        ct_v = ops.sub(ops.reduce("sum", ct, all_dims), ops.reduce("sum", ct_x, all_dims))
    return [ct_x if linear[0] else None, ct_v]


def _batch_pad(op, operands, bdims):
    (x, value), (xd, vd) = operands, bdims
    low, high, interior = (int_array(op, k) for k in ("edge_padding_low", "edge_padding_high",
                                                      "interior_padding"))
    size = batch_size(operands, bdims)
    if vd is None:
        return pad(x, value, _ins(low, xd), _ins(high, xd), _ins(interior, xd)), xd
    # A batched padding value: pad with zeros, then select the value where the mask says "padding".
    x = bdim_to_front(x, xd, size)
    inner = shape_of(x)[1:]
    zero = ops.constant(np.zeros((), dtype_of(x)))
    padded = pad(x, zero, [0] + low, [0] + high, [0] + interior)
    mask = pad(ops.full(inner, True, np.bool_), ops.constant(np.array(False)), low, high, interior)
    out_shape = shape_of(padded)
    mask = broadcast_in_dim(mask, out_shape, range(1, len(out_shape)))
    fill_value = broadcast_in_dim(value, out_shape, [0])
    return ops.select(mask, padded, fill_value), 0


def _lower_pad(op, x, padding_value):
    low, interior = int_array(op, "edge_padding_low"), int_array(op, "interior_padding")
    src = builders.shape(x)

    def body(idx):
        value = tensor.ExtractOp(padding_value, []).result
        inside, at = None, []
        for i, lo, step, n in zip(idx, low, interior, src):
            # i - lo = k * (step + 1) with 0 <= k < n, else padding
            rel = arith.subi(i, _index(lo)) if lo else i
            ok = arith.andi(arith.cmpi(arith.CmpIPredicate.sge, rel, _index(0)),
                            arith.cmpi(arith.CmpIPredicate.slt, rel, _index((n - 1) * (step + 1) + 1)))
            if step:
                ok = arith.andi(ok, arith.cmpi(arith.CmpIPredicate.eq, arith.remsi(rel, _index(step + 1)), _index(0)))
                rel = arith.divsi(rel, _index(step + 1))
            at.append(arith.minsi(arith.maxsi(rel, _index(0)), _index(max(n - 1, 0))))
            inside = ok if inside is None else arith.andi(inside, ok)
        if 0 in src:
            return value
        read = tensor.ExtractOp(x, at).result
        return read if inside is None else arith.select(inside, read, value)
    return _gather(builders.shape(op.result), builders.element_type(x), body)


BUILDERS["tfn.pad"] = pad
SHAPE_RULES["tfn.pad"] = _pad_like
defjvp("tfn.pad", _jvp_pad, emits=["tfn.pad"])
TRANSPOSE_RULES["tfn.pad"] = _t_pad
BATCH_RULES["tfn.pad"] = _batch_pad
LOWERINGS["tfn.pad"] = _lower_pad

SHAPE_OPS = ("broadcast_in_dim", "reshape", "transpose", "slice", "concatenate", "pad")

__all__ = [*SHAPE_OPS, "SHAPE_OPS", "transpose_broadcast"]
