"""Preparing bufferized tfn programs for NVIDIA GPUs.

Every buffer the program touches is CUDA managed memory (`gpu.alloc host_shared`),
so kernels and the few host-side loops that remain (0-d results, copies) can all
dereference it, and kernel launches stay synchronous. The entry point copies the
caller's numpy buffers into managed memory and the results back, and constants
(host globals, which a kernel cannot read) are copied to managed memory first.
"""
from __future__ import annotations

from typing import Sequence

from mlir import ir
from mlir.dialects import gpu, memref

# Threads per block along each mapped dim of a parallel loop nest (x, y).
TILE_SIZES = (32, 8)


def _managed_alloc(t: ir.MemRefType) -> ir.Value:
    return gpu.AllocOp(t, None, [], [], [], hostShared=True).result


def _free(buffer: ir.Value) -> None:
    # The runtime lowering frees only through a stream: wait async, dealloc, wait.
    token = ir.Type.parse("!gpu.async.token")
    stream = gpu.WaitOp(token, []).result
    freed = gpu.DeallocOp(token, [stream], buffer).result
    gpu.WaitOp(None, [freed])


def _walk(module_op: ir.Operation, name: str) -> list[ir.Operation]:
    found = []
    module_op.walk(lambda op: (found.append(op.operation) if op.operation.name == name else None)
                   or ir.WalkResult.ADVANCE)
    return found


def use_managed_memory(module_op: ir.Operation, entry: str, num_inputs: int) -> None:
    """Rewrites a bufferized module so that every buffer lives in managed memory."""
    for alloc in _walk(module_op, "memref.alloc"):
        with ir.InsertionPoint(alloc), alloc.location:
            new = _managed_alloc(ir.MemRefType(alloc.results[0].type))
        alloc.results[0].replace_all_uses_with(new)
        alloc.erase()
    for dealloc in _walk(module_op, "memref.dealloc"):
        with ir.InsertionPoint(dealloc), dealloc.location:
            _free(dealloc.operands[0])
        dealloc.erase()
    for get_global in _walk(module_op, "memref.get_global"):
        with ir.InsertionPoint.after(get_global), get_global.location:
            copy = _managed_alloc(ir.MemRefType(get_global.results[0].type))
            op = memref.CopyOp(get_global.results[0], copy)
        for use in list(get_global.results[0].uses):
            if use.owner != op.operation:  # noqa: the copy itself keeps reading the global
                use.owner.operands[use.operand_number] = copy
    for func_op in _walk(module_op, "func.func"):
        if ir.StringAttr(func_op.attributes["sym_name"]).value == entry:
            _stage_arguments(func_op, num_inputs)


def _stage_arguments(func_op: ir.Operation, num_inputs: int) -> None:
    """Inputs are copied into managed buffers on entry, results copied out before return."""
    block = func_op.regions[0].blocks[0]
    first = block.operations[0]
    ret = block.operations[len(block.operations) - 1]
    for i, arg in enumerate(block.arguments):
        t = ir.MemRefType(arg.type)
        with ir.InsertionPoint(first), ir.Location.unknown():
            staged = _managed_alloc(t)
            if i < num_inputs:
                copy_in = memref.CopyOp(arg, staged).operation
            else:
                copy_in = None
        for use in list(arg.uses):
            if copy_in is None or use.owner != copy_in:
                use.owner.operands[use.operand_number] = staged
        with ir.InsertionPoint(ret), ir.Location.unknown():
            if i >= num_inputs:
                memref.CopyOp(staged, arg)
            _free(staged)


def gpu_pipeline(chip: str = "sm_90", bitcode_libraries: Sequence[str] = ()) -> str:
    """Bufferized linalg (managed memory) -> LLVM with embedded PTX, JIT-compiled by the driver.

    `bitcode_libraries` (libdevice) are linked into the kernels for f64 math calls.
    """
    tiles = ",".join(map(str, TILE_SIZES))
    link = "".join(f" l={path}" for path in bitcode_libraries)
    return (
        "builtin.module("
        "func.func(convert-linalg-to-parallel-loops,"
        f"scf-parallel-loop-tiling{{parallel-loop-tile-sizes={tiles} no-min-max-bounds=true}},"
        "gpu-map-parallel-loops,convert-parallel-loops-to-gpu),"
        "gpu-kernel-outlining,lower-affine,convert-scf-to-cf,"
        f"nvvm-attach-target{{chip={chip} O=3{link}}},"
        f"gpu-lower-to-nvvm-pipeline{{cubin-format=isa cubin-chip={chip} cubin-features=+ptx80 opt-level=3}})")
