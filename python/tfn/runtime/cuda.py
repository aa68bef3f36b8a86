"""CUDA execution: kernels JIT-compiled from PTX by the driver.

`tfn.jit(f, device="cuda")` traces, then lowers with `tfn.lowering.driver.lower_for_cuda`
(the pipeline `tfn.passes.pipelines.cuda_stages`: every linalg op mapped onto GPU
threads, all buffers in device memory, every launch and copy on one stream, the
kernels embedded as PTX, which the driver compiles for the device at load time).
The entry point takes device pointers; `CudaExecutable` stages numpy arguments
through buffers of its own and passes `DeviceArray`s (tfn.runtime.device_array)
straight through.
"""
from __future__ import annotations

import ctypes
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from mlir import ir
from mlir.execution_engine import ExecutionEngine

from tfn.lowering.driver import CudaUnavailable, lower_for_cuda
from tfn.runtime.cpu import CpuExecutable

__all__ = ["CudaExecutable", "CudaUnavailable", "device_chip", "lower_for_cuda", "runtime_library"]


def runtime_library() -> Path:
    """MLIR's CUDA runtime wrappers (mgpu*), shipped with the MLIR tools wheel."""
    override = os.environ.get("TFN_CUDA_RUNTIME")
    if override:
        return Path(override)
    import mlir
    # mlir may be a namespace package (no __file__) when unpacked rather than installed.
    return Path(list(mlir.__path__)[0]).resolve() / "lib" / "libmlir_cuda_runtime.so"


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
