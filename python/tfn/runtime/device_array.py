"""Arrays that live in GPU memory, so that chained `device="cuda"` calls skip the host.

    x = tfn.device_put(np.ones((64, 784), np.float32))
    h = tfn.jit(layer, device="cuda")(w, x)               # DeviceArray in, DeviceArray out
    np.asarray(h)                                          # the one download

A jitted CUDA function returns DeviceArrays when every array argument is one
(computation follows data), numpy arrays otherwise.
"""
from __future__ import annotations

import ctypes

import numpy as np

from tfn.dialect.types import canonical_dtype


class _Driver:
    """The few CUDA driver calls the host side needs, in the primary context of device 0."""

    def __init__(self):
        self.cuda = ctypes.CDLL("libcuda.so.1")
        device = ctypes.c_int(0)
        self.cuda.cuDeviceGet(ctypes.byref(device), 0)
        self.context = ctypes.c_void_p()
        self.cuda.cuDevicePrimaryCtxRetain(ctypes.byref(self.context), device)

    def _call(self, name: str, *args) -> None:
        self.cuda.cuCtxPushCurrent_v2(self.context)
        try:
            status = getattr(self.cuda, name)(*args)
        finally:
            self.cuda.cuCtxPopCurrent_v2(ctypes.byref(ctypes.c_void_p()))
        if status != 0:
            raise RuntimeError(f"{name} failed with CUDA error {status}")

    def alloc(self, nbytes: int) -> int:
        pointer = ctypes.c_uint64(0)
        self._call("cuMemAlloc_v2", ctypes.byref(pointer), ctypes.c_size_t(max(nbytes, 1)))
        return pointer.value

    def free(self, pointer: int) -> None:
        self._call("cuMemFree_v2", ctypes.c_uint64(pointer))

    def upload(self, pointer: int, array: np.ndarray) -> None:
        self._call("cuMemcpyHtoD_v2", ctypes.c_uint64(pointer), ctypes.c_void_p(array.ctypes.data),
                   ctypes.c_size_t(array.nbytes))

    def download(self, array: np.ndarray, pointer: int) -> None:
        self._call("cuMemcpyDtoH_v2", ctypes.c_void_p(array.ctypes.data), ctypes.c_uint64(pointer),
                   ctypes.c_size_t(array.nbytes))

    def copy(self, destination: int, source: int, nbytes: int) -> None:
        self._call("cuMemcpyDtoD_v2", ctypes.c_uint64(destination), ctypes.c_uint64(source), ctypes.c_size_t(nbytes))

    def synchronize(self) -> None:
        """Waits for the legacy default stream (CU_STREAM_LEGACY), where copies run and
        which other libraries order their work before when asked through DLPack."""
        self._call("cuStreamSynchronize", ctypes.c_void_p(1))


_DRIVER: _Driver | None = None


def driver() -> _Driver:
    global _DRIVER
    if _DRIVER is None:
        from tfn.runtime.cuda import device_chip
        device_chip()  # a clear CudaUnavailable where there is no GPU
        _DRIVER = _Driver()
    return _DRIVER


class DeviceArray:
    """A dense row-major array in the memory of GPU 0; `np.asarray` downloads it.

    It speaks DLPack (`__dlpack__`, `__dlpack_device__`), so `torch.from_dlpack(d)`,
    `jax.dlpack.from_dlpack(d)` and `cupy.from_dlpack(d)` share its memory, and
    `tfn.from_dlpack` makes DeviceArrays of theirs. Memory it does not own (`owned=False`)
    is kept alive by `base` (for memory from DLPack, the producer's tensor).
    """

    __array_priority__ = 100

    def __init__(self, shape: tuple, dtype, pointer: int, owned: bool = True, base=None):
        self.shape, self.dtype, self.pointer, self._owned = tuple(shape), np.dtype(dtype), pointer, owned
        self.base = base

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def numpy(self) -> np.ndarray:
        out = np.empty(self.shape, self.dtype)
        if out.nbytes:
            driver().download(out, self.pointer)
        return out

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"DeviceArray({self.dtype.name}{list(self.shape)}, cuda:0)"

    def __dlpack__(self, *, stream: int | None = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None):
        """A DLPack capsule ("dltensor") on this array's memory, which stays allocated until
        the consumer is done with it (a copy of it with `copy=True`).

        `stream` is the consumer's CUDA stream (as the DLPack protocol defines it). tfn
        waits for its own work before handing the array over, so the consumer may read
        on any stream at once; the stream is checked and otherwise unused. The capsule
        is unversioned (DLPack 0.8) whatever `max_version` asks, as the protocol allows.
        """
        from tfn.runtime.dlpack import export
        return export(self, stream=stream, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        """(kDLCUDA, 0): DLPack's name of GPU 0."""
        return (2, 0)

    def __del__(self):
        if self._owned and self.pointer and _DRIVER is not None:
            try:
                _DRIVER.free(self.pointer)
            except Exception:  # noqa: BLE001 - at interpreter exit the driver may be gone
                pass
            self.pointer = 0


def empty(shape: tuple, dtype) -> DeviceArray:
    dtype = np.dtype(dtype)
    return DeviceArray(shape, dtype, driver().alloc(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize))


def device_put(x, device: str = "cuda") -> DeviceArray:
    """Copies an array (anything numpy accepts) to GPU 0.

    >>> d = tfn.device_put(np.arange(3.0))   # doctest: +SKIP
    >>> d.shape, np.asarray(d)                # doctest: +SKIP
    ((3,), array([0., 1., 2.]))
    """
    if device != "cuda":
        raise ValueError(f"tfn.device_put: unknown device {device!r} (only 'cuda')")
    if isinstance(x, DeviceArray):
        return x
    a = np.asarray(x, dtype=canonical_dtype(np.asarray(x).dtype), order="C")  # keeps 0-d
    out = empty(a.shape, a.dtype)
    if a.nbytes:
        driver().upload(out.pointer, a)
    return out
