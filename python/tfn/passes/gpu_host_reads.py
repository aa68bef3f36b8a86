"""Pass `tfn-gpu-host-reads`: a scalar the host reads is copied out of device memory first.

Control flow runs on the host: an `scf.while` tests its predicate, an `scf.if` chain
a switch's index, and kernels computed both into device memory (every buffer of the
CUDA pipeline is; `tfn-gpu-device-memory`). Each `memref.load` outside the linalg ops
and parallel loops (which become kernels) reads one element on the host: it is copied
into a host buffer on the stack (`memref.alloca`, in the function's entry block, so
that a loop does not grow the stack) and read there. `gpu.memcpy` copies contiguous
buffers only, so an element that is not a whole 0-d buffer (a row of a scan's xs, an
element of a larger array) is first copied by `memref.copy` into a 0-d buffer of its
own: a one-thread kernel once `tfn-lower-strided-copies` made the copy a linalg op.

The copy is synchronous here, as every copy of the pipeline before `gpu-async-region`,
which puts it on the stream and waits for it before the load (a load is a side effect
on the host).

```mlir
%p = memref.load %flag[] : memref<i8>
// becomes
%host = memref.alloca() : memref<i8>          // in the entry block
gpu.memcpy %host, %flag : memref<i8>, memref<i8>
%p = memref.load %host[] : memref<i8>
```

Runs early in the buffer stage of the CUDA pipeline (after bufferization and
`tfn-gpu-thread-buffers`, before `tfn-lower-strided-copies`). `tfn-gpu-check-host-access`
accepts host loads of these stack buffers only.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import gpu, memref

from tfn.passes.ir_utils import find_ops

NAME = "tfn-gpu-host-reads"
DESCRIPTION = "Host loads of device memory read a copy in a host stack buffer (gpu.memcpy first)"

# Ops whose regions become kernels (or are kernels): a load there reads device memory on the device.
# An scf.forall is one thread per iteration (the linear algebra ops' loop per matrix).
DEVICE_REGIONS = ("gpu.module", "gpu.launch", "scf.parallel", "scf.forall")
# Ops whose first operand is the buffer their result views.
VIEWS = ("memref.subview", "memref.view", "memref.expand_shape", "memref.collapse_shape",
         "memref.reinterpret_cast", "memref.cast")


def run(module_op: ir.Operation) -> None:
    for load in find_ops(module_op, _is_host_load, payloads=False):
        _read_through_host_buffer(load)


def is_host_buffer(value: ir.Value) -> bool:
    """Whether `value` is (a view of) a host stack buffer, the only host memory the CUDA
    pipeline has once `tfn-gpu-device-memory` ran."""
    while not isinstance(value.owner, ir.Block):  # a block argument (the entry's, a loop's): device memory
        op = value.owner.operation
        if op.name == "memref.alloca":
            return True
        if op.name not in VIEWS:
            return False
        value = op.operands[0]
    return False


def _is_host_load(op: ir.Operation) -> bool:
    if op.name != "memref.load" or is_host_buffer(op.operands[0]):
        return False
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        if parent.name in DEVICE_REGIONS or parent.name.startswith("linalg."):
            return False
        parent = parent.parent
    return parent is not None


def _entry_block(op: ir.Operation) -> ir.Block:
    parent = op.parent
    while parent.name != "func.func":
        parent = parent.parent
    return parent.regions[0].blocks[0]


def _read_through_host_buffer(load: ir.Operation) -> None:
    source, indices = load.operands[0], list(load.operands[1:])
    source_type = ir.MemRefType(source.type)
    scalar_type = ir.MemRefType.get([], source_type.element_type)
    entry = _entry_block(load)
    with ir.InsertionPoint.at_block_begin(entry), load.location:
        host = memref.AllocaOp(scalar_type, [], []).result
    with ir.InsertionPoint(load), load.location:
        if _is_contiguous_scalar(source_type):
            element = source
        else:
            # The element as a 0-d view (strided), copied into a contiguous device buffer.
            rank = source_type.rank
            view = source
            if rank:
                dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
                view_type = ir.MemRefType.get([], source_type.element_type,
                                              ir.StridedLayoutAttr.get(dynamic, []), source_type.memory_space)
                view = memref.SubViewOp(view_type, source, indices, [], [], [dynamic] * rank, [1] * rank,
                                        [1] * rank).result
            element = memref.AllocOp(scalar_type, [], []).result
            memref.CopyOp(view, element)
        gpu.MemcpyOp(None, [], host, element)
        value = memref.LoadOp(host, []).result
    load.results[0].replace_all_uses_with(value)
    load.erase()


def _is_contiguous_scalar(t: ir.MemRefType) -> bool:
    """Whether `t` is a 0-d buffer in the default layout, as `gpu.memcpy` copies it."""
    return t == ir.MemRefType.get([], t.element_type, None, t.memory_space)
