"""`tfn.dot_general` on floats as a (batched) matrix product, ready for BLAS.

A contraction whose operands can be seen as row-major stacks of matrices becomes

    A3 = reshape(A, [B, M, K])  (or [B, K, M]: transposed)
    B3 = reshape(B, [B, K, N])  (or [B, N, K]: transposed)
    C3 = linalg.batch_matmul / linalg.matmul ins(A3, B3) outs(zeros)
    C  = reshape(C3, batch... x lhs-free... x rhs-free...)

with the transposes carried by the op's `indexing_maps`. Operands whose dimensions
are not grouped that way are first copied into that order (a transpose). Named
matmul ops, unlike `linalg.generic`, are never fused into by
`linalg-fuse-elementwise-ops`, so after bufferization `tfn.lowering.blas` finds
them intact and rewrites them to BLAS calls; whatever it leaves lowers to loops.

```mlir
// dot_general(a: 64x784, b: 784x512), contracting (1)x(0)
%0 = linalg.fill ... -> tensor<64x512xf32>
%1 = linalg.matmul indexing_maps = [(m,n,k)->(m,k), (m,n,k)->(k,n), (m,n,k)->(m,n)]
       ins(%a, %b : tensor<64x784xf32>, tensor<784x512xf32>) outs(%0 : tensor<64x512xf32>)
```
"""
from __future__ import annotations

from typing import Sequence

from mlir import ir
from mlir.dialects import linalg, tensor

from tfn.lowering.builders import (PARALLEL, affine_map, element_type, empty, fill, generic,
                                   scalar_constant, shape)

# Below this many multiply-adds the generic loop nest is as fast as a library call.
BLAS_MIN_FLOPS = 4096


def _prod(dims: Sequence[int]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _reassociation(groups):
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups])


def reshape(x: ir.Value, dims: Sequence[int]) -> ir.Value:
    """Row-major reshape of a static tensor through at most one collapse and one expand."""
    src, dims = shape(x), list(dims)
    if src == dims:
        return x
    elem = element_type(x)
    if len(src) == 0:
        x = tensor.ExpandShapeOp(ir.RankedTensorType.get([1], elem), x, _reassociation([]), [], [1]).result
    elif len(src) > 1:
        x = tensor.CollapseShapeOp(ir.RankedTensorType.get([_prod(src)], elem), x,
                                   _reassociation([list(range(len(src)))])).result
    if len(dims) == 0:
        return tensor.CollapseShapeOp(ir.RankedTensorType.get([], elem), x, _reassociation([])).result
    if len(dims) > 1:
        return tensor.ExpandShapeOp(ir.RankedTensorType.get(dims, elem), x,
                                    _reassociation([list(range(len(dims)))]), [], dims).result
    return x


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
    b, r, c = _prod(dims[d] for d in batch), _prod(dims[d] for d in rows), _prod(dims[d] for d in cols)
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


def gemm_plan(a_shape, b_shape, lb, rb, lc, rc):
    """Returns (batch, M, N, K, lfree, rfree, lc, rc) with the contracting pairs sorted by lhs dim."""
    lfree = [d for d in range(len(a_shape)) if d not in lb and d not in lc]
    rfree = [d for d in range(len(b_shape)) if d not in rb and d not in rc]
    pairs = sorted(zip(lc, rc))
    lc, rc = [p[0] for p in pairs], [p[1] for p in pairs]
    batch = _prod(a_shape[d] for d in lb)
    m, n, k = (_prod(a_shape[d] for d in lfree), _prod(b_shape[d] for d in rfree),
               _prod(a_shape[d] for d in lc))
    return batch, m, n, k, lfree, rfree, lc, rc


def wants_blas(a: ir.Value, b: ir.Value, lb, rb, lc, rc) -> bool:
    elem = element_type(a)
    if not isinstance(elem, (ir.F32Type, ir.F64Type)) or element_type(b) != elem:
        return False
    batch, m, n, k, *_ = gemm_plan(shape(a), shape(b), lb, rb, lc, rc)
    if min(batch, m, n, k) == 0:
        return False
    return batch * m * n * k >= BLAS_MIN_FLOPS


def lower_as_matmul(a: ir.Value, b: ir.Value, lb, rb, lc, rc, out_dims) -> ir.Value:
    """dot_general as linalg.matmul / batch_matmul on [B,M,K] x [B,K,N] views (see module doc)."""
    elem = element_type(a)
    batch, m, n, k, lfree, rfree, lc, rc = gemm_plan(shape(a), shape(b), list(lb), list(rb), lc, rc)
    a3, trans_a = _as_matrices(a, list(lb), lfree, lc)
    b3, trans_b = _as_matrices(b, list(rb), rc, rfree)
    batched = batch != 1
    if not batched:
        a3 = reshape(a3, shape(a3)[1:])
        b3 = reshape(b3, shape(b3)[1:])
    c_dims = ([batch] if batched else []) + [m, n]
    init = fill(c_dims, scalar_constant(elem, 0.0))
    maps = _maps(trans_a, trans_b, batched)
    build = linalg.batch_matmul if batched else linalg.matmul
    c = build(a3, b3, outs=[init], indexing_maps=maps)
    return reshape(c, out_dims)


# ------------------------------------------------------------------ keeping matmuls intact

OUTLINED_PREFIX = "__tfn_contraction_"


def outline_contractions(module_op: ir.Operation) -> int:
    """Moves each tensor `linalg.matmul`/`batch_matmul` into its own private function, called
    with `no_inline`, so that `linalg-fuse-elementwise-ops` cannot turn it into a generic.

    That pass's reshape-by-expansion patterns apply to every linalg op: a `collapse_shape`
    feeding a matmul (a matrix-vector product reshaped, a batch folded) rewrote the matmul
    into a `linalg.generic`, into which elementwise producers were then fused — a jacrev
    ran a tanh per multiply-add, as loops, 60x slower than the gemm. `inline_contractions`
    puts them back after fusion.
    """
    module_op = module_op.operation
    body = module_op.regions[0].blocks[0]
    found = []

    def collect(op):
        if op.name in ("linalg.matmul", "linalg.batch_matmul") and len(op.results) == 1:
            found.append(op)
        return ir.WalkResult.ADVANCE
    module_op.walk(collect)
    from mlir.dialects import func
    for i, op in enumerate(found):
        name = f"{OUTLINED_PREFIX}{i}"
        operands = list(op.operands)
        result_type = op.results[0].type
        with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
            fn = func.FuncOp(name, ([v.type for v in operands], [result_type]))
            fn.attributes["sym_visibility"] = ir.StringAttr.get("private")
            block = fn.add_entry_block()
        with ir.InsertionPoint(op), op.location:
            call = func.CallOp([result_type], ir.FlatSymbolRefAttr.get(name), operands)
            call.attributes["no_inline"] = ir.UnitAttr.get()
        op.results[0].replace_all_uses_with(call.result)
        with ir.InsertionPoint(block), ir.Location.unknown():
            ret = func.ReturnOp([op.results[0]])
        op.move_before(ret)
        for k in range(len(operands)):
            op.operands[k] = block.arguments[k]
    return len(found)


def allow_inlining_contractions(module_op: ir.Operation) -> int:
    """Drops `no_inline` from the calls `outline_contractions` made (then run `inline`)."""
    found = []

    def collect(op):
        if op.name == "func.call" and "no_inline" in op.attributes and \
                ir.FlatSymbolRefAttr(op.attributes["callee"]).value.startswith(OUTLINED_PREFIX):
            found.append(op)
        return ir.WalkResult.ADVANCE
    module_op.operation.walk(collect)
    for op in found:
        del op.attributes["no_inline"]
    return len(found)
