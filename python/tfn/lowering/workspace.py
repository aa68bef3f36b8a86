"""Pass `tfn-pool-host-allocations`: every buffer of the CPU entry point is a view of one workspace.

Shapes are static, so after bufferization the temporaries of a call are a fixed set of
`memref.alloc`s. They become `memref.view`s at fixed offsets of one trailing
`memref<Nxi8>` argument of the entry function, which the caller allocates:

- allocation can fail in one place only, before any code runs: the jit allocates the
  workspace with numpy (a `MemoryError`), the AOT C wrapper mallocs it and returns
  `TFN_AOT_ERROR_OUT_OF_MEMORY`. Inside generated code a failed `malloc` would be
  a NULL pointer written through (a segfault), with no way to unwind;
- N is known when compiling, so a workspace larger than the machine is refused then.

Buffers whose lifetimes do not overlap share space: a buffer lives from its alloc to the
last op that uses it or anything derived from it (views, pointers, loop results), in the
entry block's order; offsets are assigned first-fit in that order.

```mlir
%a = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// becomes (%ws: memref<1024xi8>, a new last argument)
%a = memref.view %ws[%c256][] : memref<1024xi8> to memref<4x8xf32>
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, memref

from tfn.lowering.builders import product
from tfn.transforms.ir_utils import find_ops

# Offsets are multiples of this (the alignment bufferization asks of its allocations).
ALIGNMENT = 64


def byte_size(t: ir.MemRefType) -> int:
    """Bytes of a static memref (i1 counted as a byte, as the LLVM lowering stores it)."""
    elem = t.element_type
    width = 64 if isinstance(elem, (ir.IndexType,)) else getattr(elem, "width", 64)
    return product(t.shape) * max(1, width // 8)


def _entry_block(module_op: ir.Operation, entry: str) -> tuple[ir.Operation, ir.Block]:
    for f in find_ops(module_op, "func.func"):
        if ir.StringAttr(f.attributes["sym_name"]).value == entry:
            return f, f.regions[0].blocks[0]
    raise ValueError(f"no function '{entry}' to pool the allocations of")


def _top_level(op: ir.Operation, func_op: ir.Operation) -> ir.Operation | None:
    """The ancestor of `op` that sits directly in `func_op`'s body (or None if outside it)."""
    while True:
        parent = op.parent
        if parent is None:
            return None
        parent = parent.operation if hasattr(parent, "operation") else parent
        if parent == func_op:
            return op
        op = parent


def _last_use(alloc: ir.Operation, func_op: ir.Operation, position: dict) -> int:
    """Index in the entry block of the last op that uses `alloc`'s buffer, directly or through
    any value computed from it (conservative: every result of every user and its ancestors)."""
    last = position[alloc]
    seen, work = set(), [alloc.results[0]]
    while work:
        value = work.pop()
        for use in value.uses:
            owner = use.owner.operation if hasattr(use.owner, "operation") else use.owner
            top = _top_level(owner, func_op)
            if top is None:
                continue
            last = max(last, position[top])
            op = owner
            while True:  # the user's results and those of the ops around it may carry the buffer on
                if op not in seen:
                    seen.add(op)
                    work.extend(op.results)
                if op == top:
                    break
                op = op.parent.operation if hasattr(op.parent, "operation") else op.parent
    return last


def _first_fit(lifetimes: list[tuple[int, int, int]]) -> tuple[list[int], int]:
    """Offsets for (start, end, size) intervals in order, sharing space where lifetimes are
    disjoint; returns (offsets, total bytes)."""
    placed: list[tuple[int, int, int, int]] = []   # (start, end, offset, size)
    offsets, total = [], 0
    for start, end, size in lifetimes:
        busy = sorted((o, o + s) for a, b, o, s in placed if a <= end and start <= b and s)
        offset = 0
        for lo, hi in busy:
            if offset + size <= lo:
                break
            offset = max(offset, -(-hi // ALIGNMENT) * ALIGNMENT)
        placed.append((start, end, offset, size))
        offsets.append(offset)
        total = max(total, offset + size)
    return offsets, total


def pool_host_allocations(module_op: ir.Operation, entry: str) -> int:
    """Rewrites the allocations of `entry`'s body as views of a new trailing `memref<Nxi8>`
    argument; returns N (0, and no new argument, when there is nothing to pool).

    Allocations anywhere else (a nested region, another function, a dynamic shape) are
    left as they are; after inlining the CPU pipeline produces none.
    """
    func_op, block = _entry_block(module_op, entry)
    allocs = [op for op in block.operations if op.operation.name == "memref.alloc"]
    allocs = [a.operation for a in allocs if ir.MemRefType(a.results[0].type).has_static_shape
              and not len(a.operands)]
    if not allocs:
        return 0
    position = {op.operation: i for i, op in enumerate(block.operations)}
    lifetimes = [(position[a], _last_use(a, func_op, position), byte_size(ir.MemRefType(a.results[0].type)))
                 for a in allocs]
    offsets, total = _first_fit(lifetimes)
    if total >= 1 << 63:  # not even addressable: a memref type could not say it
        from tfn.runtime.errors import format_bytes
        raise MemoryError(f"a call needs {format_bytes(total)} of temporaries, more than any machine's memory")
    total = max(total, 1)
    i8 = ir.IntegerType.get_signless(8)
    workspace = block.add_argument(ir.MemRefType.get([total], i8), ir.Location.unknown())
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
    return total
