"""Threads of the gemm calls: tfn decides them per contraction and leaves OpenBLAS as it found it."""
import ctypes
import os

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn.passes.linalg_to_blas import PER_THREAD_MNK, cores, gemm_threads
from tfn.runtime import blas


def test_small_contractions_run_on_one_thread():
    assert gemm_threads(1, 1, 1, 8) == 1
    assert gemm_threads(64, 64, 64, 8) == 1
    assert gemm_threads(128, 128, 128, 8) == 1
    assert gemm_threads(1, 1, PER_THREAD_MNK - 1, 8) == 1


def test_large_contractions_use_several_threads_up_to_the_cores():
    assert gemm_threads(512, 512, 512, 8) == 8
    assert gemm_threads(512, 512, 512, 2) == 2
    assert gemm_threads(512, 512, 512, 1) == 1
    assert gemm_threads(1, 2, PER_THREAD_MNK, 64) == 2   # each thread gets PER_THREAD_MNK
    for available in (1, 2, 3, 16):
        for size in (1, 100, 1000, 5000):
            assert 1 <= gemm_threads(size, size, size, available) <= available


def test_cores_are_those_this_process_may_use():
    if hasattr(os, "sched_getaffinity"):
        assert cores() == len(os.sched_getaffinity(0))
    assert cores() >= 1


needs_blas = pytest.mark.skipif(not blas.available(), reason="numpy's OpenBLAS could not be loaded")


def _openblas():
    lib = ctypes.CDLL(blas.library())
    lib.scipy_openblas_set_num_threads64_.argtypes = [ctypes.c_int]
    lib.scipy_openblas_get_num_threads64_.restype = ctypes.c_int
    return lib.scipy_openblas_get_num_threads64_, lib.scipy_openblas_set_num_threads64_


# 64^3 stays below the threshold, 320^3 is above it (several threads where there are cores).
SIZES = [(64, 64, 64), (320, 320, 320), (8, 2048, 1024)]


@needs_blas
@pytest.mark.parametrize("m,k,n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_leaves_the_thread_count_as_it_found_it_and_is_right(m, k, n, dtype):
    get, set_ = _openblas()
    before = get()
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    f = tfn.jit(lambda a, b: tnp.tanh(a @ b) @ b.T)
    want = np.tanh(a.astype(np.float64) @ b) @ b.T.astype(np.float64)
    tol = 1e-3 if dtype == np.float32 else 1e-9
    try:
        for count in (1, 3, before):
            set_(count)
            np.testing.assert_allclose(f(a, b), want, rtol=tol, atol=tol * k)
            assert get() == count
    finally:
        set_(before)


@needs_blas
def test_batched_gemm_is_right_and_restores_the_count():
    get, set_ = _openblas()
    before = get()
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 300, 200)), rng.standard_normal((4, 200, 300))
    f = tfn.jit(lambda a, b: tnp.matmul(a, b))
    try:
        set_(2)
        np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-10, atol=1e-10)
        assert get() == 2
    finally:
        set_(before)


@needs_blas
def test_the_decision_is_in_the_code():
    a = np.ones((320, 320), np.float32)
    text = tfn.jit(lambda a, b: (a @ b)[:8] @ b[:, :8]).lower(a, a).as_text("buffers")
    assert text.count("call @scipy_openblas_set_num_threads64_") == 3   # two gemms and the restore
    assert "arith.minsi" in text or cores() == 1                      # the large one, capped


@needs_blas
def test_only_calls_on_several_threads_are_timed():
    small, large = np.ones((64, 64), np.float32), np.ones((320, 320), np.float32)
    assert "clock_gettime" not in tfn.jit(lambda a: a @ a).lower(small).as_text("buffers")
    if cores() > 1:
        assert "clock_gettime" in tfn.jit(lambda a: a @ a).lower(large).as_text("buffers")


@needs_blas
def test_aot_code_with_blas_runs_and_restores_the_count(tmp_path):
    from tfn import aot
    blas.library()   # numpy's OpenBLAS loaded globally: the library's gemm symbols resolve to it
    get, set_ = _openblas()
    before = get()
    a = np.random.default_rng(2).standard_normal((320, 320)).astype(np.float32)
    art = aot.compile(lambda a, b: (a @ b)[:8] @ b[:, :8], a, a, name="gemms", use_blas=True)
    so = art.write(tmp_path / "gemms", emit=("so",))["so"][0]
    function = ctypes.CDLL(str(so)).gemms
    function.restype = ctypes.c_int
    out = np.zeros((8, 8), np.float32)
    try:
        set_(1)
        assert function(*(x.ctypes.data_as(ctypes.c_void_p) for x in (a, a, out))) == 0
        assert get() == 1
    finally:
        set_(before)
    np.testing.assert_allclose(out, (a @ a)[:8] @ a[:, :8], rtol=1e-3, atol=1e-2)
