"""Pass `tfn-pool-host-allocations`: every buffer of the CPU entry point lives in one workspace.

Shapes are static, so after bufferization the temporaries of a call are a fixed set of
`memref.alloc`s. They move into one trailing `memref<Nxi8>` argument of the entry
function, which the caller allocates:

- allocation can fail in one place only, before any code runs: the jit allocates the
  workspace with numpy (a `MemoryError`), the AOT C wrapper mallocs it and returns
  `TFN_AOT_ERROR_OUT_OF_MEMORY`. Inside generated code a failed `malloc` would be
  a NULL pointer written through (a segfault), with no way to unwind;
- N is known when compiling, so a workspace larger than the machine is refused then.

Buffers whose lifetimes do not overlap share a *slot*: a buffer lives from its alloc to
the last op that uses it or anything derived from it (views, pointers, loop results), in
the entry block's order. Each slot is its own `noalias` argument of a private body
function that the entry calls with views of the workspace. Views of one `i8` argument
would leave LLVM unable to prove that two temporaries never overlap, and it then kept
loops that read one and write another scalar (a row softmax ran 7x slower); malloc'ed
buffers were known apart, and `noalias` slots are too.

```mlir
func.func @_tfn_entry(%x: memref<4x8xf32>, %ws: memref<1024xi8>) {
  %s0 = memref.view %ws[%c0][] : memref<1024xi8> to memref<128xi8>
  call @_tfn_entry_body(%x, %s0, ...) : ...
}
func.func private @_tfn_entry_body(%x: memref<4x8xf32>, %slot0: memref<128xi8> {llvm.noalias}, ...) {
  %a = memref.view %slot0[%c0][] : memref<128xi8> to memref<4x8xf32>   // was memref.alloc
  ...
}
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, memref

from tfn.lowering.builders import product

NAME = "tfn-pool-host-allocations"
DESCRIPTION = "Every allocation of the entry point a view of one workspace argument (size: tfn.workspace_bytes)"
# Offsets are multiples of this (the alignment bufferization asks of its allocations).
ALIGNMENT = 64
# The module attribute that says the workspace's size N (bytes) to whoever calls the entry point.
WORKSPACE_BYTES = "tfn.workspace_bytes"


def run(module_op: ir.Operation, entry: str = "_tfn_entry") -> None:
    """Pools the allocations of `entry`; records N as the module's `tfn.workspace_bytes`."""
    set_workspace_bytes(module_op, pool_host_allocations(module_op, entry))


def set_workspace_bytes(module_op: ir.Operation, n: int) -> None:
    module_op.attributes[WORKSPACE_BYTES] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), n)


def workspace_bytes(module_op: ir.Operation) -> int:
    """N of a module whose entry point was given a workspace (0: none)."""
    attributes = module_op.attributes
    return ir.IntegerAttr(attributes[WORKSPACE_BYTES]).value if WORKSPACE_BYTES in attributes else 0


def byte_size(t: ir.MemRefType) -> int:
    """Bytes of a static memref (i1 counted as a byte, as the LLVM lowering stores it)."""
    elem = t.element_type
    width = 64 if isinstance(elem, (ir.IndexType,)) else getattr(elem, "width", 64)
    return product(t.shape) * max(1, width // 8)


def _entry_block(module_op: ir.Operation, entry: str) -> tuple[ir.Operation, ir.Block]:
    for f in module_op.regions[0].blocks[0].operations:  # functions sit at the top level
        f = f.operation
        if f.name == "func.func" and ir.StringAttr(f.attributes["sym_name"]).value == entry:
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
    last = position[_top_level(alloc, func_op)]
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


_CARRIED_ACROSS_STEPS = ("scf.yield", "scf.condition")


def _iteration_local_allocs(top: ir.Operation) -> list[ir.Operation]:
    """The allocations nested in `top` (loop bodies, branches) whose buffers never leave the step
    that made them: a loop allocates them afresh each step, a slot can serve every step (it is
    held for the whole of `top`). A buffer a loop's yield carries to the next step stays an alloc."""
    found = []

    def visit(op):
        if op.name == "memref.alloc" and op != top and not _escapes_its_step(op):
            found.append(op)
        return ir.WalkResult.ADVANCE
    top.walk(visit)
    return found


def _escapes_its_step(alloc: ir.Operation) -> bool:
    seen, work = set(), [alloc.results[0]]
    while work:
        value = work.pop()
        for use in value.uses:
            owner = use.owner.operation if hasattr(use.owner, "operation") else use.owner
            if owner.name in _CARRIED_ACROSS_STEPS:
                parent = owner.parent.operation if hasattr(owner.parent, "operation") else owner.parent
                if parent.name in ("scf.for", "scf.while", "scf.parallel", "scf.forall"):
                    return True
                if parent not in seen:   # an scf.if's yield: its results carry the buffer on
                    seen.add(parent)
                    work.extend(parent.results)
            if owner not in seen and owner.name not in _CARRIED_ACROSS_STEPS:
                seen.add(owner)
                work.extend(r for r in owner.results if isinstance(r.type, ir.MemRefType))
    return False


def _assign_slots(lifetimes: list[tuple[int, int, int]]) -> tuple[list[int], list[int]]:
    """A slot for each (start, end, size) interval in order, reusing a slot whose last
    buffer is dead (the smallest that fits, else the largest, grown); returns
    (slot of each interval, size of each slot)."""
    sizes: list[int] = []
    free_after: list[int] = []
    chosen = []
    for start, end, size in lifetimes:
        free = [k for k in range(len(sizes)) if free_after[k] < start]
        fits = [k for k in free if sizes[k] >= size]
        if fits:
            k = min(fits, key=lambda k: sizes[k])
        elif free:
            k = max(free, key=lambda k: sizes[k])
            sizes[k] = size
        else:
            k = len(sizes)
            sizes.append(size)
            free_after.append(end)
        free_after[k] = end
        chosen.append(k)
    return chosen, sizes


def _aligned(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


def pool_host_allocations(module_op: ir.Operation, entry: str) -> int:
    """Rewrites the allocations of `entry`'s body as views of a new trailing `memref<Nxi8>`
    argument; returns N (0, and no new argument, when there is nothing to pool).

    Allocations in nested regions (loop bodies, branches) are pooled too when their buffer
    never leaves the step that allocates it: one slot, held for the whole loop, serves every
    step (no malloc per step). Those a loop carries to its next step, those of other functions
    and dynamic shapes are left as they are.
    """
    func_op, block = _entry_block(module_op, entry)
    position = {op.operation: i for i, op in enumerate(block.operations)}
    allocs = []
    for top in block.operations:
        top = top.operation
        if top.name == "memref.alloc":
            allocs.append(top)
        elif len(top.regions):
            allocs += _iteration_local_allocs(top)
    allocs = [a for a in allocs if ir.MemRefType(a.results[0].type).has_static_shape and not len(a.operands)]
    if not allocs:
        return 0
    lifetimes = [(position[_top_level(a, func_op)], _last_use(a, func_op, position),
                  byte_size(ir.MemRefType(a.results[0].type))) for a in allocs]
    slot_of, slot_sizes = _assign_slots(lifetimes)
    slot_sizes = [_aligned(max(n, 1)) for n in slot_sizes]
    offsets = [sum(slot_sizes[:k]) for k in range(len(slot_sizes))]
    total = sum(slot_sizes)
    if total >= 1 << 63:  # not even addressable: a memref type could not say it
        from tfn.runtime.errors import format_bytes
        raise MemoryError(f"a call needs {format_bytes(total)} of temporaries, more than any machine's memory")
    i8 = ir.IntegerType.get_signless(8)
    index = ir.IndexType.get()
    slot_types = [ir.MemRefType.get([n], i8) for n in slot_sizes]
    ftype = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    inputs, results = list(ftype.inputs), list(ftype.results)

    # The body moves into a private function whose slot arguments are noalias.
    with ir.InsertionPoint(func_op), func_op.location:
        body_fn = func.FuncOp(f"{entry}_body", (inputs + slot_types, results))
    body_fn.attributes["sym_visibility"] = ir.StringAttr.get("private")
    no_alias = ir.DictAttr.get({"llvm.noalias": ir.UnitAttr.get()})
    body_fn.attributes["arg_attrs"] = ir.ArrayAttr.get(
        [ir.DictAttr.get({})] * len(inputs) + [no_alias] * len(slot_types))
    body = body_fn.add_entry_block()
    with ir.InsertionPoint(body), ir.Location.unknown():
        anchor = arith.ConstantOp(index, 0)
    for op in list(block.operations):
        op.operation.move_before(anchor)
    for old, new in zip(block.arguments, body.arguments):
        old.replace_all_uses_with(new)
    with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
        zero = arith.ConstantOp(index, 0).result   # one offset for every view
    for alloc, k in zip(allocs, slot_of):
        with ir.InsertionPoint(alloc), alloc.location:
            view = memref.ViewOp(alloc.results[0].type, body.arguments[len(inputs) + k], zero, []).result
        alloc.results[0].replace_all_uses_with(view)
        alloc.erase()
    anchor.operation.erase()

    # The entry: views of the workspace for the slots, the call, its results returned.
    workspace = block.add_argument(ir.MemRefType.get([total], i8), ir.Location.unknown())
    func_op.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get(inputs + [workspace.type], results))
    with ir.InsertionPoint(block), func_op.location:
        slots = [memref.ViewOp(t, workspace, arith.ConstantOp(index, o).result, []).result
                 for t, o in zip(slot_types, offsets)]
        call = func.CallOp(results, ir.FlatSymbolRefAttr.get(body_fn.name.value),
                           list(block.arguments)[:len(inputs)] + slots)
        func.ReturnOp(list(call.results))
    return total
