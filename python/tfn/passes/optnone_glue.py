"""Pass `tfn-optnone-glue`: function `function` (the entry's body of views and calls) is `optnone`.

Once the loop nests are kernels (`tfn-outline-kernels`), the body of the entry point is
straight-line glue whose length grows with the program; LLVM's O3 passes and
instruction selection cost more on it than on all the kernels, for code that runs for
nanoseconds per call. A body where a loop nest was left is not marked.

```mlir
func.func private @_tfn_entry_body(...) { ...calls and views... }
// becomes
func.func private @_tfn_entry_body(...) attributes {passthrough = ["noinline", "optnone"]} { ... }
```
"""
from __future__ import annotations

from mlir import ir

from tfn.passes.outline_kernels import is_loop_nest

NAME = "tfn-optnone-glue"
DESCRIPTION = "Mark the entry's body of calls `optnone` (unless a loop nest is left in it)"


def run(module_op: ir.Operation, function: str = "_tfn_entry_body") -> None:
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == function:
            if any(is_loop_nest(inner.operation) for inner in op.regions[0].blocks[0].operations):
                return
            op.attributes["passthrough"] = ir.ArrayAttr.get([ir.StringAttr.get("noinline"),
                                                             ir.StringAttr.get("optnone")])
            return
