"""DLPack: arrays in and out of tfn without a copy.

`tfn.from_dlpack(x)` takes any array with `__dlpack__`/`__dlpack_device__` (torch,
JAX, CuPy, numpy) or a raw "dltensor" capsule:

- memory the host can read (kDLCPU; CUDA pinned and managed memory) becomes a numpy
  array sharing it, through `np.from_dlpack` (which negotiates the protocol with the
  producer, read-only flag included);
- memory of CUDA device 0 becomes a `DeviceArray` on the producer's pointer. It owns
  the producer's DLManagedTensor from then on: the capsule is renamed "used_dltensor"
  (so it no longer frees the tensor) and the tensor's deleter runs once, when the
  DeviceArray and everything made from it are gone.

`DeviceArray.__dlpack__` (`export`) goes the other way: a "dltensor" capsule of a
DLManagedTensor built here with ctypes, whose deleter keeps the DeviceArray (and so
its memory) alive until the consumer calls it. That deleter and the capsule's
destructor are a few lines of native code (LLVM IR JIT-compiled once), not ctypes
callbacks: a consumer may drop a capsule while an exception is pending, and Python
code run then would lose that exception.

Streams. A tfn call runs on a stream of its own and waits for it before returning, so
what it wrote is complete when Python sees it; only a `device_put` copy, on the legacy
default stream, may still be in flight. Exporting synchronizes that stream and then
ignores the consumer's `stream` (the spec lets a producer synchronize instead): nothing
is left for the consumer's stream to wait on. Importing asks the producer to order its
work before the legacy default stream (`stream=1`, as the spec defines it) and waits
for that stream, so the data is complete when `from_dlpack` returns.

The structs follow dlpack.h (DLPack 0.8 for what tfn exports; versioned 1.x capsules
are read too).
"""
from __future__ import annotations

import ctypes
import threading
import weakref
from ctypes import c_char_p, c_int, c_int32, c_int64, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p, py_object

import numpy as np

from tfn.dialect.types import bfloat16, is_bfloat16
from tfn.runtime.device_array import DeviceArray, driver

# DLDeviceType
KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_ROCM_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 11, 13
DEVICE_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDA pinned host memory", 4: "OpenCL", 7: "Vulkan", 8: "Metal",
                9: "VPI", 10: "ROCm", 11: "ROCm pinned host memory", 12: "ExtDev", 13: "CUDA managed memory",
                14: "oneAPI", 15: "WebGPU", 16: "Hexagon", 17: "MAIA"}
# Memory the host reads directly: numpy takes it.
HOST_READABLE = (KDL_CPU, KDL_CUDA_HOST, KDL_ROCM_HOST, KDL_CUDA_MANAGED)
# DLDataTypeCode
_CODE_NAMES = {0: "int", 1: "uint", 2: "float", 3: "opaque handle", 4: "bfloat", 5: "complex", 6: "bool"}
_KIND_CODES = {"i": 0, "u": 1, "f": 2, "c": 5, "b": 6}
KDL_BFLOAT = 4
# What a DeviceArray can hold (tfn's dtypes), by (code, bits); bfloat16 is ml_dtypes', imported
# when one is met (`device_dtype`).
_DEVICE_DTYPES = {(6, 8): np.dtype(np.bool_), (0, 32): np.dtype(np.int32), (0, 64): np.dtype(np.int64),
                  (2, 16): np.dtype(np.float16), (2, 32): np.dtype(np.float32), (2, 64): np.dtype(np.float64)}
_DEVICE_DTYPE_NAMES = "bool, int32, int64, float16, bfloat16, float32 or float64"


def device_dtype(code: int, bits: int) -> np.dtype | None:
    """tfn's dtype of DLPack type (code, bits), or None where tfn has none."""
    return bfloat16() if (code, bits) == (KDL_BFLOAT, 16) else _DEVICE_DTYPES.get((code, bits))


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", c_int32), ("device_id", c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", c_uint8), ("bits", c_uint8), ("lanes", c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", c_void_p), ("device", DLDevice), ("ndim", c_int32), ("dtype", DLDataType),
                ("shape", c_void_p), ("strides", c_void_p), ("byte_offset", c_uint64)]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", c_void_p), ("deleter", c_void_p)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", c_uint32), ("minor", c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("version", DLPackVersion), ("manager_ctx", c_void_p), ("deleter", c_void_p),
                ("flags", c_uint64), ("dl_tensor", DLTensor)]


# ---- the PyCapsule C API (public CPython API, called with the GIL held)
def _capi(name: str, restype, *argtypes):
    return ctypes.PYFUNCTYPE(restype, *argtypes)((name, ctypes.pythonapi))


_capsule_new = _capi("PyCapsule_New", py_object, c_void_p, c_void_p, c_void_p)
_capsule_is_valid = _capi("PyCapsule_IsValid", c_int, py_object, c_void_p)
_capsule_get_pointer = _capi("PyCapsule_GetPointer", c_void_p, py_object, c_void_p)
_capsule_get_name = _capi("PyCapsule_GetName", c_char_p, py_object)
_capsule_set_name = _capi("PyCapsule_SetName", c_int, py_object, c_void_p)
_raw_malloc = _capi("PyMem_RawMalloc", c_void_p, ctypes.c_size_t)


def _static_name(name: bytes) -> int:
    """A C string that is never freed: a capsule keeps its name's pointer, not a copy."""
    address = _raw_malloc(len(name) + 1)
    ctypes.memmove(address, name + b"\0", len(name) + 1)
    return address


NAMES = {name: _static_name(name) for name in
         (b"dltensor", b"used_dltensor", b"dltensor_versioned", b"used_dltensor_versioned")}
_DELETER = ctypes.CFUNCTYPE(None, c_void_p)  # void (*)(DLManagedTensor*), and PyCapsule_Destructor


def is_capsule(x) -> bool:
    return type(x).__name__ == "PyCapsule"


# ---- import
class _Owned:
    """A producer's DLManagedTensor that tfn consumed: its deleter runs once, when this dies."""

    def __init__(self, managed: int, deleter: int):
        self.managed = managed
        if deleter:
            weakref.finalize(self, _DELETER(deleter), managed)


def _parse(capsule) -> tuple[int, DLTensor, bool]:
    """(address of the managed tensor, its DLTensor, versioned?) of an unconsumed capsule."""
    if not is_capsule(capsule):
        raise TypeError(f"tfn.from_dlpack: expected an array with __dlpack__ or a DLPack capsule, "
                        f"got a {type(capsule).__name__}")
    if _capsule_is_valid(capsule, NAMES[b"dltensor"]):
        managed = _capsule_get_pointer(capsule, NAMES[b"dltensor"])
        return managed, DLManagedTensor.from_address(managed).dl_tensor, False
    if _capsule_is_valid(capsule, NAMES[b"dltensor_versioned"]):
        managed = _capsule_get_pointer(capsule, NAMES[b"dltensor_versioned"])
        tensor = DLManagedTensorVersioned.from_address(managed)
        if tensor.version.major != 1:
            raise BufferError(f"tfn.from_dlpack: DLPack {tensor.version.major}.{tensor.version.minor} "
                              f"is not supported (1.x is)")
        return managed, tensor.dl_tensor, True
    name = _capsule_get_name(capsule)
    if name in (b"used_dltensor", b"used_dltensor_versioned"):
        raise ValueError("tfn.from_dlpack: this DLPack capsule was already consumed (a capsule is read once; "
                         "ask the producer for a new one)")
    raise TypeError(f"tfn.from_dlpack: a capsule named {name!r} is not a DLPack tensor")


def dtype_name(t: DLDataType) -> str:
    name = "bool" if t.code == 6 else f"{_CODE_NAMES.get(t.code, f'type code {t.code} of ')}{t.bits}"
    return name + (f"x{t.lanes}" if t.lanes != 1 else "")


def device_name(device_type: int, device_id: int) -> str:
    return f"{DEVICE_NAMES.get(device_type, 'unknown device type')} (DLPack device type {device_type}, id {device_id})"


def _shape_and_strides(tensor: DLTensor) -> tuple[tuple, tuple | None]:
    n = tensor.ndim
    shape = tuple((c_int64 * n).from_address(tensor.shape)) if n else ()
    strides = tuple((c_int64 * n).from_address(tensor.strides)) if n and tensor.strides else None
    return shape, strides


def c_contiguous(shape, strides) -> bool:
    """Whether strides (in elements; None is row-major) are row-major, ignoring dims of size 1."""
    if strides is None or 0 in shape:
        return True
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def dense_layout(tensor: DLTensor) -> tuple[tuple, np.dtype, int]:
    """(shape, dtype, data pointer) of a tensor a DeviceArray can be: one of tfn's dtypes
    (bool, int32, int64, float16, bfloat16, float32, float64), row-major (tfn does not copy a strided array
    on the device: it says to make it contiguous first), elements aligned to their size.
    The pointer is `data + byte_offset`."""
    dtype = device_dtype(tensor.dtype.code, tensor.dtype.bits) if tensor.dtype.lanes == 1 else None
    if dtype is None:
        raise TypeError(f"tfn.from_dlpack: unsupported dtype {dtype_name(tensor.dtype)}; a CUDA array must be "
                        f"{_DEVICE_DTYPE_NAMES} (convert it on the device first)")
    shape, strides = _shape_and_strides(tensor)
    if not c_contiguous(shape, strides):
        raise BufferError(f"tfn.from_dlpack: the CUDA array of shape {shape} has strides {strides} (in elements), "
                          f"not row-major; tfn takes dense arrays without copying them, so make it contiguous "
                          f"first (torch: .contiguous(), CuPy: cupy.ascontiguousarray)")
    pointer = (tensor.data or 0) + tensor.byte_offset
    if pointer % dtype.itemsize:
        raise BufferError(f"tfn.from_dlpack: the CUDA array's data (pointer {pointer:#x}) is not aligned to its "
                          f"{dtype.itemsize}-byte elements")
    return shape, dtype, pointer


def take(capsule) -> _Owned:
    """Consumes a capsule: renamed "used_dltensor", its tensor is deleted when the result dies."""
    managed, _, versioned = _parse(capsule)
    deleter = (DLManagedTensorVersioned if versioned else DLManagedTensor).from_address(managed).deleter
    _capsule_set_name(capsule, NAMES[b"used_dltensor_versioned" if versioned else b"used_dltensor"])
    return _Owned(managed, deleter or 0)


def read_device_capsule(capsule) -> DeviceArray:
    """The DeviceArray of a capsule of CUDA device 0 memory (see `dense_layout`). The
    capsule is consumed only once it passed every check: one refused still frees its tensor."""
    _, tensor, _ = _parse(capsule)
    check_device((tensor.device.device_type, tensor.device.device_id))
    shape, dtype, pointer = dense_layout(tensor)
    return DeviceArray(shape, dtype, pointer, owned=False, base=take(capsule))


def check_device(device: tuple[int, int]) -> None:
    if device != (KDL_CUDA, 0):
        where = ("CUDA device 0 (tfn computes on GPU 0 only)" if device[0] == KDL_CUDA
                 else "the host or CUDA device 0")
        raise BufferError(f"tfn.from_dlpack: the array is on {device_name(*device)}; tfn reads arrays on {where}")


class _CapsuleArray:
    """A raw capsule presented as a DLPack producer, for `np.from_dlpack` (once)."""

    def __init__(self, capsule, device):
        self.capsule, self.device = capsule, device

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return self.device


def _numpy(x, capsule=None) -> np.ndarray:
    try:
        return np.from_dlpack(x)
    except (BufferError, RuntimeError, TypeError, ValueError) as e:
        try:  # name the dtype when that is what numpy refused
            capsule = capsule if capsule is not None else x.__dlpack__()
            _, tensor, _ = _parse(capsule)
            what = f"a {dtype_name(tensor.dtype)} array"
        except Exception:  # noqa: BLE001 - the producer's own refusal is the message then
            what, tensor = f"this {type(x).__name__}", None
        if tensor is not None and (tensor.dtype.code, tensor.dtype.bits, tensor.dtype.lanes) == (KDL_BFLOAT, 16, 1):
            # numpy has no bfloat16: it takes the bits as uint16 (the capsule is ours to read as
            # we like), viewed as ml_dtypes' bfloat16; the memory is still shared
            tensor.dtype.code = _KIND_CODES["u"]
            device = (tensor.device.device_type, tensor.device.device_id)
            return np.from_dlpack(_CapsuleArray(capsule, device)).view(bfloat16())
        raise TypeError(f"tfn.from_dlpack: numpy cannot take {what} from host memory: {e}") from e


def from_dlpack(x) -> np.ndarray | DeviceArray:
    """An array sharing the memory of `x` (any object with `__dlpack__`, or a DLPack capsule).

    Host memory comes back as a numpy array (`np.from_dlpack`), memory of CUDA device 0
    as a `tfn.DeviceArray` on the producer's pointer, which keeps the producer's buffer
    alive until the DeviceArray is gone. Neither copies. A CUDA array must be row-major
    with one of tfn's dtypes (bool, int32, int64, float16, bfloat16, float32, float64); anything else is an
    error naming what it got. The producer's pending work on the array is waited for.

        >>> import numpy as np, tfn
        >>> x = np.arange(4.0)                  # torch, JAX and CuPy arrays alike
        >>> a = tfn.from_dlpack(x)
        >>> a[0] = 7.0
        >>> x
        array([7., 1., 2., 3.])
        >>> tfn.from_dlpack(x.__dlpack__())     # a raw capsule
        array([7., 1., 2., 3.])

    `tfn.jit` reads torch and JAX arguments this way; its numpy results go back without
    a copy too (`torch.from_dlpack(result)`), and so do its DeviceArrays.
    """
    if isinstance(x, DeviceArray):
        return x
    if is_capsule(x):
        _, tensor, _ = _parse(x)
        device = (tensor.device.device_type, tensor.device.device_id)
        if device[0] in HOST_READABLE:
            return _numpy(_CapsuleArray(x, device), x)
        check_device(device)
        driver().synchronize()  # a capsule names no stream: wait for the legacy default one
        return read_device_capsule(x)
    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"tfn.from_dlpack: a {type(x).__name__} is neither a DLPack capsule nor an array with "
                        f"__dlpack__ (torch, JAX, CuPy and numpy arrays have it)")
    device = tuple(int(v) for v in x.__dlpack_device__()) if hasattr(x, "__dlpack_device__") else (KDL_CPU, 0)
    if device[0] in HOST_READABLE:
        return _numpy(x)
    check_device(device)
    drv = driver()
    try:
        capsule = x.__dlpack__(stream=1)  # the legacy default stream waits for the producer's work
    except TypeError:  # a producer older than the stream argument
        capsule = x.__dlpack__()
    drv.synchronize()
    return read_device_capsule(capsule)


# ---- export
# The deleter of exported tensors and the destructor of their capsules are native code:
# both may run while an exception is pending (a consumer refusing a capsule drops it with
# its error set), where a ctypes callback into Python fails and loses that exception. The
# deleter drops the reference that `manager_ctx` holds on a Python `_Export`, whose
# death (in CPython's own, exception-safe finalization) frees what it held.
_NATIVE_IR = """
llvm.func @PyCapsule_IsValid(!llvm.ptr, !llvm.ptr) -> i32
llvm.func @PyCapsule_GetPointer(!llvm.ptr, !llvm.ptr) -> !llvm.ptr
llvm.func @Py_DecRef(!llvm.ptr)
llvm.func @PyGILState_Ensure() -> i32
llvm.func @PyGILState_Release(i32)
llvm.func @tfn_dlpack_deleter(%managed: !llvm.ptr) {
  %field = llvm.getelementptr %managed[CONTEXT_OFFSET] : (!llvm.ptr) -> !llvm.ptr, i8
  %context = llvm.load %field : !llvm.ptr -> !llvm.ptr
  %gil = llvm.call @PyGILState_Ensure() : () -> i32
  llvm.call @Py_DecRef(%context) : (!llvm.ptr) -> ()
  llvm.call @PyGILState_Release(%gil) : (i32) -> ()
  llvm.return
}
llvm.func @tfn_dlpack_capsule_destructor(%capsule: !llvm.ptr) {
  %address = llvm.mlir.constant(NAME_ADDRESS : i64) : i64
  %name = llvm.inttoptr %address : i64 to !llvm.ptr
  %valid = llvm.call @PyCapsule_IsValid(%capsule, %name) : (!llvm.ptr, !llvm.ptr) -> i32
  %zero = llvm.mlir.constant(0 : i32) : i32
  %consumed = llvm.icmp "eq" %valid, %zero : i32
  llvm.cond_br %consumed, ^done, ^delete
^delete:
  %managed = llvm.call @PyCapsule_GetPointer(%capsule, %name) : (!llvm.ptr, !llvm.ptr) -> !llvm.ptr
  llvm.call @tfn_dlpack_deleter(%managed) : (!llvm.ptr) -> ()
  llvm.br ^done
^done:
  llvm.return
}
llvm.func @tfn_dlpack_addresses(%out: !llvm.ptr) {
  %deleter = llvm.mlir.addressof @tfn_dlpack_deleter : !llvm.ptr
  %destructor = llvm.mlir.addressof @tfn_dlpack_capsule_destructor : !llvm.ptr
  %second = llvm.getelementptr %out[8] : (!llvm.ptr) -> !llvm.ptr, i8
  llvm.store %deleter, %out : !llvm.ptr, !llvm.ptr
  llvm.store %destructor, %second : !llvm.ptr, !llvm.ptr
  llvm.return
}
"""
_NATIVE: tuple[int, int] | None = None
_NATIVE_LOCK = threading.Lock()


def native_functions() -> tuple[int, int]:
    """Addresses of (the deleter, the capsule destructor), JIT-compiled once per process."""
    global _NATIVE
    with _NATIVE_LOCK:
        if _NATIVE is None:
            from mlir import ir
            from mlir.execution_engine import ExecutionEngine
            text = (_NATIVE_IR.replace("CONTEXT_OFFSET", str(DLManagedTensor.manager_ctx.offset))
                    .replace("NAME_ADDRESS", str(NAMES[b"dltensor"])))
            with ir.Context(), ir.Location.unknown():
                engine = ExecutionEngine(ir.Module.parse(text), opt_level=2)
            # C may call these functions at any time, at exit too: the engine is never freed.
            ctypes.pythonapi.Py_IncRef(py_object(engine))
            out = (c_void_p * 2)()
            out_pointer = c_void_p(ctypes.addressof(out))
            packed = (c_void_p * 1)(ctypes.addressof(out_pointer))  # the engine's packed calling convention
            ctypes.CFUNCTYPE(None, c_void_p)(engine.raw_lookup("tfn_dlpack_addresses"))(ctypes.addressof(packed))
            _NATIVE = (out[0], out[1])
    return _NATIVE


class _Export:
    """What an exported DLManagedTensor needs until its deleter runs (`manager_ctx` refers to it)."""

    def __init__(self, owner, shape: tuple, strides: list):
        n = len(shape)
        self.owner = owner
        self.shape, self.strides = (c_int64 * max(n, 1))(*shape), (c_int64 * max(n, 1))(*strides)
        self.managed = DLManagedTensor()


def dl_dtype(dtype: np.dtype) -> tuple[int, int]:
    dtype = np.dtype(dtype)
    if is_bfloat16(dtype):
        return KDL_BFLOAT, 16
    if dtype.kind not in _KIND_CODES:
        raise BufferError(f"DLPack has no type for {dtype.name}")
    return _KIND_CODES[dtype.kind], dtype.itemsize * 8


def to_capsule(owner, pointer: int, shape: tuple, dtype, device: tuple[int, int] = (KDL_CUDA, 0)):
    """A "dltensor" capsule of the dense row-major array at `pointer`; `owner` stays alive
    until the consumer calls the deleter (or the capsule dies unconsumed)."""
    code, bits = dl_dtype(dtype)
    deleter, destructor = native_functions()
    strides, step = [], 1
    for size in reversed(shape):
        strides.insert(0, step)
        step *= size
    export = _Export(owner, tuple(shape), strides)
    managed = export.managed
    t = managed.dl_tensor
    t.data, t.ndim, t.byte_offset = pointer or None, len(shape), 0
    t.device = DLDevice(*device)
    t.dtype = DLDataType(code, bits, 1)
    t.shape, t.strides = ctypes.addressof(export.shape), ctypes.addressof(export.strides)
    managed.manager_ctx, managed.deleter = id(export), deleter
    capsule = _capsule_new(ctypes.addressof(managed), NAMES[b"dltensor"], destructor)
    ctypes.pythonapi.Py_IncRef(py_object(export))  # dropped by the deleter
    return capsule


def export(array: DeviceArray, stream=None, dl_device=None, copy: bool | None = None):
    """`DeviceArray.__dlpack__`: a capsule on the array's memory (on a copy with `copy=True`)."""
    if stream is not None and (not isinstance(stream, int) or stream < -1):
        raise ValueError(f"DeviceArray.__dlpack__: stream must be None or a CUDA stream as an int, got {stream!r}")
    if dl_device is not None and tuple(int(v) for v in dl_device) != (KDL_CUDA, 0):
        raise BufferError(f"DeviceArray.__dlpack__: the array is on CUDA device 0 and is not copied to "
                          f"{device_name(*(int(v) for v in dl_device))}")
    drv = driver()
    if copy:
        from tfn.runtime.device_array import empty
        duplicate = empty(array.shape, array.dtype)
        if array.nbytes:
            drv.copy(duplicate.pointer, array.pointer, array.nbytes)
        array = duplicate
    drv.synchronize()  # whatever stream the consumer reads on, tfn's writes are done
    return to_capsule(array, array.pointer, array.shape, array.dtype)
