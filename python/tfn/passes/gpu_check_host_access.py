"""Pass `tfn-gpu-check-host-access`: fails where host code would dereference a device buffer.

After the loops became GPU kernels, no op outside a `gpu.module` may load, store,
copy or compute on memory (every buffer is device memory) but the host stack buffers
that `tfn-gpu-host-reads` copies scalars into: a leftover would crash at run time, so
it is an error at compile time, located at the op.
"""
from __future__ import annotations

from mlir import ir

from tfn.passes.gpu_host_reads import is_host_buffer

NAME = "tfn-gpu-check-host-access"
DESCRIPTION = "Fail where host code (outside gpu.module) would read or write device memory"
HOST_MEMORY_OPS = ("memref.load", "memref.store", "memref.copy", "linalg.generic")


def run(module_op: ir.Operation) -> None:
    """Raises where host code (outside gpu.module) would dereference a device buffer."""
    found = []

    def visit(op):
        op = op.operation
        if op.name == "gpu.module":
            return ir.WalkResult.SKIP
        if op.name in HOST_MEMORY_OPS and not (op.name == "memref.load" and is_host_buffer(op.operands[0])):
            found.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE
    module_op.walk(visit, ir.WalkOrder.PRE_ORDER)
    if found:
        err = NotImplementedError(f"the GPU lowering left '{found[0].name}' on the host, where it would "
                                  f"read device memory (at {found[0].location})")
        err.location = found[0].location
        raise err
