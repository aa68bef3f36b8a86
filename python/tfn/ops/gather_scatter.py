"""gather and scatter: reading and updating rows of an array at integer positions.

The canonical form indexes the *leading* dims of the operand:

    gather(operand: N0 x .. x Nk-1 x R..., indices: B... x k) -> B... x R...
        result[b, r] = operand[indices[b, 0], .., indices[b, k-1], r]
    scatter(operand: N0 x .. x Nk-1 x R..., indices: B... x k, updates: B... x R..., mode)
        result = operand; for b in row-major order: result[indices[b], r] = mode(result[indices[b], r], updates[b, r])

with mode one of add, set, mul, min, max (set: the last update of a position wins). An
index i in [-n, n) counts from the end when negative (numpy); outside that range
gather reads 0 (False) and scatter drops the update (JAX's `mode='fill'`/`'drop'`): the
same rule on both sides keeps gather^T = scatter-add exact. numpy's indexing, `take`,
`take_along_axis`, embeddings and `x.at[...]` reshape or transpose to this form
(`tfn.numpy._indexing`).

Rules. gather is linear in the operand (JVP: gather of the tangent; transpose:
scatter-add into zeros). scatter-add is linear in operand and updates (transpose: the
cotangent itself, and its gather); scatter-set too (transpose: the cotangent with the
written positions zeroed, and the gather of the cotangent at the updates that won);
scatter-mul's tangent is scatter-mul of the operand's tangent plus a scatter-add of the
updates' (each scaled by the product of the other factors); min/max pass the tangent of
the arguments attaining the extremum (averaged over ties). Batching never loops: a
batched operand alone moves its batch dim behind the index dims (a row dim), batched
indices gain an iota column that selects the batch element of a leading batch dim.

Lowering: gather is one parallel linalg.generic over the result whose body reads the
indices and then the operand with tensor.extract (O(result) work, CPU and CUDA);
scatter is an scf.for nest over the updates carrying the destination tensor (one
extract and one insert per element, bufferized in place): O(updates) work on top of
the copy of the operand. On CUDA (`TARGET`), where that loop would run on the host,
scatter is a generic over the result reducing over the updates (O(result x updates)
work, deterministic, no atomics).
"""
from __future__ import annotations

import numpy as np
from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import TRANSPOSE_RULES, add_any, defjvp, tangent_or_zeros, zeros_like
from tfn.batching.rules import BATCH_RULES, batch_size, bdim_at, moveaxis
from tfn.dialect.core import BUILDERS, create, fail, result_type_like, str_attr
from tfn.dialect.types import dtype_of, shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import (LOWERINGS, TARGET, LazyModule, arith, builders, identity_element, linalg,
                                scalar_body, tensor)

scf = LazyModule("mlir.dialects.scf")

SCATTER_MODES = ("add", "set", "mul", "min", "max")


def _check_indices(name: str, operand: ir.Value, indices: ir.Value) -> tuple[int, tuple[int, ...]]:
    """(k, batch shape B) of `indices` (B... x k, integers) into `operand`."""
    idx = shape_of(indices)
    if dtype_of(indices).kind not in "iu" or not idx or not 0 <= idx[-1] <= len(shape_of(operand)):
        fail(name, "indices must be integers of shape B... x k with k <= the operand's rank", operand, indices)
    return idx[-1], tuple(idx[:-1])


# ---------------------------------------------------------------- gather

def gather(operand: ir.Value, indices: ir.Value) -> ir.Value:
    """result[b..., r...] = operand[indices[b..., :], r...] (k = indices.shape[-1] leading dims indexed)."""
    k, batch = _check_indices("gather", operand, indices)
    return create("gather", [operand, indices], result_type_like(operand, shape=batch + shape_of(operand)[k:]))


def _jvp_gather(op, primals, tangents):
    t = tangents[0]
    return None if t is None else gather(t, primals[1])


def _t_gather(op, ct, operands, linear):
    assert not linear[1], "gather is not linear in its indices"
    zeros = ops.full(shape_of(op.operands[0]), 0, dtype_of(ct))
    return [scatter(zeros, operands[1], ct, "add"), None]


def _iota_column(indices: ir.Value) -> ir.Value:
    """indices (S x B... x k) with a first column iota over S: (S x B... x k+1)."""
    shape = shape_of(indices)
    column = ops.iota(shape[:-1] + (1,), 0, dtype_of(indices))
    return ops.concatenate(column, indices, len(shape) - 1)


def _batch_gather(op, operands, bdims):
    (operand, indices), (od, idd) = operands, bdims
    k = shape_of(op.operands[1])[-1]
    if od is None:            # shared table, batched indices: the batch is one more B dim
        return gather(operand, moveaxis(indices, idd, 0)), 0
    if idd is None:           # batched table, shared indices: the batch is one more row dim
        return gather(moveaxis(operand, od, k), indices), len(shape_of(indices)) - 1
    size = batch_size(operands, bdims)
    return gather(bdim_at(operand, od, 0, size), _iota_column(bdim_at(indices, idd, 0, size))), 0


def _index(value: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), value).result


def _position(indices: ir.Value, b: list, sizes) -> tuple[list, ir.Value]:
    """The clamped position that indices[b, :] names in dims of `sizes`, and whether it is in bounds
    (negative indices counting from the end first)."""
    at, inside = [], None
    index = ir.IndexType.get()
    for j, n in enumerate(sizes):
        i = arith.index_cast(index, tensor.ExtractOp(indices, b + [_index(j)]).result)
        i = arith.select(arith.cmpi(arith.CmpIPredicate.slt, i, _index(0)), arith.addi(i, _index(n)), i)
        ok = arith.cmpi(arith.CmpIPredicate.ult, i, _index(n))     # 0 <= i < n
        at.append(arith.minui(i, _index(n - 1)))
        inside = ok if inside is None else arith.andi(inside, ok)
    return at, inside


def _lower_gather(op, operand, indices):
    src, k = builders.shape(operand), builders.shape(indices)[-1]
    nb = len(builders.shape(indices)) - 1
    out_dims, elem = builders.shape(op.result), builders.element_type(operand)
    zero = lambda: builders.scalar_constant(elem, 0)   # noqa: E731
    if 0 in src[:k]:          # every index is out of bounds
        return builders.fill(out_dims, zero())
    n = len(out_dims)

    def body(acc):
        iv = [linalg.IndexOp(d).result for d in range(n)]
        at, inside = _position(indices, iv[:nb], src[:k])
        value = tensor.ExtractOp(operand, at + iv[nb:]).result
        return value if inside is None else arith.select(inside, value, zero())
    return builders.generic([], builders.empty(out_dims, elem), [ir.AffineMap.get_identity(n)],
                            [builders.PARALLEL] * n, body)


BUILDERS["tfn.gather"] = gather
SHAPE_RULES["tfn.gather"] = lambda op, operand, indices: gather(operand, indices)
defjvp("tfn.gather", _jvp_gather, emits=["tfn.gather"])
TRANSPOSE_RULES["tfn.gather"] = _t_gather
BATCH_RULES["tfn.gather"] = _batch_gather
LOWERINGS["tfn.gather"] = _lower_gather


# ---------------------------------------------------------------- scatter

def scatter(operand: ir.Value, indices: ir.Value, updates: ir.Value, mode: str) -> ir.Value:
    """operand with updates[b...] combined (`mode`) into the rows operand[indices[b..., :]]."""
    if mode not in SCATTER_MODES:
        fail("scatter", f"unknown mode {mode!r} (one of {', '.join(SCATTER_MODES)})")
    k, batch = _check_indices("scatter", operand, indices)
    if shape_of(updates) != batch + shape_of(operand)[k:] or dtype_of(updates) != dtype_of(operand):
        fail("scatter", f"updates must have shape B... x R... = {list(batch + shape_of(operand)[k:])} "
                        "and the operand's dtype", operand, indices, updates)
    return create("scatter", [operand, indices, updates], operand.type, {"mode": ir.StringAttr.get(mode)})


def _mode(op) -> str:
    return str_attr(op, "mode")


def _winners(operand_shape, indices: ir.Value, updates_shape) -> ir.Value:
    """bool (B... x R...): which updates a scatter-set keeps (the last one of each position)."""
    batch = shape_of(indices)[:-1]
    if 0 in batch:
        return ops.full(updates_shape, False, np.bool_)
    count = int(np.prod(batch, dtype=np.int64))
    ids = ops.reshape(ops.iota((count,), 0, np.int64), batch) if batch else ops.full((), 0, np.int64)
    ids = ops.broadcast_in_dim(ids, updates_shape, range(len(batch)))
    written = scatter(ops.full(operand_shape, -1, np.int64), indices, ids, "set")
    return ops.compare("eq", gather(written, indices), ids)


def _jvp_scatter(op, primals, tangents):
    (x, indices, u), (tx, _, tu) = primals, tangents
    mode = _mode(op)
    if tx is None and tu is None:
        return None
    if mode in ("add", "set"):
        return scatter(tangent_or_zeros(tx, x), indices, tangent_or_zeros(tu, u), mode)
    if mode == "mul":
        return add_any(None if tx is None else scatter(tx, indices, u, "mul"),
                       None if tu is None else _jvp_mul_updates(x, indices, u, tu))
    # min/max: the tangents of the arguments that attain the result, averaged over ties.
    y = op.result
    x_wins = ops.compare("eq", x, y)
    u_wins = ops.compare("eq", u, gather(y, indices))
    one = lambda v: ops.convert(v, dtype_of(x))   # noqa: E731
    count = scatter(one(x_wins), indices, one(u_wins), "add")
    picked = add_any(None if tx is None else ops.select(x_wins, tx, zeros_like(x)),
                     None if tu is None else scatter(zeros_like(x), indices, ops.select(u_wins, tu, zeros_like(u)),
                                                     "add"))
    return ops.div(picked, count)


def _jvp_mul_updates(x, indices, u, tu):
    """d/du of operand * prod(updates per position), applied to tu: x[p] times the product of the
    *other* factors of p, computed without dividing by a zero factor."""
    is_zero = ops.compare("eq", u, zeros_like(u))
    ones_u, ones_x = ops.full(shape_of(u), 1, dtype_of(u)), ops.full(shape_of(x), 1, dtype_of(x))
    nonzero_product = scatter(ones_x, indices, ops.select(is_zero, ones_u, u), "mul")
    zeros = scatter(zeros_like(x), indices, ops.convert(is_zero, dtype_of(x)), "add")
    p_nz, n_zero = gather(nonzero_product, indices), gather(zeros, indices)
    no_zero = ops.compare("eq", n_zero, zeros_like(u))
    one_zero = ops.compare("eq", n_zero, ones_u)
    safe_u = ops.select(is_zero, ones_u, u)
    others = ops.select(is_zero, ops.select(one_zero, p_nz, zeros_like(u)),
                        ops.select(no_zero, ops.div(p_nz, safe_u), zeros_like(u)))
    scale = ops.mul(others, gather(x, indices))
    return scatter(zeros_like(x), indices, ops.mul(tu, scale), "add")


def _t_scatter(op, ct, operands, linear):
    mode = _mode(op)
    indices = operands[1]
    if mode == "mul" and not linear[2]:
        return [scatter(ct, indices, operands[2], "mul") if linear[0] else None, None, None]
    if mode not in ("add", "set") or linear[1]:
        raise NotImplementedError(f"transpose rule for 'tfn.scatter' (mode {mode}) with these linear operands")
    x_shape, u_shape = shape_of(op.operands[0]), shape_of(op.operands[2])
    if mode == "add":
        return [ct if linear[0] else None, None, gather(ct, indices) if linear[2] else None]
    ct_x = scatter(ct, indices, ops.full(u_shape, 0, dtype_of(ct)), "set") if linear[0] else None
    ct_u = None
    if linear[2]:
        ct_u = ops.select(_winners(x_shape, indices, u_shape), gather(ct, indices), ops.full(u_shape, 0, dtype_of(ct)))
    return [ct_x, None, ct_u]


def _batch_scatter(op, operands, bdims):
    (x, indices, u), (xd, idd, ud) = operands, bdims
    size, mode = batch_size(operands, bdims), _mode(op)
    k = shape_of(op.operands[1])[-1]
    nb = len(shape_of(op.operands[1])) - 1
    if idd is None:           # shared indices: the batch is one more row dim
        return scatter(bdim_at(x, xd, k, size), indices, bdim_at(u, ud, nb, size), mode), k
    return scatter(bdim_at(x, xd, 0, size), _iota_column(moveaxis(indices, idd, 0)), bdim_at(u, ud, 0, size),
                   mode), 0


def _loop_nest(extents, carried: ir.Value, body) -> ir.Value:
    """scf.for loops over `extents` carrying one tensor; body(ivs, tensor) -> the new tensor."""
    def level(d, ivs, value):
        if d == len(extents):
            return body(ivs, value)
        loop = scf.ForOp(_index(0), _index(extents[d]), _index(1), [value])
        with ir.InsertionPoint(loop.body):
            scf.YieldOp([level(d + 1, ivs + [loop.induction_variable], loop.inner_iter_args[0])])
        return loop.results[0]
    return level(0, [], carried)



def _lower_scatter_parallel(op, operand, indices, updates, combine):
    """For GPUs: every element of the result reduces over the updates, in order, those that name
    it (no atomics, deterministic, set's last update wins), starting from the operand.
    O(result x updates) work, no memory beyond the result."""
    src, idx = builders.shape(operand), builders.shape(indices)
    k, batch = idx[-1], idx[:-1]
    n_out, nb = len(src), len(batch)
    elem, mode = builders.element_type(operand), _mode(op)
    loops = n_out + nb
    u_map = builders.affine_map(loops, [n_out + j for j in range(nb)] + list(range(k, n_out)))

    def body(u, acc):
        iv = [linalg.IndexOp(d).result for d in range(loops)]
        at, inside = _position(indices, iv[n_out:], src[:k])
        match = inside
        for p, q in zip(at, iv[:k]):
            same = arith.cmpi(arith.CmpIPredicate.eq, p, q)
            match = same if match is None else arith.andi(match, same)
        if match is None:
            return acc if mode != "set" else u
        if mode == "set":
            return arith.select(match, u, acc)
        return combine(acc, arith.select(match, u, builders.scalar_constant(elem, identity_element(mode, elem))))
    return builders.generic([updates], operand, [u_map, builders.affine_map(loops, list(range(n_out)))],
                            [builders.PARALLEL] * n_out + [builders.REDUCTION] * nb, body)


def _lower_scatter(op, operand, indices, updates):
    src, idx = builders.shape(operand), builders.shape(indices)
    k, batch = idx[-1], idx[:-1]
    rows = src[k:]
    if 0 in batch or 0 in src[:k]:   # nothing to write, or every index out of bounds
        return operand
    elem = builders.element_type(operand)
    mode = _mode(op)
    combine = (lambda old, new: new) if mode == "set" else scalar_body(mode, elem)
    if TARGET.get() == "cuda":
        return _lower_scatter_parallel(op, operand, indices, updates, combine)

    def update(b_ivs, dest):
        at, inside = _position(indices, b_ivs, src[:k])

        def element(r_ivs, dest):
            old = tensor.ExtractOp(dest, at + r_ivs).result
            new = combine(old, tensor.ExtractOp(updates, b_ivs + r_ivs).result)
            if inside is not None:      # out of bounds: the clamped position keeps its value
                new = arith.select(inside, new, old)
            return tensor.InsertOp(new, dest, at + r_ivs).result
        return _loop_nest(rows, dest, element)
    return _loop_nest(batch, operand, update)


BUILDERS["tfn.scatter"] = scatter
SHAPE_RULES["tfn.scatter"] = lambda op, x, indices, u: scatter(x, indices, u, _mode(op))
defjvp("tfn.scatter", _jvp_scatter, emits=["tfn.scatter", "tfn.add", "tfn.select", "tfn.div", "tfn.mul"])
TRANSPOSE_RULES["tfn.scatter"] = _t_scatter
BATCH_RULES["tfn.scatter"] = _batch_scatter
LOWERINGS["tfn.scatter"] = _lower_scatter

GATHER_SCATTER_OPS = ("gather", "scatter")

__all__ = [*GATHER_SCATTER_OPS, "GATHER_SCATTER_OPS", "SCATTER_MODES"]
