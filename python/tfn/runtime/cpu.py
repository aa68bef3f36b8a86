"""In-process execution on the CPU through MLIR's ExecutionEngine.

A module is lowered by `tfn.lowering.driver.lower_for_cpu`; its entry point takes every
input and output as a memref: inputs are read in place from the numpy buffers, results
are written straight into numpy arrays allocated by the caller, so no memory crosses
the boundary with an owner to track.
"""
from __future__ import annotations

import ctypes
import os
import threading
import numpy as np
from mlir import ir
from mlir.execution_engine import ExecutionEngine

from tfn.lowering.driver import StageClock, lower_for_cpu, report_compile_stats
from tfn.passes.pipelines import ENTRY
from tfn.passes.pool_host_allocations import ALIGNMENT
from tfn.runtime import blas as blas_runtime
from tfn.runtime.errors import format_bytes, physical_memory
from tfn.runtime.memref import make_descriptor

# A workspace up to this size is allocated once per compiled function and kept; a larger
# one is allocated for each call and freed after it, so what a cached function holds
# between calls stays small.
KEEP_WORKSPACE_BYTES = 4 << 20


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
        # The pass pipeline that lowered the module (tfn.passes.pipelines), replayable with tfn-opt.
        self.pipeline: str = self.stages.pop("pipeline")
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
    # see tfn.passes.pipelines.cpu_stages), called through the ExecutionEngine's packed
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
        stages = lower_for_cpu(module, entry, blas_runtime.available(), keep_stages, self.compile_stats)
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
