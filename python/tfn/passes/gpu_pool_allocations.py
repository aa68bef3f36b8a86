"""Pass `tfn-gpu-pool-allocations`: every `gpu.alloc` of the entry function a view of one workspace.

The workspace is a new trailing `memref<Nxi8>` argument that the caller allocates
once per compiled function, so a call allocates and frees nothing (cuMemAlloc and
the synchronizing cuMemFree cost tens of microseconds each). Buffers do not share
space: N is the sum of their sizes, recorded as the module's `tfn.workspace_bytes`.

```mlir
%a = gpu.alloc () : memref<8xf32>
// becomes (%ws: the new argument memref<256xi8>)
%a = memref.view %ws[%c0][] : memref<256xi8> to memref<8xf32>
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, memref

from tfn.lowering.builders import product
from tfn.passes.ir_utils import find_ops
from tfn.passes.pool_host_allocations import set_workspace_bytes

NAME = "tfn-gpu-pool-allocations"
DESCRIPTION = "Every gpu.alloc of the entry function a view of one workspace argument (size: tfn.workspace_bytes)"


def run(module_op: ir.Operation, entry: str = "") -> None:
    set_workspace_bytes(module_op, pool_allocations(module_op, _entry_name(module_op, entry)))


# Offsets of buffers in the workspace are multiples of this (cudaMalloc's own alignment).
WORKSPACE_ALIGNMENT = 256


def _byte_size(t: ir.MemRefType) -> int:
    width = t.element_type.width if hasattr(t.element_type, "width") else 64
    return product(t.shape) * max(1, width // 8)


def pool_allocations(module_op: ir.Operation, entry: str) -> int:
    """Every `gpu.alloc` of the entry function becomes a view into one workspace.

    The workspace is a new trailing `memref<Nxi8>` argument that the caller allocates
    once per compiled function, so a call allocates and frees nothing (cuMemAlloc and
    the synchronizing cuMemFree cost tens of microseconds each). Buffers do not share
    space: N is the sum of their sizes. Returns N.
    """
    func_op = next(f for f in find_ops(module_op, "func.func")
                   if ir.StringAttr(f.attributes["sym_name"]).value == entry)
    allocs = find_ops(func_op, "gpu.alloc")
    offsets, total = [], 0
    for alloc in allocs:
        offsets.append(total)
        size = _byte_size(ir.MemRefType(alloc.results[0].type))
        total += -(-size // WORKSPACE_ALIGNMENT) * WORKSPACE_ALIGNMENT
    total = max(total, WORKSPACE_ALIGNMENT)
    block = func_op.regions[0].blocks[0]
    workspace = block.add_argument(ir.MemRefType.get([total], ir.IntegerType.get_signless(8)),
                                   ir.Location.unknown())
    ftype = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    func_op.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get(list(ftype.inputs) + [workspace.type], list(ftype.results)))
    index = ir.IndexType.get()
    for alloc, offset in zip(allocs, offsets):
        with ir.InsertionPoint(alloc), alloc.location:
            shift = arith.ConstantOp(index, offset).result
            view = memref.ViewOp(alloc.results[0].type, workspace, shift, []).result
        alloc.results[0].replace_all_uses_with(view)
        alloc.erase()
    for dealloc in find_ops(func_op, "gpu.dealloc"):
        dealloc.erase()
    return total


def _entry_name(module_op: ir.Operation, entry: str | None) -> str:
    if entry:
        return entry
    names = [ir.StringAttr(f.attributes["sym_name"]).value for f in find_ops(module_op, "func.func")
             if "sym_visibility" not in f.attributes]
    if len(names) != 1:
        raise ValueError(f"name the entry function with entry=NAME (public functions: {names})")
    return names[0]
