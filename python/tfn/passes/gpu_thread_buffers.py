"""Pass `tfn-gpu-thread-buffers`: what an `scf.forall` iteration allocates or copies stays in its thread.

On CUDA an `scf.forall` (the per-matrix loop of the linear algebra ops) becomes a kernel
with one thread per iteration, so its body is sequential code of one thread. Bufferization
gives an iteration a buffer of its own where it writes a tensor it does not own (a
private copy): a `memref.alloc` in the body, filled by a `memref.copy`. Left as they are,
`tfn-gpu-device-memory` would make that one device buffer that every thread shares, and
the copy a `gpu.memcpy` (a host op) or a linalg copy (a nested parallel loop). So:

- an allocation in the body becomes that iteration's slice of one buffer allocated before
  the loop (a `memref.view` at `iteration * size`, size rounded up to `SLICE_ALIGNMENT`
  bytes: the same type, in device memory like every buffer, no limit of the thread's
  stack), freed after the loop;
- a copy in the body becomes a loop nest of loads and stores.

```mlir
scf.forall (%i) in (8) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %src, %a : memref<4xf32, strided<[1], offset: ?>> to memref<4xf32>
  ...
  memref.dealloc %a : memref<4xf32>
}
// becomes
%all = memref.alloc() : memref<128xi8>
scf.forall (%i) in (8) {
  %at = arith.muli %i, %c16 : index
  %a = memref.view %all[%at][] : memref<128xi8> to memref<4xf32>
  scf.for %k = %c0 to %c4 step %c1 { memref.store (memref.load %src[%k]), %a[%k] }
  ...
}
memref.dealloc %all : memref<128xi8>
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, memref, scf

from tfn.lowering.builders import product
from tfn.passes.ir_utils import find_ops

NAME = "tfn-gpu-thread-buffers"
DESCRIPTION = "Buffers an scf.forall iteration allocates: its slice of one buffer; copies there: loops"

# Each iteration's slice starts at a multiple of this many bytes (any element type's alignment).
SLICE_ALIGNMENT = 16


def run(module_op: ir.Operation) -> None:
    for loop in find_ops(module_op, "scf.forall", payloads=False):
        _keep_in_thread(loop)


def _index(value: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), value).result


def _owned_by(op: ir.Operation, loop: ir.Operation) -> bool:
    """Whether `loop` is the innermost scf.forall around `op`."""
    parent = op.parent
    while parent is not None and parent.name != "scf.forall":
        parent = parent.parent
    return parent == loop


def _iteration(loop: ir.Operation) -> tuple[ir.Value, int]:
    """(the iteration's row-major number, the number of iterations) of a forall from 0 by 1."""
    lower = ir.DenseI64ArrayAttr(loop.attributes["staticLowerBound"])
    upper = ir.DenseI64ArrayAttr(loop.attributes["staticUpperBound"])
    step = ir.DenseI64ArrayAttr(loop.attributes["staticStep"])
    if any(v != 0 for v in lower) or any(v != 1 for v in step) or any(v < 0 for v in upper) \
            or len(loop.operands) != 0:
        raise NotImplementedError("tfn-gpu-thread-buffers: an scf.forall over static bounds from 0 by 1 expected")
    ivs = list(loop.regions[0].blocks[0].arguments)[:len(upper)]
    with ir.InsertionPoint.at_block_begin(loop.regions[0].blocks[0]), loop.location:
        number = ivs[0]
        for iv, size in zip(ivs[1:], list(upper)[1:]):
            number = arith.addi(arith.muli(number, _index(size)), iv)
    return number, product(list(upper))


def _keep_in_thread(loop: ir.Operation) -> None:
    body_ops = [op for op in find_ops(loop, ("memref.alloc", "memref.copy", "memref.dealloc"), payloads=False)
                if _owned_by(op, loop)]
    allocs, copies, deallocs = ([op for op in body_ops if op.name == name]
                                for name in ("memref.alloc", "memref.copy", "memref.dealloc"))
    for copy in copies:
        _copy_as_loops(copy)
    if not allocs:
        return
    number, count = _iteration(loop)
    private = {a.results[0] for a in allocs}
    for dealloc in deallocs:
        if dealloc.operands[0] in private:
            dealloc.erase()
    i8 = ir.IntegerType.get_signless(8)
    for alloc in allocs:
        t = ir.MemRefType(alloc.results[0].type)
        if not t.has_static_shape or len(alloc.operands) != 0:
            raise NotImplementedError(f"tfn-gpu-thread-buffers: a buffer of static shape expected, got {t}")
        size = product(t.shape) * max(1, t.element_type.width // 8)
        size = -(-size // SLICE_ALIGNMENT) * SLICE_ALIGNMENT
        with ir.InsertionPoint(loop), alloc.location:
            whole = memref.AllocOp(ir.MemRefType.get([size * count], i8), [], []).result
        with ir.InsertionPoint.after(loop), alloc.location:
            memref.DeallocOp(whole)
        with ir.InsertionPoint(alloc), alloc.location:
            view = memref.ViewOp(t, whole, arith.muli(number, _index(size)), []).result
        alloc.results[0].replace_all_uses_with(view)
        alloc.erase()


def _copy_as_loops(copy: ir.Operation) -> None:
    src, dst = copy.operands
    shape = ir.MemRefType(src.type).shape
    with ir.InsertionPoint(copy), copy.location:
        def nest(d, ivs):
            if d == len(shape):
                memref.StoreOp(memref.LoadOp(src, ivs).result, dst, ivs)
                return
            loop = scf.ForOp(_index(0), _index(shape[d]), _index(1))
            with ir.InsertionPoint(loop.body):
                nest(d + 1, ivs + [loop.induction_variable])
                scf.YieldOp([])
        nest(0, [])
    copy.erase()
