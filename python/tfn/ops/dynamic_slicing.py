"""dynamic_slice and dynamic_update_slice: a window of static size at positions known at run time.

    dynamic_slice(operand: N..., start_indices: r x iK, slice_sizes: S...) -> S...
        result[w] = operand[s + w],  s = clamp(start_indices, 0, N - S)
    dynamic_update_slice(operand: N..., update: S..., start_indices: r x iK) -> N...
        result = operand with result[s + w] = update[w],  s as above

The start indices are one 1-d integer tensor (rank entries) rather than one scalar per dim:
IRDL variadic operands are homogeneous (DESIGN.md). They are clamped so that the window
fits, as in XLA and JAX, so the window is never out of bounds and never wraps.

Rules. dynamic_slice is linear in the operand (JVP: the slice of the tangent; transpose:
the cotangent written into zeros). dynamic_update_slice is linear in operand and update
jointly (JVP: the update of the operand's tangent by the update's; transpose: the
cotangent with the window zeroed for the operand, the window of the cotangent for the
update). Indices are integers, so they carry no tangent. Batching never loops: shared
indices gain a 0 for the batch dim (the window spans the whole batch); batched indices
become a gather (a scatter-set for the update) whose index tuples are the clamped starts
plus an iota over the window, with an iota column for a batched operand.

Lowering (CPU): tensor.extract_slice / tensor.insert_slice at dynamic offsets, each offset
read by tensor.extract, index_cast and clamped with arith on index values. The extract
bufferizes to a subview, the insert to a copy into a subview of the (in place when dead)
operand: O(window) work. On CUDA (`TARGET`) the host may not read the starts from device
memory, so each op is one parallel generic whose body reads them: dynamic_slice over the
window, dynamic_update_slice over the whole result (update inside the window, operand
outside: O(operand) work).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import TRANSPOSE_RULES, defjvp, tangent_or_zeros
from tfn.batching.rules import BATCH_RULES, batch_size, bdim_at, moveaxis
from tfn.dialect.core import BUILDERS, create, fail, i64_array, int_array, result_type_like
from tfn.dialect.types import dtype_of, shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import LOWERINGS, TARGET, arith, builders, linalg, tensor


def _check_start_indices(name: str, operand: ir.Value, start_indices: ir.Value, *more: ir.Value) -> None:
    rank = len(shape_of(operand))
    if dtype_of(start_indices).kind not in "iu" or shape_of(start_indices) != (rank,):
        fail(name, f"start_indices must be a 1-d integer tensor of {rank} entries (the operand's rank)",
             operand, start_indices, *more)


# ---------------------------------------------------------------- dynamic_slice

def dynamic_slice(operand: ir.Value, start_indices: ir.Value, slice_sizes: Sequence[int]) -> ir.Value:
    """The window of shape `slice_sizes` at `start_indices` (clamped so that it fits).

    In numpy terms, with s = clip(start_indices, 0, operand.shape - slice_sizes):
    ``operand[s[0]:s[0] + slice_sizes[0], ...]``.
    """
    _check_start_indices("dynamic_slice", operand, start_indices)
    sizes, src = tuple(int(s) for s in slice_sizes), shape_of(operand)
    if len(sizes) != len(src) or any(not 0 <= s <= n for s, n in zip(sizes, src)):
        fail("dynamic_slice", f"slice_sizes {list(sizes)} do not fit the operand", operand, start_indices)
    return create("dynamic_slice", [operand, start_indices], result_type_like(operand, shape=sizes),
                  {"slice_sizes": i64_array(sizes)})


def _jvp_dynamic_slice(op, primals, tangents):
    t = tangents[0]
    return None if t is None else dynamic_slice(t, primals[1], shape_of(op.result))


def _t_dynamic_slice(op, ct, operands, linear):
    assert not linear[1], "dynamic_slice is not linear in its start indices"
    zeros = ops.full(shape_of(op.operands[0]), 0, dtype_of(ct))
    return [dynamic_update_slice(zeros, ct, operands[1]), None]


def _clamped_starts(start_indices: ir.Value, operand_shape, window_shape) -> ir.Value:
    """start_indices (B... x r) clamped to [0, operand_shape - window_shape] per column."""
    shape, dtype = shape_of(start_indices), dtype_of(start_indices)
    bound = lambda values: ops.broadcast_in_dim(   # noqa: E731 - a row broadcast to every start
        ops.constant(np.asarray(values, dtype)), shape, [len(shape) - 1])
    high = [n - s for n, s in zip(operand_shape, window_shape)]
    return ops.min(ops.max(start_indices, bound([0] * len(high))), bound(high))


def _window_indices(starts: ir.Value, operand_shape, window_shape) -> ir.Value:
    """Gather indices (B x W... x r) of every position of the windows at (clamped) `starts` (B x r)."""
    batch, r, dtype = shape_of(starts)[0], len(window_shape), dtype_of(starts)
    full = (batch, *window_shape, r)
    at = ops.broadcast_in_dim(_clamped_starts(starts, operand_shape, window_shape), full, [0, r + 1])
    if r == 0:
        return at
    offsets = ops.iota((batch, *window_shape, 1), 1, dtype)
    for d in range(1, r):
        offsets = ops.concatenate(offsets, ops.iota((batch, *window_shape, 1), d + 1, dtype), r + 1)
    return ops.add(at, offsets)


def _with_batch_column(indices: ir.Value) -> ir.Value:
    """indices (B x W... x k) with a first column iota over B: (B x W... x k+1)."""
    shape = shape_of(indices)
    column = ops.iota(shape[:-1] + (1,), 0, dtype_of(indices))
    return ops.concatenate(column, indices, len(shape) - 1)


def _zero_first(start_indices: ir.Value) -> ir.Value:
    """start_indices (r) with a 0 in front: the start of an unsliced leading batch dim."""
    return ops.concatenate(ops.full((1,), 0, dtype_of(start_indices)), start_indices, 0)


def _batch_dynamic_slice(op, operands, bdims):
    (x, starts), (xd, sd) = operands, bdims
    sizes = int_array(op, "slice_sizes")
    if sd is None:            # shared starts: the window spans the whole batch dim
        x = moveaxis(x, xd, 0)
        return dynamic_slice(x, _zero_first(starts), [shape_of(x)[0]] + sizes), 0
    size = batch_size(operands, bdims)
    src = shape_of(op.operands[0])
    indices = _window_indices(moveaxis(starts, sd, 0), src, sizes)
    if xd is None:            # one operand, one window per batch element: a gather
        return ops.gather(x, indices), 0
    return ops.gather(bdim_at(x, xd, 0, size), _with_batch_column(indices)), 0


def _offsets(start_indices: ir.Value, operand_shape, window_shape) -> list[ir.Value]:
    """The clamped start of each dim as an index value (read, cast, clamped to [0, n - s])."""
    index = ir.IndexType.get()
    const = lambda v: arith.ConstantOp(index, v).result   # noqa: E731
    offsets = []
    for j, (n, s) in enumerate(zip(operand_shape, window_shape)):
        if n == s:            # only 0 fits
            offsets.append(const(0))
            continue
        i = arith.index_cast(index, tensor.ExtractOp(start_indices, [const(j)]).result)
        offsets.append(arith.minsi(arith.maxsi(i, const(0)), const(n - s)))
    return offsets


def _parallel(out_dims, elem, body) -> ir.Value:
    """A parallel linalg.generic over `out_dims`; body(indices) reads by tensor.extract.

    The CUDA lowering: the starts are read inside the kernel, since the host cannot read
    device memory (an extract_slice at offsets read on the host would)."""
    n = len(out_dims)
    return builders.generic([], builders.empty(out_dims, elem), [ir.AffineMap.get_identity(n)],
                            [builders.PARALLEL] * n,
                            lambda acc: body([linalg.IndexOp(d).result for d in range(n)]))


def _lower_dynamic_slice_parallel(operand, start_indices, sizes):
    src = builders.shape(operand)

    def body(idx):
        at = [arith.addi(o, i) for o, i in zip(_offsets(start_indices, src, sizes), idx)]
        return tensor.ExtractOp(operand, at).result
    return _parallel(sizes, builders.element_type(operand), body)


def _lower_dynamic_update_slice_parallel(operand, update, start_indices):
    """Each element of the result reads the update inside the window, else the operand."""
    src, window = builders.shape(operand), builders.shape(update)
    index = ir.IndexType.get()

    def body(idx):
        inside, at = None, []
        for o, i, s in zip(_offsets(start_indices, src, window), idx, window):
            rel = arith.subi(i, o)
            ok = arith.cmpi(arith.CmpIPredicate.ult, rel, arith.ConstantOp(index, s).result)   # 0 <= rel < s
            at.append(arith.minui(rel, arith.ConstantOp(index, max(s - 1, 0)).result))
            inside = ok if inside is None else arith.andi(inside, ok)
        old = tensor.ExtractOp(operand, idx).result
        if 0 in window or inside is None:     # nothing to write, or a 0-d update: all of it
            return old if 0 in window else tensor.ExtractOp(update, []).result
        return arith.select(inside, tensor.ExtractOp(update, at).result, old)
    return _parallel(src, builders.element_type(operand), body)


def _dynamic(n: int) -> list[int]:
    return [ir.ShapedType.get_dynamic_stride_or_offset()] * n


def _lower_dynamic_slice(op, operand, start_indices):
    src, sizes = builders.shape(operand), int_array(op, "slice_sizes")
    if TARGET.get() == "cuda":
        return _lower_dynamic_slice_parallel(operand, start_indices, sizes)
    return tensor.ExtractSliceOp(op.result.type, operand, _offsets(start_indices, src, sizes), [], [],
                                 _dynamic(len(src)), sizes, [1] * len(src)).result


BUILDERS["tfn.dynamic_slice"] = dynamic_slice
SHAPE_RULES["tfn.dynamic_slice"] = lambda op, x, starts: dynamic_slice(x, starts, int_array(op, "slice_sizes"))
defjvp("tfn.dynamic_slice", _jvp_dynamic_slice, emits=["tfn.dynamic_slice"])
TRANSPOSE_RULES["tfn.dynamic_slice"] = _t_dynamic_slice
BATCH_RULES["tfn.dynamic_slice"] = _batch_dynamic_slice
LOWERINGS["tfn.dynamic_slice"] = _lower_dynamic_slice


# ---------------------------------------------------------------- dynamic_update_slice

def dynamic_update_slice(operand: ir.Value, update: ir.Value, start_indices: ir.Value) -> ir.Value:
    """`operand` with the window at `start_indices` (clamped so that `update` fits) replaced by `update`.

    In numpy terms, with s = clip(start_indices, 0, operand.shape - update.shape):
    ``out = operand.copy(); out[s[0]:s[0] + update.shape[0], ...] = update``.
    """
    _check_start_indices("dynamic_update_slice", operand, start_indices, update)
    src, window = shape_of(operand), shape_of(update)
    if len(window) != len(src) or any(s > n for s, n in zip(window, src)) or dtype_of(update) != dtype_of(operand):
        fail("dynamic_update_slice", "the update must have the operand's rank and dtype and fit in it",
             operand, update, start_indices)
    return create("dynamic_update_slice", [operand, update, start_indices], operand.type)


def _jvp_dynamic_update_slice(op, primals, tangents):
    (x, u, starts), (tx, tu, _) = primals, tangents
    if tx is None and tu is None:
        return None
    return dynamic_update_slice(tangent_or_zeros(tx, x), tangent_or_zeros(tu, u), starts)


def _t_dynamic_update_slice(op, ct, operands, linear):
    assert not linear[2], "dynamic_update_slice is not linear in its start indices"
    starts, window = operands[2], shape_of(op.operands[1])
    ct_x = dynamic_update_slice(ct, ops.full(window, 0, dtype_of(ct)), starts) if linear[0] else None
    ct_u = dynamic_slice(ct, starts, window) if linear[1] else None
    return [ct_x, ct_u, None]


def _batch_dynamic_update_slice(op, operands, bdims):
    (x, u, starts), (xd, ud, sd) = operands, bdims
    size = batch_size(operands, bdims)
    x, u = bdim_at(x, xd, 0, size), bdim_at(u, ud, 0, size)
    if sd is None:            # shared starts: the window spans the whole batch dim
        return dynamic_update_slice(x, u, _zero_first(starts)), 0
    # One window per batch element: a scatter-set of the update at every position of its window
    # (clamped starts, so all in bounds and distinct).
    indices = _window_indices(moveaxis(starts, sd, 0), shape_of(op.operands[0]), shape_of(op.operands[1]))
    return ops.scatter(x, _with_batch_column(indices), u, "set"), 0


def _lower_dynamic_update_slice(op, operand, update, start_indices):
    src, window = builders.shape(operand), builders.shape(update)
    if TARGET.get() == "cuda":
        return _lower_dynamic_update_slice_parallel(operand, update, start_indices)
    return tensor.InsertSliceOp(update, operand, _offsets(start_indices, src, window), [], [],
                                _dynamic(len(src)), window, [1] * len(src)).result


BUILDERS["tfn.dynamic_update_slice"] = dynamic_update_slice
SHAPE_RULES["tfn.dynamic_update_slice"] = lambda op, x, u, starts: dynamic_update_slice(x, u, starts)
defjvp("tfn.dynamic_update_slice", _jvp_dynamic_update_slice, emits=["tfn.dynamic_update_slice"])
TRANSPOSE_RULES["tfn.dynamic_update_slice"] = _t_dynamic_update_slice
BATCH_RULES["tfn.dynamic_update_slice"] = _batch_dynamic_update_slice
LOWERINGS["tfn.dynamic_update_slice"] = _lower_dynamic_update_slice

DYNAMIC_SLICING_OPS = ("dynamic_slice", "dynamic_update_slice")

__all__ = [*DYNAMIC_SLICING_OPS, "DYNAMIC_SLICING_OPS"]
