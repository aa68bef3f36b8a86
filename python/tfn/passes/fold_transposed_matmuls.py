"""Pass `tfn-fold-transposed-matmuls`: `transpose(matmul(A, B))` -> `matmul(B, A)`.

The transpose flags of the new matmul are swapped, so that the gemm writes the
transposed result itself (jacrev's [out, in] layout from an [in, out] contraction).
Runs on tensors, before bufferization.

```mlir
%c = linalg.matmul ins(%a, %b : tensor<32x2048xf32>, tensor<32x32xf32>) ... -> tensor<2048x32xf32>
%t = linalg.generic {(d0, d1) -> (d1, d0), (d0, d1) -> (d0, d1)} ins(%c) ... -> tensor<32x2048xf32>
// becomes
%t = linalg.matmul ins(%b, %a : tensor<32x32xf32>, tensor<32x2048xf32>) ... -> tensor<32x2048xf32>
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg as linalg_ops
from mlir.dialects.linalg import fill_builtin_region

from tfn.lowering.builders import affine_map, element_type, fill, scalar_constant, shape

NAME = "tfn-fold-transposed-matmuls"
DESCRIPTION = "Rewrite transpose(matmul(A, B)) as matmul(B, A) with swapped transpose flags"


def _maps_positions(op):
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    out = []
    for m in maps:
        dims = []
        for e in m.results:
            try:
                dims.append(ir.AffineDimExpr(e).position)
            except (TypeError, ValueError):
                return None
        out.append(dims)
    return out


def _is_transpose_2d(op) -> bool:
    if op.name != "linalg.generic" or len(op.operands) != 2 or len(op.results) != 1:
        return False
    if _maps_positions(op) != [[1, 0], [0, 1]]:
        return False
    ops = list(op.regions[0].blocks[0].operations)
    block = op.regions[0].blocks[0]
    return len(ops) == 1 and ops[0].name == "linalg.yield" and ops[0].operands[0] == block.arguments[0]


def _matmul(a: ir.Value, b: ir.Value, init: ir.Value, trans_a: bool, trans_b: bool) -> ir.Value:
    """`linalg.matmul` of `a` and `b` into `init`, loops (m, n, k), transposes in its maps."""
    m, n, k = 0, 1, 2
    maps = [affine_map(3, [k, m] if trans_a else [m, k]), affine_map(3, [n, k] if trans_b else [k, n]),
            affine_map(3, [m, n])]
    op = linalg_ops.MatmulOp(result_tensors=[init.type], inputs=[a, b], outputs=[init], indexing_maps=maps)
    fill_builtin_region(op.operation)
    return op.results[0]


def run(module_op: ir.Operation) -> None:
    found = []

    def collect(op):
        if op.name == "linalg.matmul" and len(op.results) == 1:
            uses = list(op.results[0].uses)
            if len(uses) == 1:
                user = uses[0].owner
                user = user.operation if hasattr(user, "operation") else user
                if _is_transpose_2d(user):
                    found.append((op, user))
        return ir.WalkResult.ADVANCE
    module_op.operation.walk(collect)
    for mm, tr in found:
        dims = _maps_positions(mm) if "indexing_maps" in mm.attributes else [[0, 2], [2, 1], [0, 1]]
        if dims is None or dims[2] != [0, 1]:
            continue
        trans_a = dims[0] == [2, 0]
        trans_b = dims[1] == [1, 2]
        if dims[0] not in ([0, 2], [2, 0]) or dims[1] not in ([2, 1], [1, 2]):
            continue
        a, b, init = mm.operands[0], mm.operands[1], mm.operands[2]
        with ir.InsertionPoint(tr), tr.location:
            zero = fill(shape(tr.results[0]), scalar_constant(element_type(a), 0.0))
            new = _matmul(b, a, zero, not trans_b, not trans_a)
        tr.results[0].replace_all_uses_with(new)
        tr.erase()
        mm.erase()
        for dead in (init.owner,):
            dead = dead.operation if hasattr(dead, "operation") else dead
            if isinstance(dead, ir.Operation) and not list(dead.results[0].uses):
                empty = dead.operands[0] if len(dead.operands) == 1 else None
                dead.erase()
                if empty is not None and not isinstance(empty.owner, ir.Block) and not list(empty.uses):
                    owner = empty.owner.operation if hasattr(empty.owner, "operation") else empty.owner
                    owner.erase()
