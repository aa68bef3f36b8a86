"""Preparing bufferized tfn programs for NVIDIA GPUs.

After bufferization (and buffer deallocation) the program is made GPU-shaped:

- every linalg op gets loops that suit a GPU (`reorder_loops_for_gpu`): parallel
  dims first, the innermost memory dim first of all so that `thread x` walks
  contiguous addresses (coalesced loads and stores), unit dims after the others,
  reductions last (a sequential loop inside each thread); an op without a parallel dim (a full reduction to a
  0-d result) gains a unit parallel dim, so that it too runs as a kernel;
- every buffer lives in device memory (`use_device_memory`): allocations and frees
  become `gpu.alloc`/`gpu.dealloc` (then views of one workspace), copies
  `gpu.memcpy`, and constants are copied from their host globals; the entry point's
  arguments are device memory, staged by the caller. `gpu-async-region` then chains
  all of it on one stream, waited on before the entry point returns.

No host code may touch device memory; `check_no_host_access` turns a leftover into
an error instead of a crash.
"""
from __future__ import annotations

from typing import Sequence

from mlir import ir
from mlir.dialects import arith, gpu, memref
from mlir.dialects import linalg as linalg_gen

from tfn.lowering.builders import product
from tfn.passes.ir_utils import find_ops

# Threads per block along the first two mapped dims of a parallel loop nest (x, y).
TILE_SIZES = (32, 8)
PARALLEL = "#linalg.iterator_type<parallel>"


# ---------------------------------------------------------------- loop order

def _iterators(op: ir.Operation) -> list[str]:
    return [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]


def _maps(op: ir.Operation) -> list[ir.AffineMap]:
    return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]


def _substitute(m: ir.AffineMap, num_dims: int, new_dim_of: Sequence[int]) -> list:
    """m's results with old dim i replaced by new dim new_dim_of[i]."""
    sub = ir.AffineMap.get(num_dims, 0, [ir.AffineDimExpr.get(d) for d in new_dim_of])
    return [e.compose(sub) for e in m.results]


def _rebuild_generic(op: ir.Operation, maps: list, iterators: list[str], outputs: list,
                     new_dim_of: Sequence[int]) -> None:
    n_in = len(op.operands) - len(outputs)
    with ir.InsertionPoint(op), op.location:
        new = linalg_gen.GenericOp([], list(op.operands)[:n_in], outputs,
                                   ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
                                   ir.ArrayAttr.get([ir.Attribute.parse(it) for it in iterators]))
    old_block = op.regions[0].blocks[0]
    block = new.regions[0].blocks.append(*[a.type for a in old_block.arguments])
    mapping = dict(zip(old_block.arguments, block.arguments))
    for inner in old_block.operations:
        inner = inner.operation
        cloned = inner.clone(ip=ir.InsertionPoint(block))
        for i, v in enumerate(inner.operands):
            if v in mapping:
                cloned.operands[i] = mapping[v]
        if cloned.name == "linalg.index":
            dim = ir.IntegerAttr(cloned.attributes["dim"]).value
            cloned.attributes["dim"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), new_dim_of[dim])
        for old_r, new_r in zip(inner.results, cloned.results):
            mapping[old_r] = new_r
    op.erase()


def _loop_extents(op: ir.Operation, maps: list[ir.AffineMap]) -> list[int]:
    """Trip count of each loop dim, read off the first operand dim it indexes plainly."""
    extents = [1] * maps[0].n_dims
    seen = set()
    for operand, m in zip(op.operands, maps):
        shape = ir.MemRefType(operand.type).shape
        for j, e in enumerate(m.results):
            try:
                d = ir.AffineDimExpr(e).position
            except (TypeError, ValueError):
                continue
            if d not in seen:
                seen.add(d)
                extents[d] = shape[j]
    return extents


def reorder_loops_for_gpu(module_op: ir.Operation) -> None:
    """Loop dims of every linalg.generic (on memrefs) in GPU order; see the module docstring."""
    for op in find_ops(module_op, "linalg.generic"):
        iterators = _iterators(op)
        n = len(iterators)
        parallel = [i for i, it in enumerate(iterators) if "parallel" in it]
        reduction = [i for i in range(n) if i not in parallel]
        maps = _maps(op)
        n_out = len(maps) - int(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])[0])
        if parallel:
            # Unit dims last: mapped to thread x they would leave a block one thread wide.
            extents = _loop_extents(op, maps)
            order = ([d for d in reversed(parallel) if extents[d] != 1] + [d for d in parallel if extents[d] == 1]
                     + reduction)
            if order == list(range(n)):
                continue
            new_dim_of = [order.index(i) for i in range(n)]
            new_maps = [ir.AffineMap.get(n, 0, _substitute(m, n, new_dim_of)) for m in maps]
            _rebuild_generic(op, new_maps, [iterators[i] for i in order],
                             list(op.operands)[len(op.operands) - n_out:], new_dim_of)
            continue
        # No parallel dim: a unit one in front, and the (0-d) outputs viewed as 1-element.
        outputs = list(op.operands)[len(op.operands) - n_out:]
        if any(list(ir.MemRefType(o.type).shape) for o in outputs):
            continue
        new_dim_of = [i + 1 for i in range(n)]
        new_maps = [ir.AffineMap.get(n + 1, 0, _substitute(m, n + 1, new_dim_of)) for m in maps[:-n_out]]
        new_maps += [ir.AffineMap.get(n + 1, 0, [ir.AffineDimExpr.get(0)]) for _ in range(n_out)]
        with ir.InsertionPoint(op), op.location:
            expanded = [memref.ExpandShapeOp(
                ir.MemRefType.get([1], ir.MemRefType(o.type).element_type), o, ir.ArrayAttr.get([]), [], [1]).result
                for o in outputs]
        _rebuild_generic(op, new_maps, [PARALLEL] + iterators, expanded, new_dim_of)


# ---------------------------------------------------------------- device memory

def _device_alloc(t: ir.MemRefType) -> ir.Value:
    return gpu.AllocOp(t, None, [], [], []).result


def _is_identity(t: ir.MemRefType) -> bool:
    try:
        return ir.AffineMapAttr(t.layout).value == ir.AffineMap.get_identity(len(t.shape))
    except ValueError:
        return False


def use_device_memory(module_op: ir.Operation) -> None:
    """Every buffer in device memory: the entry point's memref arguments are device
    pointers too (the caller stages numpy arrays in and out, or passes DeviceArrays)."""
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


HOST_MEMORY_OPS = ("memref.load", "memref.store", "memref.copy", "linalg.generic")


def check_no_host_access(module_op: ir.Operation) -> None:
    """Raises where host code (outside gpu.module) would dereference a device buffer."""
    found = []

    def visit(op):
        op = op.operation
        if op.name == "gpu.module":
            return ir.WalkResult.SKIP
        if op.name in HOST_MEMORY_OPS:
            found.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE
    module_op.walk(visit, ir.WalkOrder.PRE_ORDER)
    if found:
        err = NotImplementedError(f"the GPU lowering left '{found[0].name}' on the host, where it would "
                                  f"read device memory (at {found[0].location})")
        err.location = found[0].location
        raise err


def gpu_loops_pipeline() -> str:
    """Bufferized linalg (device memory) -> gpu.launch_func of outlined kernels on one stream."""
    tiles = ",".join(map(str, TILE_SIZES))
    return (
        "builtin.module("
        "func.func(convert-linalg-to-parallel-loops,"
        f"scf-parallel-loop-tiling{{parallel-loop-tile-sizes={tiles} no-min-max-bounds=true}},"
        "gpu-map-parallel-loops,convert-parallel-loops-to-gpu),"
        "gpu-kernel-outlining,func.func(gpu-async-region),lower-affine,convert-scf-to-cf)")


def gpu_to_llvm_pipeline(chip: str = "sm_90", bitcode_libraries: Sequence[str] = ()) -> str:
    """Kernels to PTX (JIT-compiled by the driver at load time), host code to LLVM.

    `bitcode_libraries` (libdevice) are linked into the kernels for f64 math calls.
    """
    link = "".join(f" l={path}" for path in bitcode_libraries)
    return ("builtin.module("
            f"nvvm-attach-target{{chip={chip} O=3{link}}},"
            f"gpu-lower-to-nvvm-pipeline{{cubin-format=isa cubin-chip={chip} cubin-features=+ptx80 opt-level=3}})")


def _entry_name(module_op: ir.Operation, entry: str | None) -> str:
    if entry:
        return entry
    names = [ir.StringAttr(f.attributes["sym_name"]).value for f in find_ops(module_op, "func.func")
             if "sym_visibility" not in f.attributes]
    if len(names) != 1:
        raise ValueError(f"name the entry function with entry=NAME (public functions: {names})")
    return names[0]


def _register() -> None:
    from tfn.passes.registry import register
    register("tfn-gpu-reorder-loops", "Loop order for GPUs: contiguous dim first, unit dims and reductions last")(
        reorder_loops_for_gpu)
    register("tfn-gpu-device-memory", "Buffers in device memory: gpu.alloc/dealloc/memcpy, constants uploaded")(
        use_device_memory)
    register("tfn-gpu-pool-allocations", "Every gpu.alloc of the entry function a view of one workspace argument")(
        lambda module_op, entry=None: pool_allocations(module_op, _entry_name(module_op, entry)))


_register()

