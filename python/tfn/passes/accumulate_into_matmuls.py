"""Pass `tfn-accumulate-into-matmuls`: `acc + matmul(A, B)` -> `matmul(A, B)` into `acc`.

A linalg matmul accumulates into its init; tfn's contractions start from a zero fill, so a
gradient summed over the steps of a loop (`ct_W += h^T ct`, per sample in a vmapped scan) is a
matmul into zeros and then an elementwise add. With the accumulator as the matmul's init
instead, the gemm runs with beta = 1 into it (`tfn-linalg-to-blas`), and the buffer it
would have filled, the add and the add's read of both are gone. Runs on tensors, before
bufferization. Only a loop-carried accumulator qualifies (a block argument of an scf.for or
scf.while body: a sum over the steps, which nothing reads after the add), with a matmul whose
one use is the add, from a zero init.

```mlir
%z = linalg.fill ins(%zero) outs(...)          // or a generic yielding 0
%p = linalg.batch_matmul ins(%a, %b) outs(%z)
%s = linalg.generic {add} ins(%acc, %p) ...
// becomes
%s = linalg.batch_matmul ins(%a, %b) outs(%acc)
```
"""
from __future__ import annotations

from mlir import ir

NAME = "tfn-accumulate-into-matmuls"
DESCRIPTION = "Rewrite acc + matmul(A, B) (from a zero init) as matmul(A, B) accumulating into acc"

MATMULS = ("linalg.matmul", "linalg.batch_matmul")


def _op(value: ir.Value) -> ir.Operation | None:
    owner = value.owner
    if isinstance(owner, ir.Block):
        return None
    return owner.operation if hasattr(owner, "operation") else owner


def _is_zero(value: ir.Value) -> bool:
    """A tensor filled with 0.0: linalg.fill of a zero constant, or a generic that yields one."""
    op = _op(value)
    if op is None:
        return False
    if op.name == "linalg.fill":
        scalar = op.operands[0]
    elif op.name == "linalg.generic" and len(op.operands) == 1:
        body = list(op.regions[0].blocks[0].operations)
        if len(body) != 1 or body[0].name != "linalg.yield":
            return False
        scalar = body[0].operands[0]
    else:
        return False
    const = _op(scalar)
    if const is None or const.name != "arith.constant":
        return False
    try:
        return ir.FloatAttr(const.attributes["value"]).value == 0.0
    except ValueError:
        return False


def _addend(op: ir.Operation) -> tuple[ir.Value, ir.Value] | None:
    """(accumulator, matmul result) of an elementwise float add of two tensors of one type."""
    if op.name != "linalg.generic" or len(op.operands) != 3 or len(op.results) != 1:
        return None
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    identity = ir.AffineMap.get_identity(maps[0].n_dims)
    if any(m != identity for m in maps):
        return None
    block = op.regions[0].blocks[0]
    body = list(block.operations)
    if len(body) != 2 or body[0].name != "arith.addf" or body[1].name != "linalg.yield" \
            or body[1].operands[0] != body[0].results[0]:
        return None
    if {body[0].operands[0], body[0].operands[1]} != {block.arguments[0], block.arguments[1]}:
        return None
    a, b = op.operands[0], op.operands[1]
    if a.type != b.type or a.type != op.results[0].type:
        return None
    for acc, product in ((a, b), (b, a)):
        mm = _op(product)
        # Only a loop's carried accumulator (a block argument of the loop body): a sum over
        # the steps. Elsewhere the accumulator may be read again after the add.
        if not isinstance(acc.owner, ir.Block) or acc.owner.owner is None \
                or acc.owner.owner.name not in ("scf.for", "scf.while"):
            continue
        if mm is not None and mm.name in MATMULS and len(list(product.uses)) == 1 and _is_zero(mm.operands[2]):
            return acc, product
    return None


def run(module_op: ir.Operation) -> None:
    found = []

    def collect(op):
        pair = _addend(op)
        if pair is not None and _op(pair[1]).block == op.block:
            found.append((op, *pair))
        return ir.WalkResult.ADVANCE
    module_op.operation.walk(collect)
    for add, acc, product in found:
        mm = _op(product)
        mm.move_before(add)                   # where acc is computed already
        mm.operands[2] = acc                  # the matmul accumulates into acc (beta = 1)
        add.results[0].replace_all_uses_with(product)
        add.erase()
