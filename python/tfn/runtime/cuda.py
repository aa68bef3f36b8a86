"""CUDA compilation and execution: kernels JIT-compiled from PTX by the driver.

`tfn.jit(f, device="cuda")` traces and lowers as for the CPU, then maps every
linalg op onto GPU threads (parallel loops tiled into blocks of `TILE_SIZES`,
thread x along contiguous memory), keeps all buffers in device memory with every
launch and copy on one stream (tfn.lowering.gpu), and embeds the kernels as PTX,
which the driver compiles for the device at load time. The entry point takes
device pointers; `CudaExecutable` stages numpy arguments through buffers of its own
and passes `DeviceArray`s (tfn.runtime.device_array) straight through.
"""
from __future__ import annotations

import ctypes
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from mlir import ir
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager

from tfn.lowering import pipelines
from tfn.lowering.copies import lower_strided_copies
from tfn.lowering.gpu import (check_no_host_access, gpu_loops_pipeline, gpu_to_llvm_pipeline,
                              pool_allocations, reorder_loops_for_gpu, use_device_memory)
from tfn.lowering.rules import TARGET
from tfn.lowering.to_linalg import lower_to_linalg
from tfn.runtime.cpu import ENTRY, CpuExecutable, StageClock, add_entry_wrapper
from tfn.passes.split_reductions import split_reductions

# Chips whose PTX version +ptx80 covers; another chip would make LLVM abort the process.
SUPPORTED_CHIPS = ("sm_70", "sm_72", "sm_75", "sm_80", "sm_86", "sm_87", "sm_89", "sm_90")


class CudaUnavailable(RuntimeError):
    """No usable NVIDIA driver, device or CUDA runtime library in this process."""


def runtime_library() -> Path:
    """MLIR's CUDA runtime wrappers (mgpu*), shipped with the MLIR tools wheel."""
    override = os.environ.get("TFN_CUDA_RUNTIME")
    if override:
        return Path(override)
    import mlir
    # mlir may be a namespace package (no __file__) when unpacked rather than installed.
    return Path(list(mlir.__path__)[0]).resolve() / "lib" / "libmlir_cuda_runtime.so"


def libdevice() -> Path | None:
    """NVIDIA's libdevice bitcode (f64 transcendentals on the GPU), if a CUDA toolkit is installed."""
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    for root in filter(None, roots):
        candidate = Path(root) / "nvvm" / "libdevice" / "libdevice.10.bc"
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=1)
def device_chip() -> str:
    """'sm_XY' of device 0; raises CudaUnavailable (never aborts) when there is none."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1", mode=ctypes.RTLD_GLOBAL)
    except OSError as e:
        raise CudaUnavailable(f"no NVIDIA driver in this process (libcuda.so.1: {e})") from None
    if cuda.cuInit(0) != 0:
        raise CudaUnavailable("cuInit failed: no usable NVIDIA GPU")
    count = ctypes.c_int(0)
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
        raise CudaUnavailable("no CUDA device found")
    device = ctypes.c_int(0)
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    cuda.cuDeviceGet(ctypes.byref(device), 0)
    cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, device)  # COMPUTE_CAPABILITY_MAJOR
    cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, device)  # COMPUTE_CAPABILITY_MINOR
    chip = f"sm_{major.value}{minor.value}"
    library = runtime_library()
    try:
        ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
    except OSError as e:
        raise CudaUnavailable(f"cannot load the CUDA runtime library {library}: {e}") from None
    return chip


def lower_for_cuda(module: ir.Module, entry: str, chip: str, keep_stages: bool = True,
                   stats: dict | None = None) -> dict:
    """Lowers a tfn module in place to LLVM with embedded PTX kernels; returns each stage's text.

    The entry point gains a trailing workspace argument (`memref<Nxi8>`, device memory);
    `stages["workspace_bytes"]` is N. With `keep_stages=False` no IR is printed (the
    numbers only); `stats` receives the seconds of each stage, as for `lower_for_cpu`.
    """
    if chip not in SUPPORTED_CHIPS:
        raise CudaUnavailable(f"GPU {chip} is not supported (supported: {', '.join(SUPPORTED_CHIPS)})")
    clock = StageClock({} if stats is None else stats)
    stages: dict = {}
    keep = clock.keeper(module, stages, keep_stages)

    keep("tfn")
    split_reductions(module.operation)
    token = TARGET.set("cuda")
    try:
        lower_to_linalg(module.operation)
    finally:
        TARGET.reset(token)
    add_entry_wrapper(module, entry)
    clock.lap("to_linalg")
    PassManager.parse(f"builtin.module({pipelines.LINALG_CLEANUP})").run(module.operation)
    clock.lap("linalg_cleanup")
    keep("linalg")
    PassManager.parse(f"builtin.module({pipelines.CPU_BUFFERIZE},buffer-deallocation-pipeline,"
                      "linalg-generalize-named-ops)").run(module.operation)
    clock.lap("bufferize")
    lower_strided_copies(module.operation)
    reorder_loops_for_gpu(module.operation)
    use_device_memory(module.operation)
    workspace = pool_allocations(module.operation, ENTRY)
    clock.lap("gpu_buffers")
    keep("buffers")
    PassManager.parse(gpu_loops_pipeline()).run(module.operation)
    check_no_host_access(module.operation)
    clock.lap("gpu_loops")
    keep("gpu")
    bitcode = libdevice()
    PassManager.parse(gpu_to_llvm_pipeline(chip, [str(bitcode)] if bitcode else [])).run(module.operation)
    clock.lap("to_llvm")
    stages["workspace_bytes"] = workspace
    keep("llvm")
    return stages


def _nbytes(shape, dtype) -> int:
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


# Engines whose code holds loaded CUDA modules are kept for the life of the process:
# tearing one down (its global destructors unload the kernels) crashed the process
# later on, in unrelated code.
_LIVE_ENGINES: list[ExecutionEngine] = []


class CudaExecutable(CpuExecutable):
    """A function compiled for device 0, called with numpy arrays or DeviceArrays.

    Its arguments are device pointers: a DeviceArray is passed as it is, a numpy array
    is uploaded into a staging buffer of its own (allocated once). Results are
    DeviceArrays when every argument was one, else downloaded from staging buffers.
    """

    def __init__(self, module: ir.Module, entry: str, opt_level: int = 3, keep_stages: bool = True):
        super().__init__(module, entry, opt_level, keep_stages)
        from tfn.runtime.device_array import driver
        self._driver = driver()
        self.workspace = self._driver.alloc(self.stages["workspace_bytes"])  # kept with the engine
        self.set_extra_pointer(0, self.workspace)
        self._staging = [self._driver.alloc(_nbytes(shape, dtype)) for shape, dtype in self.in_specs + self.out_specs]

    def _call(self, arrays) -> list:
        from tfn.runtime.device_array import DeviceArray, empty
        if len(arrays) != len(self._inputs):
            raise TypeError(f"expected {len(self._inputs)} arrays, got {len(arrays)}")
        words, drv = self._words, self._driver
        on_device = all(isinstance(a, DeviceArray) for a in arrays) and bool(arrays)
        for (off, shape, dtype), a, staging in zip(self._inputs, arrays, self._staging):
            if isinstance(a, DeviceArray):
                if a.shape != shape or a.dtype != dtype:
                    raise ValueError(f"expected a device array {dtype.name}{list(shape)}, got {a!r}")
                words[off] = words[off + 1] = a.pointer
                continue
            a = np.asarray(a, dtype=dtype, order="C")  # keeps 0-d (ascontiguousarray would not)
            if a.shape != shape:
                raise ValueError(f"expected an array of shape {shape}, got {a.shape}")
            if a.nbytes:
                drv.upload(staging, a)
            words[off] = words[off + 1] = staging
        results = []
        for (off, shape, dtype), staging in zip(self._outputs, self._staging[len(self._inputs):]):
            out = empty(shape, dtype) if on_device else None
            words[off] = words[off + 1] = out.pointer if on_device else staging
            results.append(out)
        self._function(self._packed)  # returns once its stream is done
        if on_device:
            return results
        outs = []
        for (_, shape, dtype), staging in zip(self._outputs, self._staging[len(self._inputs):]):
            out = np.empty(shape, dtype)
            if out.nbytes:
                drv.download(out, staging)
            outs.append(out)
        return outs

    def _lower(self, module: ir.Module, entry: str, keep_stages: bool = True) -> dict:
        stages = lower_for_cuda(module, entry, device_chip(), keep_stages, self.compile_stats)
        self.extra_specs = [((stages["workspace_bytes"],), np.dtype(np.uint8))]
        return stages

    def _make_engine(self, module: ir.Module, opt_level: int) -> ExecutionEngine:
        engine = ExecutionEngine(module, opt_level=opt_level, shared_libs=[str(runtime_library())])
        engine.initialize()  # runs the constructors that load the kernels
        _LIVE_ENGINES.append(engine)
        return engine
