"""DLPack: arrays in and out of tfn without a copy (tfn.from_dlpack, DeviceArray.__dlpack__).

The CPU tests need torch (and JAX for its own test) and are skipped without them. The
capsules tfn exports for DeviceArrays are built by `dlpack.to_capsule`, the same code for
any device, so their layout and lifetime are checked here on host memory; the GPU tests at
the end (skipped without a GPU, as in test_cuda.py) check the device path end to end.
"""
from __future__ import annotations

import ctypes
import gc
import weakref

import numpy as np
import pytest

import tfn
from tfn.runtime import dlpack
from tfn.runtime.cuda import CudaUnavailable, device_chip

DTYPES = ["float32", "float64", "int32", "int64", "bool"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _torch_array(torch, dtype: str, shape: tuple):
    values = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % 3
    return torch.from_numpy(np.array(values, dtype=dtype))  # a copy, C-contiguous, 0-d kept


class _Producer:
    """An array that only speaks DLPack, on whatever device it claims."""

    def __init__(self, make_capsule, device):
        self.make_capsule, self.device, self.streams = make_capsule, device, []

    def __dlpack__(self, stream=None, **kwargs):
        self.streams.append(stream)
        return self.make_capsule()

    def __dlpack_device__(self):
        return self.device


class _Owner:
    """Something an exported capsule keeps alive; `deaths` counts how often it died."""

    def __init__(self, array, deaths: list):
        self.array = array
        weakref.finalize(self, deaths.append, 1)


def _export(array: np.ndarray, deaths: list, device=(dlpack.KDL_CPU, 0)):
    """A capsule as DeviceArray.__dlpack__ builds it, on host memory."""
    return dlpack.to_capsule(_Owner(array, deaths), array.ctypes.data, array.shape, array.dtype, device)


# ---- host memory in: zero-copy numpy views
def test_a_torch_tensor_and_its_numpy_view_share_memory(torch):
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    a = tfn.from_dlpack(t)
    assert isinstance(a, np.ndarray) and a.ctypes.data == t.data_ptr()
    a[0, 1] = 42.0
    assert t[0, 1].item() == 42.0
    t[1, 2] = -1.0
    assert a[1, 2] == -1.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0, 3), (2, 3)])
def test_dtypes_0d_and_zero_size_arrays_come_in(torch, dtype, shape):
    t = _torch_array(torch, dtype, shape)
    a = tfn.from_dlpack(t)
    assert a.dtype == np.dtype(dtype) and a.shape == shape
    np.testing.assert_array_equal(a, t.numpy())
    if a.size:
        assert a.ctypes.data == t.data_ptr()


def test_strided_host_arrays_are_views_too(torch):
    t = torch.arange(12.0).reshape(3, 4)[:, ::2]
    a = tfn.from_dlpack(t)
    assert a.ctypes.data == t.data_ptr() and a.strides == (16, 8)
    np.testing.assert_array_equal(a, t.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_jit_takes_torch_cpu_tensors(torch, dtype):
    x, y = _torch_array(torch, dtype, (2, 3)), _torch_array(torch, dtype, (3,))
    f = tfn.jit(lambda x, y: (x * y, x == y))
    product, equal = f(x, y)
    np.testing.assert_array_equal(product, x.numpy() * y.numpy())
    np.testing.assert_array_equal(equal, x.numpy() == y.numpy())
    assert product.dtype == np.dtype(dtype)


def test_jit_reads_torch_tensors_in_place(torch, monkeypatch):
    # A C-contiguous array of the traced dtype is passed as it is: no np.asarray makes a copy.
    x = torch.arange(4, dtype=torch.float32)
    f = tfn.jit(lambda x, n: tfn.numpy.sum(x * n), static_argnums=1)
    assert float(f(x, 2)) == 12.0
    copies = []
    real_asarray = np.asarray

    def asarray(a, *args, **kwargs):
        out = real_asarray(a, *args, **kwargs)
        if not (isinstance(a, np.ndarray) and np.shares_memory(a, out)):
            copies.append(type(a).__name__)
        return out
    monkeypatch.setattr(np, "asarray", asarray)
    assert float(f(x, 2)) == 12.0
    assert copies == []


def test_jit_takes_torch_tensors_in_pytrees_beside_numpy(torch):
    params = {"w": torch.ones(3, 2, dtype=torch.float64), "b": np.full(2, 0.5)}
    out = tfn.jit(lambda p, x: x @ p["w"] + p["b"])(params, torch.arange(3.0, dtype=torch.float64))
    np.testing.assert_allclose(out, [3.5, 3.5])


def test_numpy_results_go_to_torch_without_a_copy(torch):
    r = tfn.jit(lambda x: x * 2.0)(np.arange(3.0))
    t = torch.from_dlpack(r)
    assert t.data_ptr() == r.ctypes.data
    t[0] = 9.0
    assert r[0] == 9.0


def test_jax_cpu_arrays_come_in_without_a_copy():
    jax = pytest.importorskip("jax")
    # On the host even where JAX's default device is a GPU.
    j = jax.device_put(jax.numpy.arange(4.0, dtype=jax.numpy.float32), jax.devices("cpu")[0])
    a = tfn.from_dlpack(j)
    assert a.ctypes.data == j.unsafe_buffer_pointer()
    assert not a.flags.writeable  # JAX arrays are immutable, and numpy is told so
    np.testing.assert_allclose(tfn.jit(lambda x: x + 1)(j), [1, 2, 3, 4])


def test_raw_capsules_come_in_once(torch):
    t = torch.arange(3, dtype=torch.int64)
    capsule = t.__dlpack__()
    a = tfn.from_dlpack(capsule)
    assert a.ctypes.data == t.data_ptr()
    with pytest.raises(ValueError, match="already consumed"):
        tfn.from_dlpack(capsule)


def test_versioned_capsules_come_in():
    x = np.arange(3.0)
    versioned = x.__dlpack__(max_version=(1, 0))
    assert "dltensor_versioned" in repr(versioned)
    np.testing.assert_array_equal(tfn.from_dlpack(versioned), x)
    versioned = x.__dlpack__(max_version=(1, 0))
    _, tensor, is_versioned = dlpack._parse(versioned)
    assert is_versioned and dlpack.dense_layout(tensor) == ((3,), np.dtype(np.float64), x.ctypes.data)
    owned = dlpack.take(versioned)
    assert "used_dltensor_versioned" in repr(versioned)
    del owned, versioned  # numpy's deleter runs once
    gc.collect()


# ---- errors
def test_errors_name_what_was_refused(torch):
    with pytest.raises(TypeError, match="neither a DLPack capsule nor an array with __dlpack__"):
        tfn.from_dlpack([1.0, 2.0])
    assert tfn.from_dlpack(torch.ones(2, dtype=torch.bfloat16)).dtype.name == "bfloat16"  # as ml_dtypes'
    with pytest.raises(TypeError, match="detach"):
        tfn.from_dlpack(torch.ones(2, requires_grad=True))
    rocm = _Producer(lambda: pytest.fail("no capsule should be asked for"), (10, 0))
    with pytest.raises(BufferError, match=r"ROCm \(DLPack device type 10, id 0\)"):
        tfn.from_dlpack(rocm)
    with pytest.raises(BufferError, match=r"CUDA \(DLPack device type 2, id 1\).*GPU 0 only"):
        tfn.from_dlpack(_Producer(lambda: pytest.fail("no capsule"), (2, 1)))
    with pytest.raises(TypeError, match="not an array"):
        tfn.jit(lambda x: x)(object())


def test_device_layouts_are_checked_before_a_capsule_is_taken(torch):
    # What the CUDA path checks, on host capsules (the DLTensor is the same).
    def layout(t):
        capsule = t.__dlpack__()  # alive while its DLTensor is read
        return dlpack.dense_layout(dlpack._parse(capsule)[1])

    with pytest.raises(BufferError, match=r"shape \(3, 2\) has strides \(4, 2\).*not row-major.*contiguous"):
        layout(torch.arange(12.0).reshape(3, 4)[:, ::2])
    with pytest.raises(TypeError, match="unsupported dtype complex64"):
        layout(torch.ones(2, dtype=torch.complex64))
    with pytest.raises(TypeError, match="unsupported dtype uint8"):
        layout(torch.ones(2, dtype=torch.uint8))
    t = torch.arange(12, dtype=torch.int32).reshape(3, 4)
    assert layout(t) == ((3, 4), np.dtype(np.int32), t.data_ptr())
    assert layout(t[1:])[2] == t.data_ptr() + 16
    assert layout(t[:, :1].reshape(3, 1)[:1])[:2] == ((1, 1), np.dtype(np.int32))  # size-1 dims: any stride
    assert layout(torch.ones(0, 3).T)[0] == (3, 0)

    deaths: list = []
    a = np.arange(4.0, dtype=np.float32)
    capsule = _export(a, deaths)
    tensor = dlpack._parse(capsule)[1]
    tensor.byte_offset = 8
    assert dlpack.dense_layout(tensor)[2] == a.ctypes.data + 8
    tensor.byte_offset = 2
    with pytest.raises(BufferError, match="not aligned to its 4-byte elements"):
        dlpack.dense_layout(tensor)


# ---- what DeviceArray.__dlpack__ exports, built on host memory
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0, 3), (2, 3)])
def test_exported_capsules_describe_the_array(torch, dtype, shape):
    a = np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)
    deaths: list = []
    t = torch.from_dlpack(_export(a, deaths))
    assert tuple(t.shape) == shape and str(t.dtype) == f"torch.{dtype}"
    np.testing.assert_array_equal(t.numpy(), a)
    if a.size:
        assert t.data_ptr() == a.ctypes.data
        assert t.stride() == tuple(s // a.itemsize for s in a.strides)
    del t
    gc.collect()
    assert deaths == [1]


def test_an_exported_tensor_is_deleted_once_however_it_ends(torch):
    a = np.arange(6.0).reshape(2, 3)
    deaths: list = []
    capsule = _export(a, deaths)
    t = torch.from_dlpack(capsule)
    assert "used_dltensor" in repr(capsule)
    del capsule
    gc.collect()
    assert deaths == []  # the consumer holds it
    del t
    gc.collect()
    assert deaths == [1]

    deaths.clear()
    capsule = _export(a, deaths)
    del capsule  # never consumed: the capsule's destructor deletes it
    gc.collect()
    assert deaths == [1]

    deaths.clear()
    capsule = _export(a, deaths)
    owned = dlpack.take(capsule)  # tfn's own import path
    del capsule
    gc.collect()
    assert deaths == []
    del owned
    gc.collect()
    assert deaths == [1]

    deaths.clear()
    b = tfn.from_dlpack(_export(a, deaths))  # host memory: numpy consumes it
    assert b.ctypes.data == a.ctypes.data
    del b
    gc.collect()
    assert deaths == [1]


def test_a_refused_capsule_keeps_the_consumers_error(torch):
    # numpy drops the capsule while its error is set: the deleter must not disturb it.
    deaths: list = []
    a = np.arange(3.0)
    on_gpu = _Producer(lambda: _export(a, deaths, device=(dlpack.KDL_CUDA, 0)), (dlpack.KDL_CPU, 0))
    with pytest.raises((RuntimeError, BufferError), match="[Dd]evice"):  # numpy 2.5 raises BufferError
        np.from_dlpack(on_gpu)
    gc.collect()
    assert deaths == [1]


class _StandInDriver:
    """Records what the CUDA path asks of the driver; the memory is the host's."""

    def __init__(self):
        self.synchronized = 0

    def synchronize(self):
        self.synchronized += 1


def test_the_cuda_path_on_host_memory_with_a_stand_in_driver(monkeypatch):
    # Device pointers are never read on the way in or out, so host memory labelled
    # kDLCUDA runs the whole CUDA path here: stream, synchronization, ownership.
    drv = _StandInDriver()
    monkeypatch.setattr(dlpack, "driver", lambda: drv)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    exported: list = []
    producer = _Producer(lambda: _export(a, exported, device=(dlpack.KDL_CUDA, 0)), (dlpack.KDL_CUDA, 0))
    d = tfn.from_dlpack(producer)
    assert producer.streams == [1] and drv.synchronized == 1
    assert isinstance(d, tfn.DeviceArray) and (d.shape, d.dtype, d.pointer) == ((2, 3), np.float32, a.ctypes.data)

    # out again: a DeviceArray's capsule, read back by tfn, shares the pointer
    outer: list = []
    weakref.finalize(d, outer.append, 1)
    capsule = d.__dlpack__(stream=7)
    assert drv.synchronized == 2 and "dltensor" in repr(capsule)
    e = tfn.from_dlpack(capsule)
    assert e.pointer == a.ctypes.data and e is not d and "used_dltensor" in repr(capsule)
    del d, capsule
    gc.collect()
    assert outer == [] and exported == []
    del e
    gc.collect()
    assert outer == [1] and exported == [1]  # each deleter ran once, in order

    with pytest.raises(ValueError, match="stream"):
        tfn.DeviceArray((3,), np.float32, a.ctypes.data, owned=False).__dlpack__(stream="default")
    refused: list = []
    strided = _Producer(lambda: _strided_capsule(a, refused), (dlpack.KDL_CUDA, 0))
    with pytest.raises(BufferError, match="not row-major"):
        tfn.from_dlpack(strided)
    gc.collect()
    assert refused == [1]  # a refused capsule is not taken: its destructor deleted the tensor


def _strided_capsule(a: np.ndarray, deaths: list):
    capsule = _export(a, deaths, device=(dlpack.KDL_CUDA, 0))
    tensor = dlpack._parse(capsule)[1]
    strides = (ctypes.c_int64 * 2).from_address(tensor.strides)
    strides[0], strides[1] = 1, 2
    return capsule


# ---- CUDA device 0 (skipped without a GPU)
def _gpu_or_skip():
    try:
        return device_chip()
    except CudaUnavailable as e:
        pytest.skip(f"no CUDA device: {e}")


def test_device_arrays_round_trip_through_a_capsule():
    _gpu_or_skip()
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    d = tfn.device_put(x)
    assert d.__dlpack_device__() == (2, 0)
    assert tfn.from_dlpack(d) is d
    deaths: list = []
    weakref.finalize(d, deaths.append, 1)
    pointer = d.pointer
    capsule = d.__dlpack__(stream=1)
    e = tfn.from_dlpack(capsule)
    assert isinstance(e, tfn.DeviceArray) and (e.shape, e.dtype, e.pointer) == ((3, 4), np.float32, pointer)
    assert "used_dltensor" in repr(capsule)
    imports: list = []
    weakref.finalize(e.base, imports.append, 1)
    del d, capsule
    gc.collect()
    assert deaths == [] and imports == []  # e keeps the exported array alive
    np.testing.assert_array_equal(np.asarray(e), x)
    del e
    gc.collect()
    assert imports == [1] and deaths == [1]  # the deleter ran once, and let go of the array
    gc.collect()
    assert deaths == [1]


def test_device_arrays_through_the_protocol_and_unconsumed_capsules():
    _gpu_or_skip()
    d = tfn.device_put(np.arange(5, dtype=np.int64))
    producer = _Producer(lambda: d.__dlpack__(), d.__dlpack_device__())
    e = tfn.from_dlpack(producer)
    assert producer.streams == [1]  # the legacy default stream, waited for before returning
    assert e.pointer == d.pointer and e.dtype == np.int64
    deaths: list = []
    f = tfn.device_put(np.ones(3, np.bool_))
    weakref.finalize(f, deaths.append, 1)
    capsule = f.__dlpack__()
    del f
    gc.collect()
    assert deaths == []
    del capsule
    gc.collect()
    assert deaths == [1]
    copied = tfn.from_dlpack(d.__dlpack__(copy=True))
    assert copied.pointer != d.pointer
    np.testing.assert_array_equal(np.asarray(copied), np.arange(5))
    with pytest.raises(BufferError, match="CPU"):
        d.__dlpack__(dl_device=(1, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_jit_on_gpu_takes_device_arrays_made_from_capsules(dtype):
    _gpu_or_skip()
    x = (np.arange(6).reshape(2, 3) % 3).astype(dtype)
    e = tfn.from_dlpack(tfn.device_put(x).__dlpack__())
    r = tfn.jit(lambda x: (x + x, x * x), device="cuda")(e)
    assert all(isinstance(a, tfn.DeviceArray) for a in r)
    np.testing.assert_array_equal(np.asarray(r[0]), x + x)
    np.testing.assert_array_equal(np.asarray(r[1]), x * x)
    zero_d = tfn.from_dlpack(tfn.device_put(np.asarray(x.flat[1])).__dlpack__())
    assert zero_d.shape == ()
    np.testing.assert_array_equal(np.asarray(tfn.jit(lambda x: x * x, device="cuda")(zero_d)), x.flat[1] * x.flat[1])
    empty = tfn.from_dlpack(tfn.device_put(np.zeros((0, 3), dtype)).__dlpack__())
    assert (empty.shape, empty.dtype, np.asarray(empty).shape) == ((0, 3), np.dtype(dtype), (0, 3))


def test_torch_cuda_tensors_in_and_out_without_a_copy():
    _gpu_or_skip()
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    t = torch.arange(12, dtype=torch.float32, device="cuda").reshape(3, 4)
    d = tfn.from_dlpack(t)
    assert isinstance(d, tfn.DeviceArray) and d.pointer == t.data_ptr()
    assert tfn.from_dlpack(t[1:]).pointer == t[1:].data_ptr()
    r = tfn.jit(lambda x: x * 2 + 1, device="cuda")(t)  # wrapped, never through the host
    assert isinstance(r, tfn.DeviceArray)
    back = torch.from_dlpack(r)
    assert back.data_ptr() == r.pointer and back.device.type == "cuda"
    torch.testing.assert_close(back, t * 2 + 1)
    with pytest.raises(BufferError, match="not row-major"):
        tfn.from_dlpack(t.T)
    with pytest.raises(TypeError, match="complex64"):
        tfn.from_dlpack(t.to(torch.complex64))


def test_cupy_arrays_in_and_out_sharing_memory():
    _gpu_or_skip()
    cupy = pytest.importorskip("cupy")
    c = cupy.arange(12, dtype=cupy.float32).reshape(3, 4)
    d = tfn.from_dlpack(c)
    assert isinstance(d, tfn.DeviceArray) and d.pointer == c.data.ptr
    back = cupy.from_dlpack(d)
    assert back.data.ptr == d.pointer
    back[0, 0] = 42.0            # a write through one side is seen by the other
    assert float(np.asarray(d)[0, 0]) == 42.0
    r = tfn.jit(lambda x: x * 2 + 1, device="cuda")(c)
    np.testing.assert_array_equal(cupy.asnumpy(cupy.from_dlpack(r)), cupy.asnumpy(c) * 2 + 1)


def test_jax_gpu_arrays_in_and_out_without_a_copy():
    _gpu_or_skip()
    jax = pytest.importorskip("jax")
    try:
        gpu = jax.devices("gpu")[0]
    except RuntimeError:
        pytest.skip("JAX without a GPU")
    a = jax.device_put(np.arange(8, dtype=np.float32), gpu)
    d = tfn.from_dlpack(a)
    assert isinstance(d, tfn.DeviceArray) and d.pointer == a.unsafe_buffer_pointer()
    r = tfn.jit(lambda x: tfn.numpy.sin(x), device="cuda")(a)
    back = jax.dlpack.from_dlpack(r)
    assert back.unsafe_buffer_pointer() == r.pointer
    np.testing.assert_allclose(np.asarray(back), np.sin(np.arange(8, dtype=np.float32)), rtol=1e-6)
