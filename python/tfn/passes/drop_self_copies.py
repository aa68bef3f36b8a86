"""Pass `tfn-drop-self-copies`: erases `memref.copy %m, %m`.

Results computed in place into the caller's arrays (`tfn-write-into-results`) leave a
copy of the output buffer onto itself after bufferization.

```mlir
memref.copy %arg1, %arg1 : memref<4xf32> to memref<4xf32>
// becomes nothing
```
"""
from __future__ import annotations

from mlir import ir

from tfn.passes.ir_utils import find_ops

NAME = "tfn-drop-self-copies"
DESCRIPTION = "Erase memref.copy of a buffer onto itself"


def run(module_op: ir.Operation) -> None:
    found = find_ops(module_op, lambda op: op.name == "memref.copy" and op.operands[0] == op.operands[1],
                     payloads=False)
    for op in found:
        op.erase()
