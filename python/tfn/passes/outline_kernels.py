"""Pass `tfn-outline-kernels`: every loop nest of a function becomes a call of a shared kernel.

After bufferization the CPU entry point is one long block of loop nests (linalg ops on
memrefs) between BLAS calls. Inlined into one LLVM function, its compile time grew
faster than linearly with its length (LLVM's passes and instruction selection are
superlinear in a function's size): an N-layer MLP gradient took 0.4 s to compile at
N = 4 and 28 s at N = 64. Here each top-level op with regions and no results (a linalg
op, a loop that calls nothing) moves into a private function of its own, called where
it was, and structurally identical functions (same printed body up to names) are one:
the N layers of a network then share one copy of each of their kernels, and LLVM
compiles a short entry function of calls plus a few kernels.

```mlir
func.func private @_tfn_entry_body(%x: memref<32x64xf32>, %s0: memref<8192xi8>, ...) {
  %a = memref.view %s0[%c0][] : memref<8192xi8> to memref<32x64xf32>
  linalg.generic {...} ins(%x : memref<32x64xf32>) outs(%a : memref<32x64xf32>) { ... }
// becomes
  call @__tfn_kernel_0(%x, %a) : (memref<32x64xf32>, memref<32x64xf32>) -> ()
}
func.func private @__tfn_kernel_0(%arg0: memref<32x64xf32> {llvm.noalias}, %arg1: memref<32x64xf32> {llvm.noalias})
    attributes {passthrough = ["noinline"], llvm.linkage = #llvm.linkage<internal>} {
  linalg.generic {...} ins(%arg0 : memref<32x64xf32>) outs(%arg1 : memref<32x64xf32>) { ... }
  return
}
```

- A kernel's arguments are the values its op uses from outside: memrefs with their
  types, scalars; scalar constants are cloned into the kernel instead. The CPU pipeline
  passes memrefs as bare pointers (`use-bare-ptr-memref-call-conv`: a static shape,
  strides and offset are in the type, so one pointer per buffer), so an op using a memref
  whose layout is not static stays where it is.
- `passthrough = ["noinline"]` keeps LLVM from inlining the kernels back.
- Aliasing: inlined, LLVM saw that two buffers were views at different constant offsets
  of one workspace, or distinct arguments; a kernel sees pointers only. A memref
  argument whose buffer (followed through views to an argument of the function or an
  allocation) is no other argument's buffer gets `llvm.noalias`; the workspace slots,
  the inputs (only read) and the outputs (never overlapping anything) are distinct
  buffers. The flags are part of what makes two kernels the same. Kernels that compute
  addresses themselves, or take a buffer made by an op not known to be a view or an
  allocation, get no flags.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import func

KERNEL_PREFIX = "__tfn_kernel_"
# Ops whose result is a view of their first operand's buffer.
_VIEWS = frozenset(("memref.view", "memref.subview", "memref.cast", "memref.reinterpret_cast",
                    "memref.expand_shape", "memref.collapse_shape", "memref.transpose"))
_ALLOCATIONS = frozenset(("memref.alloc", "memref.alloca", "memref.get_global"))
_LOOPS = frozenset(("scf.for", "scf.parallel", "scf.forall", "scf.while", "affine.for", "affine.parallel"))
# Inside a kernel, these make addresses that `noalias` could not account for.
_ADDRESS_OPS = ("func.call", "memref.extract_aligned_pointer_as_index", "llvm.")


def _op(owner) -> ir.Operation:
    return owner.operation if hasattr(owner, "operation") else owner


def _root(value: ir.Value):
    """The buffer `value` is a view of: a block argument or the op that allocated it; None
    when some op on the way is not known to be a view or an allocation."""
    while True:
        owner = value.owner
        if isinstance(owner, ir.Block):
            return value
        owner = _op(owner)
        if owner.name in _ALLOCATIONS:
            return owner
        if owner.name not in _VIEWS:
            return None
        value = owner.operands[0]


def passes_as_bare_pointer(t: ir.Type) -> bool:
    """Whether a function argument of type `t` converts under `use-bare-ptr-memref-call-conv`:
    not a memref, or one with a static shape and layout and no zero-size dim (2x0 fails)."""
    if not isinstance(t, ir.MemRefType):
        return True
    if not t.has_static_shape or 0 in t.shape:
        return False
    layout = t.layout
    if isinstance(layout, ir.StridedLayoutAttr):
        dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
        return layout.offset != dynamic and dynamic not in list(layout.strides)
    return isinstance(layout, ir.AffineMapAttr) and layout.value == ir.AffineMap.get_identity(t.rank)


class _Outliner:
    def __init__(self, module_op: ir.Operation):
        self.module_body = module_op.regions[0].blocks[0]
        self.taken = {ir.StringAttr(op.attributes["sym_name"]).value for op in self.module_body.operations
                      if "sym_name" in op.attributes}
        self.kernels: dict[str, str] = {}  # body text -> kernel name
        self.count = 0
        self.no_alias = ir.DictAttr.get({"llvm.noalias": ir.UnitAttr.get()})
        self.no_attrs = ir.DictAttr.get({})
        self.noinline = ir.ArrayAttr.get([ir.StringAttr.get("noinline")])
        self.private = ir.StringAttr.get("private")
        self.internal = ir.Attribute.parse("#llvm.linkage<internal>")

    def _name(self) -> str:
        while f"{KERNEL_PREFIX}{self.count}" in self.taken:
            self.count += 1
        name = f"{KERNEL_PREFIX}{self.count}"
        self.taken.add(name)
        return name

    def outline(self, op: ir.Operation, func_op: ir.Operation) -> bool:
        """Moves `op` into a kernel (a new one or an equal one made before); False if it cannot."""
        # The values the op uses from outside it, in order of first use.
        inner: list[ir.Operation] = []
        defined: set = set()
        addresses = False

        def visit(o):
            nonlocal addresses
            o = _op(o)
            inner.append(o)
            if o.name.startswith(_ADDRESS_OPS):
                addresses = True
            defined.update(o.results)
            for region in o.regions:
                for block in region.blocks:
                    defined.update(block.arguments)
            return ir.WalkResult.ADVANCE
        op.walk(visit)
        free: dict = {}
        for o in inner:
            for v in o.operands:
                if v not in defined and v not in free:
                    free[v] = None
        constants, arguments = [], []
        for v in free:
            owner = v.owner
            if not isinstance(owner, ir.Block) and _op(owner).name == "arith.constant" \
                    and not isinstance(v.type, ir.ShapedType):
                constants.append(v)
            else:
                arguments.append(v)

        # Which memref arguments are the only view of their buffer among the arguments.
        roots = {}
        for v in arguments:
            if isinstance(v.type, ir.MemRefType):
                r = _root(v)
                roots[r] = roots.get(r, 0) + 1
        known = None not in roots and not addresses
        flags = [known and isinstance(v.type, ir.MemRefType) and roots[_root(v)] == 1 for v in arguments]

        if not all(passes_as_bare_pointer(v.type) for v in arguments):
            return False

        with ir.InsertionPoint(op), op.location:
            call = func.CallOp([], ir.FlatSymbolRefAttr.get("__tfn_kernel"), arguments)

        # The kernel: constants cloned, the op moved in, its outside values replaced.
        name = self._name()
        with ir.InsertionPoint(func_op), ir.Location.unknown():
            kernel = func.FuncOp(name, ([v.type for v in arguments], []))
        kernel.attributes["sym_visibility"] = self.private
        kernel.attributes["passthrough"] = self.noinline
        kernel.attributes["llvm.linkage"] = self.internal
        if any(flags):
            kernel.attributes["arg_attrs"] = ir.ArrayAttr.get(
                [self.no_alias if f else self.no_attrs for f in flags])
        block = kernel.add_entry_block()
        replace = dict(zip(arguments, block.arguments))
        with ir.InsertionPoint(block), ir.Location.unknown():
            for v in constants:
                replace[v] = _op(v.owner).clone().results[0]
            ret = func.ReturnOp([])
        op.move_before(ret)
        for o in inner:
            operands = o.operands
            for i, v in enumerate(operands):
                new = replace.get(v)
                if new is not None:
                    operands[i] = new

        # One kernel per distinct body (and aliasing flags).
        text = kernel.operation.get_asm(use_local_scope=True, assume_verified=True).replace(f"@{name}", "@", 1)
        existing = self.kernels.get(text)
        if existing is None:
            self.kernels[text] = existing = name
        else:
            kernel.operation.erase()
            self.taken.discard(name)
        call.attributes["callee"] = ir.FlatSymbolRefAttr.get(existing)
        return True


def is_loop_nest(op: ir.Operation) -> bool:
    """A linalg op, or a loop that calls no function (a BLAS call per batch item stays)."""
    if len(op.results) or not len(op.regions):
        return False
    if op.name.startswith("linalg."):
        return True
    if op.name not in _LOOPS:
        return False
    calls = []

    def visit(o):
        if _op(o).name == "func.call":
            calls.append(o)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE
    op.walk(visit)
    return not calls


def outline_kernels(module_op: ir.Operation) -> tuple[int, int]:
    """Outlines the loop nests of every function of the module (see module doc); returns
    (loop nests outlined, distinct kernels made)."""
    module_op = _op(module_op)
    outliner = _Outliner(module_op)
    functions = [_op(f) for f in outliner.module_body.operations
                 if _op(f).name == "func.func" and len(f.regions[0].blocks)
                 and not ir.StringAttr(f.attributes["sym_name"]).value.startswith(KERNEL_PREFIX)]
    outlined = 0
    for func_op in functions:
        for op in list(func_op.regions[0].blocks[0].operations):
            op = _op(op)
            if is_loop_nest(op) and outliner.outline(op, func_op):
                outlined += 1
    return outlined, len(outliner.kernels)


NAME = "tfn-outline-kernels"
DESCRIPTION = "Move each loop nest into a private noinline function, one per distinct body"


def run(module_op: ir.Operation) -> dict:
    """Statistics: loop nests outlined (`kernels_before_dedup`), distinct kernels (`kernels`)."""
    outlined, kernels = outline_kernels(module_op)
    return {"kernels_before_dedup": outlined, "kernels": kernels}
