"""CPU compilation and in-process execution through MLIR's ExecutionEngine.

The entry point takes every input and output as a memref: inputs are read in
place from the numpy buffers (`bufferization.to_tensor ... restrict`), results
are written straight into numpy arrays allocated by the caller
(`materialize_in_destination`), so no memory crosses the boundary with an owner
to track.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import numpy as np
from mlir import ir
from mlir.dialects import arith, bufferization, func
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager

from tfn.lowering import pipelines
from tfn.lowering.contraction import fold_transposed_matmuls
from tfn.lowering.copies import lower_strided_copies
from tfn.lowering.blas import linalg_to_blas, private_zero_inits
from tfn.lowering.builders import elementwise
from tfn.lowering.fastmath import relax_reductions
from tfn.lowering.math_approx import approximate_math
from tfn.lowering.outline import allow_inlining, outline_for_fusion
from tfn.lowering.outline_kernels import is_loop_nest, outline_kernels, passes_as_bare_pointer
from tfn.lowering.destinations import drop_self_copies, split_empty_tensors, write_into_results
from tfn.lowering.loop_hints import disable_unrolling
from tfn.lowering.to_linalg import lower_to_linalg
from tfn.lowering.workspace import ALIGNMENT, pool_host_allocations
from tfn.runtime import blas as blas_runtime
from tfn.runtime.errors import format_bytes, physical_memory
from tfn.runtime.memref import make_descriptor

ENTRY = "_tfn_entry"
# A workspace up to this size is allocated once per compiled function and kept; a larger
# one is allocated for each call and freed after it, so what a cached function holds
# between calls stays small.
KEEP_WORKSPACE_BYTES = 4 << 20


def add_entry_wrapper(module: ir.Module, callee: str) -> None:
    """Adds `func @_tfn_entry(inputs..., outputs...)` (memrefs, C interface) calling `callee`."""
    target = None
    for op in module.body.operations:
        if op.operation.name == "func.func":
            if ir.StringAttr(op.attributes["sym_name"]).value == callee:
                target = op
            else:
                op.attributes["sym_visibility"] = ir.StringAttr.get("private")
    ftype = ir.FunctionType(ir.TypeAttr(target.attributes["function_type"]).value)
    target.attributes["sym_visibility"] = ir.StringAttr.get("private")

    i1, i8 = ir.IntegerType.get_signless(1), ir.IntegerType.get_signless(8)

    def boundary(t):
        # numpy bools are bytes; i1 memrefs cannot be loaded or stored by the LLVM lowering.
        t = ir.RankedTensorType(t)
        return ir.RankedTensorType.get(list(t.shape), i8 if t.element_type == i1 else t.element_type)

    def memref(t):
        t = boundary(t)
        return ir.MemRefType.get(list(t.shape), t.element_type)
    in_types = [memref(t) for t in ftype.inputs]
    out_types = [memref(t) for t in ftype.results]
    with ir.InsertionPoint(module.body), ir.Location.unknown():
        entry = func.FuncOp(ENTRY, (in_types + out_types, []))
        entry.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        block = entry.add_entry_block()
        with ir.InsertionPoint(block):
            tensors = []
            for t, a in zip(ftype.inputs, block.arguments[:len(in_types)]):
                v = bufferization.ToTensorOp(boundary(t), a, restrict=True).result
                if ir.RankedTensorType(t).element_type == i1:
                    v = elementwise([v], i1, lambda x: arith.trunci(i1, x))
                tensors.append(v)
            call = func.CallOp(list(ftype.results), ir.FlatSymbolRefAttr.get(callee), tensors)
            for result, out in zip(call.results, block.arguments[len(in_types):]):
                if ir.RankedTensorType(result.type).element_type == i1:
                    result = elementwise([result], i8, lambda x: arith.extui(i8, x))
                bufferization.MaterializeInDestinationOp(None, result, out, restrict=True, writable=True)
            func.ReturnOp([])


class StageClock:
    """Seconds per compile stage, added into `stats[name]` by `lap(name)` (time since the last lap)."""

    def __init__(self, stats: dict):
        self.stats = stats
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stats[name] = self.stats.get(name, 0.0) + (now - self._last)
        self._last = now

    def keeper(self, module: ir.Module, stages: dict, keep_stages: bool):
        """`keep(name)`: stores the module's text as stage `name` when `keep_stages`, right
        after a lap, so that the printing is timed on its own ("print_stages")."""
        def keep(name: str) -> None:
            if keep_stages:
                stages[name] = str(module)
                self.lap("print_stages")
        return keep


def lower_for_cpu(module: ir.Module, entry: str, use_blas: bool | None = None, keep_stages: bool = True,
                  stats: dict | None = None) -> dict:
    """Lowers a tfn module in place to the LLVM dialect; returns the text of each stage.

    `use_blas` (default: whether a BLAS could be loaded into this process) turns large
    f32/f64 contractions into calls of that BLAS; code meant to run elsewhere passes False.
    The entry point's temporaries are views of one workspace, a trailing `memref<Nxi8>`
    argument that the caller allocates; `stages["host_workspace_bytes"]` is N (0: no
    such argument). See `tfn.lowering.workspace`.

    With `keep_stages=False` no IR is printed: the result holds the numbers only. `stats`,
    when given, receives the seconds of each stage and the sizes of the program
    (see `COMPILE_STAGES`).
    """
    if use_blas is None:
        use_blas = blas_runtime.available()
    stats = {} if stats is None else stats
    clock = StageClock(stats)
    stages: dict = {}
    keep = clock.keeper(module, stages, keep_stages)

    keep("tfn")
    lower_to_linalg(module.operation)
    add_entry_wrapper(module, entry)
    clock.lap("to_linalg")
    outline_for_fusion(module.operation)
    PassManager.parse(f"builtin.module({pipelines.LINALG_CLEANUP})").run(module.operation)
    if allow_inlining(module.operation):
        PassManager.parse(f"builtin.module({pipelines.INLINE_OUTLINED})").run(module.operation)
    fold_transposed_matmuls(module.operation)
    relax_reductions(module.operation)
    clock.lap("linalg_cleanup")
    keep("linalg")
    approximate_math(module.operation)
    private_zero_inits(module.operation)
    split_empty_tensors(module.operation)
    write_into_results(module.operation)
    PassManager.parse(f"builtin.module({pipelines.CPU_BUFFERIZE})").run(module.operation)
    drop_self_copies(module.operation)
    clock.lap("bufferize")
    if use_blas:
        linalg_to_blas(module.operation)
    lower_strided_copies(module.operation)
    stages["host_workspace_bytes"] = pool_host_allocations(module.operation, ENTRY)
    clock.lap("blas_workspace")
    stats["kernels_before_dedup"], stats["kernels"] = outline_kernels(module.operation)
    clock.lap("outline_kernels")
    keep("buffers")
    bare = stages["bare_pointers"] = all(passes_as_bare_pointer(t) for t in _signature_types(module))
    internal_linkage(module, ENTRY if bare else None)
    glue_without_optimization(module, f"{ENTRY}_body")
    to_llvm = pipelines.CPU_BUFFERS_TO_LLVM if bare else pipelines.CPU_BUFFERS_TO_LLVM_DESCRIPTORS
    PassManager.parse(f"builtin.module({to_llvm})").run(module.operation)
    disable_unrolling(module.operation)
    stats["llvm_ops"] = count_ops(module)
    clock.lap("to_llvm")
    keep("llvm")
    return stages


def _signature_types(module: ir.Module):
    for op in module.body.operations:
        if op.operation.name == "func.func":
            yield from ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value).inputs


def internal_linkage(module: ir.Module, keep: str | None) -> None:
    """Gives every function defined in the module but `keep` internal linkage in LLVM.

    The ExecutionEngine then makes no packed wrapper for them, and LLVM may change their
    signatures (drop unused arguments) and delete them once inlined. (With descriptors,
    the entry point is called through its `_mlir_ciface_` wrapper and is internal too.)
    """
    internal = ir.Attribute.parse("#llvm.linkage<internal>")
    for op in module.body.operations:
        if op.operation.name == "func.func" and len(op.regions[0].blocks) and \
                ir.StringAttr(op.attributes["sym_name"]).value != keep:
            op.attributes["llvm.linkage"] = internal


def glue_without_optimization(module: ir.Module, name: str) -> bool:
    """Marks function `name` (the entry's body: views, calls of kernels and BLAS) `optnone`,
    unless a loop nest was left in it; returns whether it did.

    Once the loop nests are kernels, the body is straight-line glue whose length grows
    with the program; LLVM's O3 passes and instruction selection cost more on it than on
    all the kernels, for code that runs for nanoseconds per call.
    """
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == name:
            if any(is_loop_nest(inner.operation) for inner in op.regions[0].blocks[0].operations):
                return False
            op.attributes["passthrough"] = ir.ArrayAttr.get([ir.StringAttr.get("noinline"),
                                                             ir.StringAttr.get("optnone")])
            return True
    return False


# The keys of `compile_stats`: seconds per stage, in order, then sizes.
COMPILE_STAGES = ("to_linalg", "linalg_cleanup", "bufferize", "blas_workspace", "outline_kernels", "to_llvm",
                  "print_stages", "llvm_opt", "llvm_codegen")
COMPILE_SIZES = ("kernels_before_dedup", "kernels", "llvm_ops")


def count_ops(module: ir.Module) -> int:
    """Ops in the bodies of a module's functions, one level deep (all of them in the LLVM dialect)."""
    n = 0
    for op in module.body.operations:
        for region in op.regions:
            for block in region.blocks:
                n += len(block.operations)
    return n


def report_compile_stats(name: str, stats: dict, file=None) -> None:
    """Prints `stats` (see COMPILE_STAGES) as one line per stage, each naming the function."""
    file = sys.stderr if file is None else file
    total = 0.0
    stages = [k for k in COMPILE_STAGES if k in stats]
    stages += [k for k, v in stats.items() if isinstance(v, float) and k not in COMPILE_STAGES]
    for key in stages:
        if key in stats:
            total += stats[key]
            print(f"tfn compile {name}: {key:<16}{stats[key] * 1e3:9.1f} ms", file=file)
    print(f"tfn compile {name}: {'total':<16}{total * 1e3:9.1f} ms", file=file)
    sizes = ", ".join(f"{key} {stats[key]}" for key in COMPILE_SIZES if key in stats)
    if sizes:
        print(f"tfn compile {name}: {sizes}", file=file)


def _data_pointer_reader():
    """A fast `array -> data address` for numpy arrays, or None where it can't be trusted.

    `a.ctypes.data` and `a.__array_interface__` cost 1.5-2 us each; the data pointer is
    the first field after the object header of every ndarray (numpy's ABI), so it is read
    straight from the object. Checked once against `a.ctypes.data`.
    """
    offset = object.__basicsize__  # refcount + type pointer
    read = ctypes.c_void_p.from_address
    probes = [np.zeros(3, np.float32), np.arange(6.0)[::2].copy(), np.empty((2, 0))]
    try:
        if all((read(id(a) + offset).value or 0) == a.ctypes.data for a in probes):
            return lambda a: read(id(a) + offset).value or 0
    except (ValueError, OSError):  # pragma: no cover - exotic interpreters
        pass
    return None


_POINTER = _data_pointer_reader()


def _pointer(a: np.ndarray) -> int:
    return _POINTER(a) if _POINTER is not None else a.ctypes.data


class CpuExecutable:
    """A compiled function: call it with numpy arrays of the traced shapes and dtypes.

    All memref descriptors live in one int64 buffer laid out once; a call writes only
    the data pointers of its arrays into it (inputs already C-contiguous with the
    right dtype are used as they are) and allocates the outputs with numpy.
    """

    def __init__(self, module: ir.Module, entry: str, opt_level: int = 3, keep_stages: bool = True):
        ftype = None
        for op in module.body.operations:
            if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == entry:
                ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
        self.in_specs = [(tuple(ir.RankedTensorType(t).shape), _np_dtype(t)) for t in ftype.inputs]
        self.out_specs = [(tuple(ir.RankedTensorType(t).shape), _np_dtype(t)) for t in ftype.results]
        self.name = _source_name(module, entry)
        # Seconds per stage and sizes (COMPILE_STAGES, COMPILE_SIZES); tracing is timed by the caller.
        self.compile_stats: dict = {}
        self.stages = self._lower(module, entry, keep_stages)
        self._workspace_bytes = self.stages.get("host_workspace_bytes", 0)
        self._call_bytes = check_memory(self._workspace_bytes, self.out_specs)
        self.bare_pointers = bool(self.stages.get("bare_pointers", False))
        clock = StageClock(self.compile_stats)
        self.engine = self._make_engine(module, opt_level)
        clock.lap("llvm_opt")
        self._function = self._entry_function()
        clock.lap("llvm_codegen")
        if os.environ.get("TFN_COMPILE_TIMINGS", "") not in ("", "0"):
            report_compile_stats(self.name, self.compile_stats)
        # Trailing arguments the target adds itself (a device workspace): set once, never by callers.
        self.extra_specs: list = getattr(self, "extra_specs", [])
        specs = self.in_specs + self.out_specs + self.extra_specs
        n = len(specs)
        offsets, words = [], 0
        for shape, _ in specs:
            offsets.append(words)
            words += 3 + 2 * len(shape)
        self._descriptors = (ctypes.c_int64 * max(words, 1))()
        for off, (shape, _) in zip(offsets, specs):
            desc = make_descriptor(shape)
            ctypes.memmove(ctypes.addressof(self._descriptors) + 8 * off, ctypes.addressof(desc),
                           ctypes.sizeof(desc))
        base = ctypes.addressof(self._descriptors)
        if self.bare_pointers:  # argument i is the data pointer at the start of descriptor i
            self._packed = (ctypes.c_void_p * max(n, 1))(*[base + 8 * off for off in offsets])
        else:  # argument i is a pointer to descriptor i
            self._holders = (ctypes.c_void_p * max(n, 1))(*[base + 8 * off for off in offsets])
            self._packed = (ctypes.c_void_p * max(n, 1))(
                *[ctypes.addressof(self._holders) + 8 * i for i in range(n)])
        words_view = memoryview(self._descriptors).cast("B").cast("q")
        self._words = words_view
        self._inputs = [(off, shape, dtype) for off, (shape, dtype) in zip(offsets, self.in_specs)]
        self._outputs = [(off, shape, dtype) for off, (shape, dtype) in zip(offsets[len(self.in_specs):], self.out_specs)]
        self._extra_offsets = offsets[len(self.in_specs) + len(self.out_specs):]
        self._lock = threading.Lock()
        # A large workspace is allocated per call (see _call), a small one kept.
        self._workspace_per_call = self._workspace_bytes > KEEP_WORKSPACE_BYTES
        if 0 < self._workspace_bytes <= KEEP_WORKSPACE_BYTES:
            self._workspace = _aligned_buffer(self._workspace_bytes)
            self.set_extra_pointer(0, _pointer(self._workspace))

    def set_extra_pointer(self, k: int, address: int) -> None:
        """Points trailing argument k (see extra_specs) at `address` for every later call."""
        off = self._extra_offsets[k]
        self._words[off] = self._words[off + 1] = address

    # Whether the entry point takes each array as a bare data pointer (stages["bare_pointers"],
    # see pipelines.CPU_BUFFERS_TO_LLVM), called through the ExecutionEngine's packed
    # wrapper, or as a memref descriptor through the `_mlir_ciface_` wrapper that
    # `llvm.emit_c_interface` makes.
    bare_pointers = False

    def _entry_function(self):
        if not self.bare_pointers:
            return self.engine.lookup(ENTRY)
        address = self.engine.raw_lookup(ENTRY)
        if not address:
            raise RuntimeError(f"the compiled module has no function {ENTRY}")
        return ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)

    # Targets other than the host CPU override these two.
    def _lower(self, module: ir.Module, entry: str, keep_stages: bool = True) -> dict:
        stages = lower_for_cpu(module, entry, keep_stages=keep_stages, stats=self.compile_stats)
        n = stages["host_workspace_bytes"]
        self.extra_specs = [((n,), np.dtype(np.uint8))] if n else []
        return stages

    def _make_engine(self, module: ir.Module, opt_level: int) -> ExecutionEngine:
        return ExecutionEngine(module, opt_level=opt_level)

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        # The descriptors are shared by all calls: one call at a time per executable.
        with self._lock:
            return self._call(arrays)

    def _call(self, arrays) -> list[np.ndarray]:
        if len(arrays) != len(self._inputs):
            raise TypeError(f"expected {len(self._inputs)} arrays, got {len(arrays)}")
        words = self._words
        keep = []
        for (off, shape, dtype), a in zip(self._inputs, arrays):
            if type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
                a = np.asarray(a, dtype=dtype, order="C")  # keeps 0-d (ascontiguousarray would not)
                keep.append(a)
            if a.shape != shape:
                raise ValueError(f"expected an array of shape {shape}, got {a.shape}")
            words[off] = words[off + 1] = _pointer(a)
        outs = []
        try:
            for off, shape, dtype in self._outputs:
                out = np.empty(shape, dtype)
                words[off] = words[off + 1] = _pointer(out)
                outs.append(out)
            if self._workspace_per_call:
                keep.append(_aligned_buffer(self._workspace_bytes))
                self.set_extra_pointer(0, _pointer(keep[-1]))
        except MemoryError:
            raise MemoryError(f"{self.name}: cannot allocate the {format_bytes(self._call_bytes)} that a call needs "
                              f"(results and temporaries)") from None
        self._function(self._packed)
        return outs


def _nbytes(shape, dtype) -> int:
    n = np.dtype(dtype).itemsize
    for d in shape:
        n *= int(d)
    return n


def _aligned_buffer(nbytes: int) -> np.ndarray:
    """A uint8 array of `nbytes` whose data starts at a multiple of ALIGNMENT."""
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    skip = -raw.ctypes.data % ALIGNMENT
    return raw[skip:skip + nbytes]


def _source_name(module: ir.Module, entry: str) -> str:
    """The user's name of function `entry` (attribute `tfn.source_name`), else `entry`."""
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == entry:
            if "tfn.source_name" in op.attributes:
                return ir.StringAttr(op.attributes["tfn.source_name"]).value
    return entry


def check_memory(workspace_bytes: int, out_specs) -> int:
    """The bytes one call allocates (results and workspace); raises MemoryError when that is
    more memory than this machine has.

    Shapes are static, so what a call allocates (its results and its workspace) is known
    when compiling; refusing then beats an allocation failure, or the OOM killer, later.
    """
    total = physical_memory()
    needed = workspace_bytes + sum(_nbytes(shape, dtype) for shape, dtype in out_specs)
    if total is not None and needed > total:
        largest = max(out_specs, key=lambda s: _nbytes(*s), default=None)
        detail = f" (largest result {np.dtype(largest[1]).name}{list(largest[0])})" if largest else ""
        raise MemoryError(f"a call needs {format_bytes(needed)} of memory: {format_bytes(workspace_bytes)} "
                          f"of temporaries and {format_bytes(needed - workspace_bytes)} of results{detail}, "
                          f"more than this machine's {format_bytes(total)}")
    return needed


def _np_dtype(t: ir.Type) -> np.dtype:
    from tfn.dialect.types import to_dtype
    return to_dtype(ir.RankedTensorType(t).element_type)
