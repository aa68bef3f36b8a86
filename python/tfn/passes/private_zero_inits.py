"""Pass `tfn-private-zero-inits`: an op accumulating into a shared fill gets its own copy of the fill.

CSE merges equal zero fills, and an accumulating op (a matmul, a reduction) then needs
a copy of the shared zeros (bufferization inserts `memref.copy`: 127 of them in a
64-layer MLP gradient, one per bias gradient), which also hides the fill from the
beta = 0 rewrite of `tfn-linalg-to-blas`. A fill per op is written in place (and before
a gemm, dropped). Runs on tensors, before bufferization.

```mlir
%z = linalg.generic ... outs(%e : tensor<8xf32>) { linalg.yield %zero }   // used twice
%a = linalg.generic {reduction} ins(%x) outs(%z)
%b = linalg.generic {reduction} ins(%y) outs(%z)
// becomes: %b accumulates into a clone of %z, made right before it
```
"""
from __future__ import annotations

from mlir import ir

from tfn.passes.ir_utils import find_ops

NAME = "tfn-private-zero-inits"
DESCRIPTION = "Give every accumulating linalg op whose init is a shared fill a fill of its own"


def _reads_init(op: ir.Operation) -> bool:
    """Whether a linalg op with one result accumulates into its init: a matmul, or a
    `linalg.generic` whose payload reads its last block argument (a reduction)."""
    if len(op.results) != 1:
        return False
    if op.name in ("linalg.matmul", "linalg.batch_matmul"):
        return True
    if op.name != "linalg.generic":
        return False
    out = op.regions[0].blocks[0].arguments[-1]
    for _ in out.uses:
        return True
    return False


def run(module_op: ir.Operation) -> None:
    found = find_ops(module_op, _reads_init, payloads=False)
    for op in found:
        index = len(op.operands) - 1
        init = op.operands[index]
        owner = init.owner
        if isinstance(owner, ir.Block):
            continue
        owner = owner.operation if hasattr(owner, "operation") else owner
        if owner.name != "linalg.generic" or len(owner.operands) != 1 or len(list(init.uses)) < 2:
            continue
        with ir.InsertionPoint(op):
            copy = owner.clone()
        op.operands[index] = copy.results[0]
