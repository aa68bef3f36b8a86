"""Pass `tfn-gpu-reorder-loops`: loops of every linalg op in the order that suits a GPU.

After bufferization the CUDA pipeline makes the program GPU-shaped (the passes `tfn-gpu-*`):

- what an `scf.forall` iteration (one GPU thread: the linear algebra ops' loop per matrix)
  allocates is its slice of one buffer, and what it copies it copies in loops
  (`tfn-gpu-thread-buffers`);
- a scalar the host reads (a loop predicate, a switch index) is copied from device memory
  into a host stack buffer (`tfn-gpu-host-reads`);
- every linalg op gets loops that suit a GPU (this pass): parallel
  dims first, the innermost memory dim first of all so that `thread x` walks
  contiguous addresses (coalesced loads and stores), unit dims after the others,
  reductions last (a sequential loop inside each thread); an op without a parallel dim (a full reduction to a
  0-d result) gains a unit parallel dim, so that it too runs as a kernel;
- every buffer lives in device memory (`tfn-gpu-device-memory`): allocations and frees
  become `gpu.alloc`/`gpu.dealloc` (then views of one workspace), copies
  `gpu.memcpy`, and constants are copied from their host globals; the entry point's
  arguments are device memory, staged by the caller. `gpu-async-region` then chains
  all of it on one stream, waited on before the entry point returns; the buffers are
  views of one workspace (`tfn-gpu-pool-allocations`).

No host code may touch device memory; `tfn-gpu-check-host-access` turns a leftover
into an error instead of a crash.
"""
from __future__ import annotations

from typing import Sequence

from mlir import ir
from mlir.dialects import memref
from mlir.dialects import linalg as linalg_gen

from tfn.passes.ir_utils import find_ops

NAME = "tfn-gpu-reorder-loops"
DESCRIPTION = "Loop order for GPUs: contiguous dim first, unit dims and reductions last"
PARALLEL = "#linalg.iterator_type<parallel>"


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


def _one_element(t: ir.MemRefType) -> ir.MemRefType:
    """The type of 0-d `t` expanded to one element: a view at an offset (a scan's slice of
    its xs, a write into a row of its ys) keeps the offset."""
    _, offset = t.get_strides_and_offset()
    layout = None if offset == 0 else ir.StridedLayoutAttr.get(offset, [1])
    return ir.MemRefType.get([1], t.element_type, layout, t.memory_space)


def run(module_op: ir.Operation) -> None:
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
            expanded = [memref.ExpandShapeOp(_one_element(ir.MemRefType(o.type)), o, ir.ArrayAttr.get([]), [],
                                             [1]).result for o in outputs]
        _rebuild_generic(op, new_maps, [PARALLEL] + iterators, expanded, new_dim_of)
