"""tfn.dynamic_slice and tfn.dynamic_update_slice (`tfn.lax.dynamic_slice` and friends).

Values against numpy (starts clamped into the operand, negative ones counted from the end;
f32, f64, int32, bool), under jit and eagerly; JVPs and gradients against finite
differences, transposes by the dot-product test, jacfwd against jacrev; vmap against a
loop with a batched operand, batched starts, or both; and the error messages.
"""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn.lax import (dynamic_index_in_dim, dynamic_slice, dynamic_slice_in_dim, dynamic_update_index_in_dim,
                     dynamic_update_slice)

from conftest import check_dot_product, loop_reference, small_ints_or_normals

RNG = np.random.default_rng(0)
pytestmark = pytest.mark.filterwarnings("ignore::tfn.RecompileWarning")


_array = small_ints_or_normals


def _clamped(starts, shape, sizes):
    """numpy's reference of the start rule: negative from the end (API), then clamped (op)."""
    starts = [s + n if s < 0 else s for s, n in zip(starts, shape)]
    return [min(max(s, 0), n - k) for s, n, k in zip(starts, shape, sizes)]


def np_dynamic_slice(x, starts, sizes):
    s = _clamped(starts, x.shape, sizes)
    return x[tuple(slice(b, b + k) for b, k in zip(s, sizes))]


def np_dynamic_update_slice(x, u, starts):
    s = _clamped(starts, x.shape, u.shape)
    out = x.copy()
    out[tuple(slice(b, b + k) for b, k in zip(s, u.shape))] = u
    return out


# Start tuples inside, at the edge, past the end (clamped), negative (from the end) and far negative.
STARTS = [(0, 0), (1, 2), (3, 4), (5, 9), (-1, -2), (-9, 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("starts", STARTS)
def test_dynamic_slice_matches_numpy(dtype, starts):
    x = _array((4, 6), dtype)
    f = tfn.jit(lambda x, i, j: dynamic_slice(x, (i, j), (2, 3)))
    out = f(x, np.int32(starts[0]), np.int32(starts[1]))
    ref = np_dynamic_slice(x, starts, (2, 3))
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("starts", STARTS)
def test_dynamic_update_slice_matches_numpy(dtype, starts):
    x, u = _array((4, 6), dtype), _array((2, 3), dtype, seed=1)
    f = tfn.jit(lambda x, u, i, j: dynamic_update_slice(x, u, (i, j)))
    out = f(x, u, np.int64(starts[0]), np.int64(starts[1]))
    ref = np_dynamic_update_slice(x, u, starts)
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(out, ref)


def test_start_indices_as_a_1d_array_and_python_ints_eagerly():
    x = _array((5, 4, 3), np.float64)
    np.testing.assert_array_equal(dynamic_slice(x, np.array([4, 1, 0]), (2, 2, 3)),
                                  np_dynamic_slice(x, (4, 1, 0), (2, 2, 3)))
    np.testing.assert_array_equal(dynamic_slice(x, (1, 1, 1), (5, 4, 3)), x)   # the whole operand
    u = np.ones((1, 4, 1))
    np.testing.assert_array_equal(dynamic_update_slice(x, u, (2, 0, 2)), np_dynamic_update_slice(x, u, (2, 0, 2)))


def test_traced_1d_start_indices():
    x = _array((5, 4), np.float32)
    f = tfn.jit(lambda x, s: dynamic_slice(x, s, (3, 1)))
    np.testing.assert_array_equal(f(x, np.array([3, -1], np.int32)), np_dynamic_slice(x, (3, -1), (3, 1)))


def test_in_dim_helpers():
    x = _array((4, 5), np.float32)
    f = tfn.jit(lambda x, i: dynamic_index_in_dim(x, i, axis=1, keepdims=False))
    np.testing.assert_array_equal(f(x, np.int32(3)), x[:, 3])
    g = tfn.jit(lambda x, i: dynamic_index_in_dim(x, i))
    np.testing.assert_array_equal(g(x, np.int32(-1)), x[-1:])
    h = tfn.jit(lambda x, i: dynamic_slice_in_dim(x, i, 2, axis=1))
    np.testing.assert_array_equal(h(x, np.int32(4)), x[:, 3:5])
    row = np.arange(5, dtype=np.float32)
    k = tfn.jit(lambda x, r, i: dynamic_update_index_in_dim(x, r, i, 0))
    ref = x.copy()
    ref[2] = row
    np.testing.assert_array_equal(k(x, row, np.int32(2)), ref)


def test_errors_name_the_op():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(Exception, match="slice_sizes"):
        tfn.jit(lambda x: dynamic_slice(x, (0, 0), (4, 1)))(x)
    with pytest.raises(Exception, match="start"):
        tfn.jit(lambda x: dynamic_slice(x, (0,), (1, 1)))(x)
    with pytest.raises(Exception, match="update"):
        tfn.jit(lambda x: dynamic_update_slice(x, np.zeros((4, 1), np.float32), (0, 0)))(x)


# ---------------------------------------------------------------- derivatives

def _finite_difference(f, x, v, eps=1e-6):
    return (np.asarray(f(x + eps * v)) - np.asarray(f(x - eps * v))) / (2 * eps)


@pytest.mark.parametrize("starts", [(1, 2), (3, 5), (-1, 0)])
def test_jvp_and_grad_of_dynamic_slice_match_finite_differences(starts):
    x = _array((4, 6), np.float64)
    i, j = np.int32(starts[0]), np.int32(starts[1])
    f = lambda x: tnp.sin(dynamic_slice(x, (i, j), (2, 3)))   # noqa: E731
    v = RNG.standard_normal(x.shape)
    _, t = tfn.jvp(f, (x,), (v,))
    np.testing.assert_allclose(t, _finite_difference(f, x, v), rtol=1e-6, atol=1e-8)
    g = tfn.grad(lambda x, i, j: tnp.sum(tnp.sin(dynamic_slice(x, (i, j), (2, 3))) ** 2))(x, i, j)
    s = _clamped(starts, x.shape, (2, 3))
    ref = np.zeros_like(x)
    window = x[s[0]:s[0] + 2, s[1]:s[1] + 3]
    ref[s[0]:s[0] + 2, s[1]:s[1] + 3] = 2 * np.sin(window) * np.cos(window)
    np.testing.assert_allclose(g, ref, rtol=1e-12)


@pytest.mark.parametrize("starts", [(1, 2), (3, 5), (-1, 0)])
def test_jvp_and_grad_of_dynamic_update_slice_match_finite_differences(starts):
    x, u = _array((4, 6), np.float64), _array((2, 3), np.float64, seed=1)
    i, j = np.int32(starts[0]), np.int32(starts[1])

    def f(x, u):
        return tnp.sin(dynamic_update_slice(x * x, u * 3.0, (i, j)))
    vx, vu = RNG.standard_normal(x.shape), RNG.standard_normal(u.shape)
    _, t = tfn.jvp(f, (x, u), (vx, vu))
    eps = 1e-6
    fd = (f(x + eps * vx, u + eps * vu) - f(x - eps * vx, u - eps * vu)) / (2 * eps)
    np.testing.assert_allclose(t, fd, rtol=1e-6, atol=1e-8)
    gx, gu = tfn.grad(lambda x, u: tnp.sum(f(x, u)), argnums=(0, 1))(x, u)
    for g, a, direction in ((gx, x, 0), (gu, u, 1)):
        v = RNG.standard_normal(a.shape)
        args = lambda e: (x + e * v, u) if direction == 0 else (x, u + e * v)   # noqa: E731
        fd = (np.sum(f(*args(eps))) - np.sum(f(*args(-eps)))) / (2 * eps)
        assert float(np.sum(g * v)) == pytest.approx(float(fd), rel=1e-6)


def test_dot_product_test():
    x, u = _array((5, 4), np.float64), _array((2, 3), np.float64, seed=1)
    starts = (np.int32(4), np.int32(-3))
    check_dot_product(lambda x: dynamic_slice(x, starts, (2, 3)), [x], RNG)
    check_dot_product(lambda x, u: dynamic_update_slice(x, u, starts), [x, u], RNG)
    check_dot_product(lambda u: dynamic_update_slice(x, u, starts), [u], RNG)


def test_jacfwd_matches_jacrev():
    x, u = _array((4, 5), np.float64), _array((2, 2), np.float64, seed=1)

    def f(x, u, i):
        return tnp.tanh(dynamic_slice(dynamic_update_slice(x, u * x[:2, :2], (i, i)), (i, 1), (3, 3)))
    i = np.int32(2)
    for argnums in (0, 1):
        jf = tfn.jacfwd(f, argnums=argnums)(x, u, i)
        jr = tfn.jacrev(f, argnums=argnums)(x, u, i)
        np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-14)


def test_grad_with_respect_to_a_loop_carry_indexed_by_a_counter():
    # The tape pattern: write step k's value at row k, read it back later.
    x = _array((3,), np.float64)

    def f(x):
        tape = tnp.zeros((4, 3))
        h = x
        for k in range(4):
            tape = dynamic_update_index_in_dim(tape, h, np.int32(k), 0)
            h = tnp.sin(dynamic_index_in_dim(tape, np.int32(k), keepdims=False)) * 2.0
        return tnp.sum(tape * tape)
    g = tfn.grad(f)(x)
    v = RNG.standard_normal(x.shape)
    assert float(np.sum(g * v)) == pytest.approx(float(_finite_difference(f, x, v)), rel=1e-6)


# ---------------------------------------------------------------- vmap

def _slice_fn(x, s):
    return dynamic_slice(x, s, (2, 3))


def _update_fn(x, u, s):
    return dynamic_update_slice(x, u, s)


STARTS_BATCH = np.array([[0, 0], [3, 5], [-1, 2], [2, -9], [1, 1]], np.int32)
VMAPS = {
    "slice operand batched": (_slice_fn, (0, None), (_array((5, 4, 6), np.float32), np.array([2, 4], np.int32))),
    "slice operand batched at dim 2": (_slice_fn, (2, None), (_array((4, 6, 5), np.float32),
                                                              np.array([-1, 1], np.int32))),
    "slice starts batched": (_slice_fn, (None, 0), (_array((4, 6), np.float32), STARTS_BATCH)),
    "slice both batched": (_slice_fn, (1, 0), (_array((4, 5, 6), np.float64), STARTS_BATCH)),
    "slice both batched, starts at dim 1": (_slice_fn, (0, 1), (_array((5, 4, 6), np.int32), STARTS_BATCH.T.copy())),
    "update operand batched": (_update_fn, (0, None, None), (_array((5, 4, 6), np.float32),
                                                             _array((2, 3), np.float32, 1), np.array([3, 4], np.int32))),
    "update update batched": (_update_fn, (None, 0, None), (_array((4, 6), np.float32),
                                                            _array((5, 2, 3), np.float32, 1), np.array([1, 9], np.int32))),
    "update starts batched": (_update_fn, (None, None, 0), (_array((4, 6), np.float64),
                                                            _array((2, 3), np.float64, 1), STARTS_BATCH)),
    "update all batched": (_update_fn, (2, 0, 0), (_array((4, 6, 5), np.float32),
                                                   _array((5, 2, 3), np.float32, 1), STARTS_BATCH)),
    "update bools, starts batched": (_update_fn, (0, None, 0), (_array((5, 4, 6), np.bool_),
                                                                _array((2, 3), np.bool_, 1), STARTS_BATCH)),
}


@pytest.mark.parametrize("name", sorted(VMAPS))
def test_vmap_against_loop(name):
    f, in_dims, args = VMAPS[name]
    ref = loop_reference(tfn.jit(f), args, in_dims)
    out = tfn.vmap(f, in_dims=in_dims)(*args)
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(out, ref)


def test_vmap_of_grad_with_batched_starts():
    x = _array((5, 4, 6), np.float64)
    g = tfn.vmap(tfn.grad(lambda x, s: tnp.sum(_slice_fn(x, s) ** 2)))(x, STARTS_BATCH)
    ref = np.zeros_like(x)
    for b in range(5):
        s = _clamped(STARTS_BATCH[b], (4, 6), (2, 3))
        ref[b, s[0]:s[0] + 2, s[1]:s[1] + 3] = 2 * x[b, s[0]:s[0] + 2, s[1]:s[1] + 3]
    np.testing.assert_allclose(g, ref, rtol=1e-14)
    gu = tfn.vmap(tfn.grad(lambda u, s: tnp.sum(_update_fn(x[0], u, s) ** 3)), in_dims=(None, 0))(
        np.ones((2, 3)), STARTS_BATCH)
    np.testing.assert_allclose(gu, np.full((5, 2, 3), 3.0))


# ---------------------------------------------------------------- the CUDA form

class _Cuda:
    """Stands in for the lowering target: the ops' CUDA form, compiled and run on the CPU."""
    @staticmethod
    def get():
        return "cuda"


@pytest.mark.parametrize("starts", STARTS)
def test_the_cuda_form_computes_the_same_on_the_cpu(monkeypatch, starts):
    import tfn.ops.dynamic_slicing as family
    monkeypatch.setattr(family, "TARGET", _Cuda)
    x, u = _array((4, 6), np.float32), _array((2, 3), np.float32, seed=1)
    i, j = np.int32(starts[0]), np.int32(starts[1])
    out = tfn.jit(lambda x, i, j: dynamic_slice(x, (i, j), (2, 3)) * 1.0)(x, i, j)
    np.testing.assert_array_equal(out, np_dynamic_slice(x, starts, (2, 3)))
    out = tfn.jit(lambda x, u, i, j: dynamic_update_slice(x, u, (i, j)) * 1.0)(x, u, i, j)
    np.testing.assert_array_equal(out, np_dynamic_update_slice(x, u, starts))
    b = _array((4, 6), np.bool_)
    out = tfn.jit(lambda b, i, j: dynamic_update_slice(b, ~b[:2, :3], (i, j)))(b, i, j)
    np.testing.assert_array_equal(out, np_dynamic_update_slice(b, ~b[:2, :3], starts))


def test_on_cuda_the_ops_lower_to_kernels_without_a_gpu():
    from mlir import ir
    from tfn.api.jit import trace_module
    from tfn.frontend.tracer import ShapeDtype, context
    from tfn.runtime.cuda import lower_for_cuda
    x, u = _array((4, 5), np.float32), _array((2, 2), np.float32, seed=1)
    cases = [(lambda x, i: dynamic_slice(x, (i, 1), (2, 2)) * 2.0, (x, np.int32(1))),
             (lambda x, u, i: dynamic_update_slice(x * 2.0, u, (i, 1)), (x, u, np.int32(1))),
             (tfn.grad(lambda x, i: tnp.sum(dynamic_slice(x, (i, 1), (2, 2)) ** 2)), (x, np.int32(3)))]
    for f, args in cases:
        with context(), ir.Location.unknown():
            module, _ = trace_module(f, args, {}, [ShapeDtype.of(a) for a in args])
            stages = lower_for_cuda(module, "main", "sm_90")   # no host reads of device memory
        assert "gpu.launch_func" in stages["gpu"] and ".target sm_90" in stages["llvm"]


# ---------------------------------------------------------------- numpy indexing by traced scalars

INDEXES = {
    "x[i]": lambda i, j: i,
    "x[i, :, j]": lambda i, j: (i, slice(None), j),
    "x[..., j]": lambda i, j: (Ellipsis, j),
    "x[None, i, 1:, None]": lambda i, j: (None, i, slice(1, None), None),
    "x[1:, i, ::-1]": lambda i, j: (slice(1, None), i, slice(None, None, -1)),
}
SCALARS = [(0, 0), (1, 3), (-1, -4), (2, 4), (-3, -5)]   # the last two out of bounds in some dim


def _np_getitem(x, index):
    try:
        return x[index]
    except IndexError:
        return None


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_getitem_with_traced_scalars_is_a_dynamic_slice(name):
    x = _array((3, 4, 4), np.float32)
    f = tfn.jit(lambda x, i, j: x[INDEXES[name](i, j)])
    assert "tfn.dynamic_slice" in f.lower(x, np.int32(0), np.int32(0)).as_text("tfn")
    for i, j in SCALARS:
        out = f(x, np.int32(i), np.int32(j))
        ref = _np_getitem(x, INDEXES[name](i, j))
        if ref is None:   # out of bounds: reads 0, as a gather does (numpy raises)
            assert not out.any()
        else:
            np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("kind", ["set", "add", "max"])
@pytest.mark.parametrize("name", ["x[i]", "x[i, :, j]", "x[..., j]"])
def test_at_update_with_traced_scalars_is_a_dynamic_update_slice(kind, name):
    x = _array((3, 4, 4), np.float32)
    f = tfn.jit(lambda x, i, j, v: getattr(x.at[INDEXES[name](i, j)], kind)(v))
    assert "tfn.dynamic_update_slice" in f.lower(x, np.int32(0), np.int32(0), np.float32(2)).as_text("tfn")
    for i, j in SCALARS:
        ref = x.copy()
        index = INDEXES[name](i, j)
        if _np_getitem(x, index) is not None:   # out of bounds: the update is dropped
            ref[index] = {"set": 2.0, "add": ref[index] + 2.0, "max": np.maximum(ref[index], 2.0)}[kind]
        np.testing.assert_array_equal(f(x, np.int32(i), np.int32(j), np.float32(2)), ref)


def test_gradient_and_vmap_through_traced_scalar_indexing():
    x = _array((4, 3), np.float64)
    g = tfn.grad(lambda x, i: tnp.sum(x[i] ** 2) + tnp.sum(x.at[i].set(1.0)))(x, np.int32(2))
    ref = np.ones_like(x)
    ref[2] = 2 * x[2]
    np.testing.assert_allclose(g, ref, rtol=1e-14)
    idx = np.array([3, 0, -1, 7], np.int32)
    out = tfn.vmap(lambda i: tnp.asarray(x)[i], in_dims=0)(idx)
    np.testing.assert_array_equal(out, [x[3], x[0], x[-1], np.zeros(3)])
    out = tfn.vmap(lambda x, i: x.at[i].add(1.0))(np.stack([x] * 4), idx)
    ref = np.stack([x] * 4)
    for b, i in enumerate(idx[:3]):
        ref[b, i] += 1.0
    np.testing.assert_array_equal(out, ref)
