"""Pass `tfn-kernel-noalias`: the `noalias` flags of outlined kernels, on their LLVM pointers.

`convert-func-to-llvm` expands a memref argument into several (allocated pointer, aligned
pointer, offset, sizes, strides) and drops its attributes on the way, `llvm.noalias`
included. `tfn-outline-kernels` records, in `tfn.noalias_args`, the positions of the
pointers whose buffers no other argument of the kernel reaches; after the conversion
this pass sets `llvm.noalias` on those arguments of the `llvm.func` and drops the record.
Without it a kernel's loops that read one buffer and write another carried run-time
overlap checks, or stayed scalar.

```mlir
llvm.func @__tfn_kernel_0(%arg0: !llvm.ptr, %arg1: !llvm.ptr, ...) attributes {tfn.noalias_args = array<i64: 0, 1>}
// becomes
llvm.func @__tfn_kernel_0(%arg0: !llvm.ptr {llvm.noalias}, %arg1: !llvm.ptr {llvm.noalias}, ...)
```
"""
from __future__ import annotations

from mlir import ir

from tfn.lowering.outline_kernels import NOALIAS_ARGS
from tfn.transforms.registry import register


def mark_kernel_noalias(module_op: ir.Operation) -> int:
    """Applies the `tfn.noalias_args` records of the module's llvm.funcs; returns how many functions."""
    module_op = module_op.operation if hasattr(module_op, "operation") else module_op
    no_alias = ir.DictAttr.get({"llvm.noalias": ir.UnitAttr.get()})
    none = ir.DictAttr.get({})
    ptr = ir.Type.parse("!llvm.ptr")
    count = 0
    for op in module_op.regions[0].blocks[0].operations:
        op = op.operation
        if op.name != "llvm.func" or NOALIAS_ARGS not in op.attributes:
            continue
        positions = set(ir.DenseI64ArrayAttr(op.attributes[NOALIAS_ARGS]))
        del op.attributes[NOALIAS_ARGS]
        if not len(op.regions[0].blocks):
            continue
        args = op.regions[0].blocks[0].arguments
        pointer = [a.type == ptr for a in args]
        if not all(pointer[p] for p in positions if p < len(args)):
            continue  # not the signature the record was made for: leave it unmarked
        op.attributes["arg_attrs"] = ir.ArrayAttr.get([no_alias if i in positions else none
                                                       for i in range(len(args))])
        count += 1
    return count


register("tfn-kernel-noalias", "Put the noalias flags of outlined kernels on their LLVM pointer arguments")(
    mark_kernel_noalias)
