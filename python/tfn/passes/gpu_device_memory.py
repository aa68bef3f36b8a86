"""Pass `tfn-gpu-device-memory`: every buffer in device memory.

Allocations and frees become `gpu.alloc`/`gpu.dealloc`, copies `gpu.memcpy`, and
constants are copied from their host globals into device buffers; the entry point's
memref arguments are device pointers too (the caller stages numpy arrays in and
out, or passes DeviceArrays).

```mlir
%a = memref.alloc() : memref<8xf32>
memref.copy %x, %a : memref<8xf32> to memref<8xf32>
// becomes
%a = gpu.alloc () : memref<8xf32>
gpu.memcpy %a, %x : memref<8xf32>, memref<8xf32>
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import gpu

from tfn.passes.ir_utils import find_ops

NAME = "tfn-gpu-device-memory"
DESCRIPTION = "Buffers in device memory: gpu.alloc/dealloc/memcpy, constants uploaded"


def _device_alloc(t: ir.MemRefType) -> ir.Value:
    return gpu.AllocOp(t, None, [], [], []).result


def run(module_op: ir.Operation) -> None:
    for alloc in find_ops(module_op, "memref.alloc"):
        with ir.InsertionPoint(alloc), alloc.location:
            new = _device_alloc(ir.MemRefType(alloc.results[0].type))
        alloc.results[0].replace_all_uses_with(new)
        alloc.erase()
    for dealloc in find_ops(module_op, "memref.dealloc"):
        with ir.InsertionPoint(dealloc), dealloc.location:
            gpu.DeallocOp(None, [], dealloc.operands[0])
        dealloc.erase()
    for copy in find_ops(module_op, "memref.copy"):
        with ir.InsertionPoint(copy), copy.location:
            gpu.MemcpyOp(None, [], copy.operands[1], copy.operands[0])
        copy.erase()
    for get_global in find_ops(module_op, "memref.get_global"):
        with ir.InsertionPoint.after(get_global), get_global.location:
            on_device = _device_alloc(ir.MemRefType(get_global.results[0].type))
            upload = gpu.MemcpyOp(None, [], on_device, get_global.results[0]).operation
        for use in list(get_global.results[0].uses):
            if use.owner != upload:
                use.owner.operands[use.operand_number] = on_device
        block_ops = get_global.parent.regions[0].blocks[0].operations
        with ir.InsertionPoint(block_ops[len(block_ops) - 1]), get_global.location:
            gpu.DeallocOp(None, [], on_device)  # before the function's return
