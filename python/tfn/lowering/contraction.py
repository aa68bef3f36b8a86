"""`tfn.dot_general` on floats as a (batched) matrix product, ready for BLAS.

A contraction whose operands can be seen as row-major stacks of matrices becomes

    A3 = reshape(A, [B, M, K])  (or [B, K, M]: transposed)
    B3 = reshape(B, [B, K, N])  (or [B, N, K]: transposed)
    C3 = linalg.batch_matmul / linalg.matmul ins(A3, B3) outs(zeros)
    C  = reshape(C3, batch... x lhs-free... x rhs-free...)

with the transposes carried by the op's `indexing_maps`. Operands whose dimensions
are not grouped that way are first copied into that order (a transpose). Named
matmul ops, unlike `linalg.generic`, are never fused into by
`linalg-fuse-elementwise-ops`, so after bufferization `tfn-linalg-to-blas` finds
them intact and rewrites them to BLAS calls; whatever it leaves lowers to loops.

```mlir
// dot_general(a: 64x784, b: 784x512), contracting (1)x(0)
%0 = linalg.fill ... -> tensor<64x512xf32>
%1 = linalg.matmul indexing_maps = [(m,n,k)->(m,k), (m,n,k)->(k,n), (m,n,k)->(m,n)]
       ins(%a, %b : tensor<64x784xf32>, tensor<784x512xf32>) outs(%0 : tensor<64x512xf32>)
```
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from mlir import ir
from mlir.dialects import linalg as linalg_ops
from mlir.dialects.linalg import fill_builtin_region

from tfn.lowering.builders import (PARALLEL, affine_map, element_type, empty, fill, generic, product, reshape,
                                   scalar_constant, shape)

if TYPE_CHECKING:
    from tfn.ops.dot_general import DotDims

# Below this many multiply-adds the generic loop nest is as fast as a library call.
BLAS_MIN_FLOPS = 4096



def matmul_op(op_type, a: ir.Value, b: ir.Value, init: ir.Value, maps) -> ir.Value:
    """`linalg.matmul`/`batch_matmul` (`op_type`) of `a` and `b` into `init`, with `maps`.

    Built from the generated op class: `mlir.dialects.linalg` builds every opdsl named op
    in Python when imported (~60 ms of a process's first compile; see builders.py).
    """
    results = [init.type] if isinstance(init.type, ir.RankedTensorType) else []
    op = op_type(result_tensors=results, inputs=[a, b], outputs=[init], indexing_maps=maps)
    fill_builtin_region(op.operation)
    return op.results[0]

def transpose(x: ir.Value, perm: Sequence[int]) -> ir.Value:
    """Copies x into the dimension order `perm` (result dim i is source dim perm[i])."""
    src = shape(x)
    inverse = [list(perm).index(d) for d in range(len(perm))]
    return generic([x], empty([src[p] for p in perm], element_type(x)),
                   [affine_map(len(perm), inverse), ir.AffineMap.get_identity(len(perm))],
                   [PARALLEL] * len(perm), lambda v, acc: v)


def _as_matrices(x: ir.Value, batch: list[int], rows: list[int], cols: list[int]):
    """Views x as [B, rows, cols] (False) or [B, cols, rows] (True: transposed), copying if needed."""
    dims = shape(x)
    b, r, c = product(dims[d] for d in batch), product(dims[d] for d in rows), product(dims[d] for d in cols)
    order = list(range(len(dims)))
    if order == batch + rows + cols:
        return reshape(x, [b, r, c]), False
    if order == batch + cols + rows:
        return reshape(x, [b, c, r]), True
    return reshape(transpose(x, batch + rows + cols), [b, r, c]), False


def _maps(trans_a: bool, trans_b: bool, batched: bool) -> list[ir.AffineMap]:
    # loops (b, m, n, k) or (m, n, k)
    o = 1 if batched else 0
    bd = [0] if batched else []
    m, n, k = o, o + 1, o + 2
    nd = o + 3
    return [affine_map(nd, bd + ([k, m] if trans_a else [m, k])),
            affine_map(nd, bd + ([n, k] if trans_b else [k, n])),
            affine_map(nd, bd + [m, n])]


def gemm_plan(a_shape, b_shape, dims: DotDims):
    """Returns (batch, M, N, K, lfree, rfree, lc, rc), dims as lists, the contracting pairs sorted by lhs dim."""
    lfree, rfree = list(dims.lhs_free), list(dims.rhs_free)
    pairs = sorted(zip(dims.lhs_contract, dims.rhs_contract))
    lc, rc = [p[0] for p in pairs], [p[1] for p in pairs]
    batch = product(a_shape[d] for d in dims.lhs_batch)
    m, n, k = (product(a_shape[d] for d in lfree), product(b_shape[d] for d in rfree),
               product(a_shape[d] for d in lc))
    return batch, m, n, k, lfree, rfree, lc, rc


def wants_blas(a: ir.Value, b: ir.Value, dims: DotDims) -> bool:
    elem = element_type(a)
    if not isinstance(elem, (ir.F32Type, ir.F64Type)) or element_type(b) != elem:
        return False
    batch, m, n, k, *_ = gemm_plan(shape(a), shape(b), dims)
    if min(batch, m, n, k) == 0:
        return False
    # k = 1 is an outer product: one multiply per element written, bound by memory. A gemm
    # call packs the operands and writes C twice (scaled by beta, then added to); a loop
    # writes it once (64 x (9216 (x) 128): 84 -> 45 ms).
    return k > 1 and batch * m * n * k >= BLAS_MIN_FLOPS


def _split_free(dims_order, free, contract):
    """(prefix, rest_transposed) when `dims_order` is prefix + (contract + rest | rest + contract)
    with a non-empty prefix of free dims, else None."""
    n = len(dims_order)
    for p in range(1, len(free)):
        prefix, rest = free[:p], free[p:]
        if list(range(p)) != prefix:
            continue
        if list(range(n)) == prefix + contract + rest:
            return prefix, rest, False
        if list(range(n)) == prefix + rest + contract:
            return prefix, rest, True
    return None


def _lower_rhs_broadcast(a, b, lfree, rfree, lc, rc, out_dims):
    """rhs laid out [P, K, N] (free dims on both sides of the contraction, as in a vmapped
    weight [models, in, out] against a shared input): one batch_matmul over P with the lhs
    broadcast, then the small [P, M, N] result transposed to [M, P, N]; no operand copy."""
    split = _split_free(list(range(len(shape(b)))), rfree, rc)
    if split is None:
        return None
    prefix, rest, trans_b = split
    bd, ad = shape(b), shape(a)
    p, n, k = product(bd[d] for d in prefix), product(bd[d] for d in rest), product(bd[d] for d in rc)
    m = product(ad[d] for d in lfree)
    if m >= k:   # copying the result would cost more than copying the operand
        return None
    order = list(range(len(ad)))
    if order == lfree + lc:
        a2 = reshape(a, [m, k])
    elif order == lc + lfree:
        # linalg.batch_matmul accepts a broadcast lhs only as (m, k), never transposed
        # ("Invalid broadcast requested"): copy the small [K, M] operand (M < K here).
        a2 = transpose(reshape(a, [k, m]), [1, 0])
    else:
        return None
    b3 = reshape(b, [p, n, k] if trans_b else [p, k, n])
    elem = element_type(a)
    init = fill([p, m, n], scalar_constant(elem, 0.0))
    maps = _maps(False, trans_b, True)
    maps[0] = affine_map(4, [1, 3])   # lhs (m, k) without the batch dim: broadcast over P
    c = matmul_op(linalg_ops.BatchMatmulOp, a2, b3, init, maps)
    return reshape(transpose(c, [1, 0, 2]), out_dims)


def lower_as_matmul(a: ir.Value, b: ir.Value, dims: DotDims, out_dims) -> ir.Value:
    """dot_general as linalg.matmul / batch_matmul on [B,M,K] x [B,K,N] views (see module doc)."""
    elem = element_type(a)
    lb, rb = list(dims.lhs_batch), list(dims.rhs_batch)
    batch, m, n, k, lfree, rfree, lc, rc = gemm_plan(shape(a), shape(b), dims)
    if not lb:
        order = list(range(len(shape(b))))
        if order != rc + rfree and order != rfree + rc:
            c = _lower_rhs_broadcast(a, b, lfree, rfree, lc, rc, out_dims)
            if c is not None:
                return c
    a3, trans_a = _as_matrices(a, list(lb), lfree, lc)
    b3, trans_b = _as_matrices(b, list(rb), rc, rfree)
    batched = batch != 1
    if not batched:
        a3 = reshape(a3, shape(a3)[1:])
        b3 = reshape(b3, shape(b3)[1:])
    c_dims = ([batch] if batched else []) + [m, n]
    init = fill(c_dims, scalar_constant(elem, 0.0))
    maps = _maps(trans_a, trans_b, batched)
    c = matmul_op(linalg_ops.BatchMatmulOp if batched else linalg_ops.MatmulOp, a3, b3, init, maps)
    return reshape(c, out_dims)
