"""Pass `tfn-internal-linkage`: every function defined in the module but `keep` gets internal linkage.

The ExecutionEngine then makes no packed wrapper for them, and LLVM may change their
signatures (drop unused arguments) and delete them once inlined. With memref
descriptors the entry point is called through its `_mlir_ciface_` wrapper, so no
function is kept (`keep` empty).

```mlir
func.func private @__tfn_kernel_0(%arg0: memref<8xf32>) { ... }
// becomes
func.func private @__tfn_kernel_0(%arg0: memref<8xf32>) attributes {llvm.linkage = #llvm.linkage<internal>} { ... }
```
"""
from __future__ import annotations

from mlir import ir

NAME = "tfn-internal-linkage"
DESCRIPTION = "Give every function defined in the module but `keep` internal linkage in LLVM"


def run(module_op: ir.Operation, keep: str = "") -> None:
    internal = ir.Attribute.parse("#llvm.linkage<internal>")
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and len(op.regions[0].blocks) and \
                ir.StringAttr(op.attributes["sym_name"]).value != keep:
            op.attributes["llvm.linkage"] = internal
