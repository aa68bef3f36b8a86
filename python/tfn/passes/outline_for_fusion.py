"""Pass `tfn-outline-for-fusion`: keeps some ops out of `linalg-fuse-elementwise-ops`.

Upstream elementwise fusion has no cost model. Two of its rewrites cost us dearly:

- its reshape-by-expansion patterns apply to every linalg op, so a `collapse_shape`
  feeding a `linalg.matmul` (a matrix-vector product reshaped, a batch folded) turned
  the matmul into a `linalg.generic`, into which elementwise producers were then
  fused: a jacrev ran a tanh per multiply-add, as loops, 60x slower than the gemm;
- it fuses a producer into a consumer that reads it through a broadcasting map, so
  the producer's body runs once per *consumer* element: vmap(jacrev) evaluated
  tanh once per basis vector (33x too often), also where elementwise ops sit between.

Before fusion, each such op (every matmul; every generic with a transcendental or
a division whose result some linalg op reads through a broadcast) moves into its own
private function, called with `no_inline`; after fusion `tfn-allow-inlining` drops the
attribute and `inline` puts it back.

```mlir
%c = linalg.matmul ins(%a, %b : ...) outs(%z : ...) -> tensor<64x512xf32>
// becomes, until fusion is done
%c = call @__tfn_outlined_0(%a, %b, %z) {no_inline} : (...) -> tensor<64x512xf32>
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import func

NAME = "tfn-outline-for-fusion"
DESCRIPTION = "Move matmuls and broadcast-read expensive generics into no_inline calls until fusion is done"
OUTLINED_PREFIX = "__tfn_outlined_"
_CONTRACTIONS = ("linalg.matmul", "linalg.batch_matmul")
_RESHAPES = ("tensor.expand_shape", "tensor.collapse_shape")


def _is_expensive(generic) -> bool:
    return any(op.name.startswith("math.") or op.name == "arith.divf"
               for op in generic.regions[0].blocks[0].operations)


def _self_contained(op) -> bool:
    """Whether the regions of `op` use only values defined inside them (so it can move)."""
    defined, used = set(), []

    def visit(inner):
        inner = _op(inner)
        if inner == op:
            return ir.WalkResult.ADVANCE
        defined.update(inner.results)
        for region in inner.regions:
            for block in region.blocks:
                defined.update(block.arguments)
        used.extend(inner.operands)
        return ir.WalkResult.ADVANCE
    for region in op.regions:
        for block in region.blocks:
            defined.update(block.arguments)
    op.walk(visit)
    return all(v in defined for v in used)


def _op(owner):
    return owner.operation if hasattr(owner, "operation") else owner


def _read_by_broadcast(value: ir.Value, depth: int = 0) -> bool:
    """Whether a linalg op reads `value` through a broadcasting map, directly, through
    reshapes or through a chain of elementwise generics (which fusion would merge)."""
    if depth > 6:
        return False
    for use in value.uses:
        user = _op(use.owner)
        if user.name in _RESHAPES:
            if _read_by_broadcast(user.results[0], depth + 1):
                return True
            continue
        if not user.name.startswith("linalg.") or "indexing_maps" not in user.attributes:
            continue
        maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(user.attributes["indexing_maps"])]
        index = use.operand_number
        if index >= len(maps):
            continue
        if maps[index].n_dims > len(maps[index].results):
            return True
        if user.name == "linalg.generic" and len(user.results) == 1 and \
                _read_by_broadcast(user.results[0], depth + 1):
            return True
    return False


def run(module_op: ir.Operation) -> None:
    """Outlines matmuls and broadcast-read expensive generics (see module doc)."""
    module_op = module_op.operation
    body = module_op.regions[0].blocks[0]
    found = []

    def collect(op):
        if len(op.results) == 1:
            if op.name in _CONTRACTIONS:
                found.append(op)
            elif op.name == "linalg.generic" and _is_expensive(op) and _read_by_broadcast(op.results[0]) \
                    and _self_contained(op):
                found.append(op)
        return ir.WalkResult.ADVANCE
    module_op.walk(collect)
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
