"""take and take_along_axis select, they do not contract: an inf or nan on the gathered
axis reaches only the results that pick it, and only its own gradient entry.

Gathers are exact, so results are compared bit for bit with numpy (nan equal to nan);
gradients against numpy's scatter-add (`np.add.at`), vmap against a Python loop.
"""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp

FLOATS = (np.float32, np.float64)
INF, NAN = np.inf, np.nan


def nonfinite(shape, dtype, seed=0) -> np.ndarray:
    """Finite values with inf, -inf and nan planted along every axis."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape)
    flat = data.reshape(-1)
    spots = rng.permutation(flat.size)[:max(3, flat.size // 3)]
    flat[spots] = np.resize([INF, -INF, NAN], spots.size)
    return data.astype(dtype)


def same(out, ref) -> None:
    ref = np.asarray(ref)
    assert isinstance(out, np.ndarray), type(out)
    assert out.dtype == ref.dtype, f"dtype {out.dtype}, numpy gives {ref.dtype}"
    assert out.shape == ref.shape, f"shape {out.shape}, numpy gives {ref.shape}"
    np.testing.assert_array_equal(out, ref)  # nan matches nan


# ---------------------------------------------------------------- values against numpy

TAKES = [  # (shape of a, indices, axis)
    ((5,), np.array([0]), None),
    ((5,), np.array([4, -1, 0, -5, 2, 2]), 0),
    ((5,), np.int64(-2), 0),
    ((3, 4), np.array([[3, 0], [-1, 1]]), 1),
    ((3, 4), np.array([2, -3, 0]), 0),
    ((3, 4), np.array([[0, 11], [-1, 5]]), None),
    ((2, 3, 4), np.array([-1, 0, 2, 2]), 1),
    ((2, 3, 4), np.array([[3], [-4]]), -1),
    ((2, 3, 4), np.array([1, -2]), -3),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, idx, axis", TAKES)
def test_take_nonfinite_floats(dtype, shape, idx, axis):
    a = nonfinite(shape, dtype)
    ref = np.take(a, idx, axis=axis)
    same(tfn.jit(lambda a: tnp.take(a, idx, axis=axis))(a), ref)          # constant indices
    same(tfn.jit(lambda a, i: tnp.take(a, i, axis=axis))(a, idx), ref)    # traced indices
    same(tnp.take(a, idx, axis=axis), ref)                                 # eager


@pytest.mark.parametrize("dtype", (np.int32, np.int64, np.bool_))  # (u)int8/16 widen to int32 in tfn
@pytest.mark.parametrize("shape, idx, axis", TAKES)
def test_take_ints_and_bools(dtype, shape, idx, axis):
    rng = np.random.default_rng(1)
    a = (rng.random(shape) < 0.5) if dtype == np.bool_ else rng.integers(0, 100, shape).astype(dtype)
    ref = np.take(a, idx, axis=axis)
    same(tfn.jit(lambda a, i: tnp.take(a, i, axis=axis))(a, idx), ref)
    same(tfn.jit(lambda a: tnp.take(a, idx, axis=axis))(a), ref)


def test_take_reported_case():
    same(tfn.jit(lambda a: tnp.take(a, np.array([0])))(np.array([1.0, INF])), np.array([1.0]))
    same(tfn.jit(lambda a: tnp.take(a, [0]))(np.array([1.0, NAN, -INF])), np.array([1.0]))
    x = np.array([[1.0, INF, 3.0], [NAN, 5.0, -INF]])
    same(tfn.jit(lambda a: tnp.take_along_axis(a, np.array([[2], [1]]), 1))(x), np.array([[3.0], [5.0]]))


ALONG = [  # (shape of a, indices, axis)
    ((5,), np.array([4, -1, 0, 0]), 0),
    ((3, 4), np.array([[0, 3], [-1, 2], [1, 1]]), 1),
    ((3, 4), np.array([[2, 0, 1, -3]]), 0),
    ((3, 4), np.array([[1], [-4], [3]]), -1),
    ((2, 3, 4), np.array([[[0, 2, -1, 1]], [[2, 2, 0, -3]]]), 1),
    ((2, 3, 4), np.array([[[3], [0], [-2]]]), 2),           # broadcast along axis 0
]


@pytest.mark.parametrize("dtype", FLOATS + (np.int32, np.int64, np.bool_))
@pytest.mark.parametrize("shape, idx, axis", ALONG)
def test_take_along_axis(dtype, shape, idx, axis):
    if np.dtype(dtype).kind == "f":
        a = nonfinite(shape, dtype, seed=2)
    elif dtype == np.bool_:
        a = np.random.default_rng(3).random(shape) < 0.5
    else:
        a = np.random.default_rng(3).integers(-50, 50, shape).astype(dtype)
    ref = np.take_along_axis(a, idx, axis)
    same(tfn.jit(lambda a, i: tnp.take_along_axis(a, i, axis))(a, idx), ref)
    same(tfn.jit(lambda a: tnp.take_along_axis(a, idx, axis))(a), ref)


def test_all_nonfinite():
    a = np.array([[INF, -INF, NAN], [NAN, INF, -INF]])
    for idx in (np.array([0, 1, 2, -1, -2, -3]), np.array([[2, 2], [0, 1]])):
        for axis, i in ((None, idx), (0, idx % 2), (1, idx)):
            same(tfn.jit(lambda a, i: tnp.take(a, i, axis=axis))(a, i), np.take(a, i, axis=axis))


def test_traced_out_of_bounds_gives_zero():
    """Documented in take's docstring: a traced index matching no position gives 0 (False)."""
    a = np.array([1.0, INF, NAN, 4.0])
    idx = np.array([7, -5, 100, -1, 0])
    same(tfn.jit(lambda a, i: tnp.take(a, i))(a, idx), np.array([0.0, 0.0, 0.0, 4.0, 1.0]))
    same(tfn.jit(lambda a, i: tnp.take(a, i))(a > 2, idx), np.array([False, False, False, True, False]))
    same(tfn.jit(lambda a, i: tnp.take_along_axis(a, i, 0))(a, idx), np.array([0.0, 0.0, 0.0, 4.0, 1.0]))
    g = tfn.grad(lambda a, i: tnp.sum(tnp.take(a, i)), argnums=0)(a, idx)
    same(g, np.array([1.0, 0.0, 0.0, 1.0]))


# ---------------------------------------------------------------- gradients

def scatter_add(shape, idx, axis, ct) -> np.ndarray:
    """The transpose of np.take(·, idx, axis) applied to ct."""
    g = np.zeros(int(np.prod(shape)) if axis is None else shape)
    ax = 0 if axis is None else axis % len(shape)
    n = g.shape[ax]
    idx = np.asarray(idx) % n
    moved = np.moveaxis(g, ax, 0)                                  # a view
    ct = np.moveaxis(ct.reshape(g.shape[:ax] + idx.shape + g.shape[ax + 1:]), list(range(ax, ax + idx.ndim)),
                     list(range(idx.ndim)))
    np.add.at(moved, idx, ct)
    return g.reshape(shape)


@pytest.mark.parametrize("shape, idx, axis", TAKES)
def test_grad_take_is_scatter_add(shape, idx, axis):
    a = np.random.default_rng(4).standard_normal(shape)
    out_shape = np.take(a, idx, axis=axis).shape
    w = np.random.default_rng(5).standard_normal(out_shape)
    g = tfn.grad(lambda a: tnp.sum(tnp.take(a, idx, axis=axis) * w))(a)
    np.testing.assert_allclose(g, scatter_add(shape, idx, axis, w), rtol=1e-14, atol=0)
    gi = tfn.grad(lambda a, i: tnp.sum(tnp.take(a, i, axis=axis) * w), argnums=0)(a, idx)  # traced indices
    np.testing.assert_allclose(gi, g, rtol=1e-14, atol=0)


def test_grad_repeated_indices_against_finite_differences():
    a = np.random.default_rng(6).standard_normal((3, 4))
    idx = np.array([1, 1, -1, 0, 1])
    f = lambda a: tnp.sum(tnp.sin(tnp.take(a, idx, axis=1)))
    g = tfn.grad(f)(a)
    fd, h = np.zeros_like(a), 1e-6
    for k in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[k] = h
        fd[k] = (np.sum(np.sin(np.take(a + e, idx, axis=1))) - np.sum(np.sin(np.take(a - e, idx, axis=1)))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(g, scatter_add(a.shape, idx, 1, np.cos(np.take(a, idx, axis=1))), rtol=1e-14)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gradient_of_nonfinite_data(dtype):
    """Unselected inf and nan entries get an exact 0 cotangent; a selected inf gets its weight."""
    a = np.array([1.0, INF, NAN, -INF, 2.0], dtype)
    g = tfn.grad(lambda a: tnp.sum(tnp.take(a, np.array([0, 4, 0]))))(a)
    same(g, np.array([2.0, 0.0, 0.0, 0.0, 1.0], dtype))
    g = tfn.grad(lambda a: tnp.sum(tnp.take(a, np.array([1, -2, 1])) * 0.5))(a)   # the infs themselves
    same(g, np.array([0.0, 1.0, 0.0, 0.5, 0.0], dtype))
    x = np.array([[INF, 3.0, NAN], [-INF, NAN, 7.0]], dtype)
    g = tfn.grad(lambda x: tnp.sum(tnp.take_along_axis(x, np.array([[1], [2]]), 1)))(x)
    same(g, np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype))
    # forward mode: tangents of unselected entries do not leak
    t = np.array([1.0, INF, NAN, 1.0, 3.0], dtype)
    _, jt = tfn.jvp(lambda a: tnp.take(a, np.array([4, 0])), (a,), (t,))
    same(jt, np.array([3.0, 1.0], dtype))


def test_jacrev_and_hessian_of_take():
    a = np.array([0.5, -1.5, 2.0])
    idx = np.array([2, -3, 2])
    same(tfn.jacrev(lambda a: tnp.take(a, idx))(a), np.eye(3)[idx % 3])
    h = tfn.hessian(lambda a: tnp.sum(tnp.take(a, idx) ** 3))(a)
    np.testing.assert_allclose(h, np.diag(scatter_add((3,), idx, 0, 6 * np.take(a, idx))), rtol=1e-14)


# ---------------------------------------------------------------- vmap

def test_vmap_take_against_loop():
    a = nonfinite((4, 3, 5), np.float64, seed=7)
    idx = np.array([[0, -1], [4, 2], [-5, 1], [3, 3]])
    # mapped data, shared indices
    same(tfn.vmap(lambda x: tnp.take(x, idx[1], axis=1))(a), np.stack([np.take(x, idx[1], axis=1) for x in a]))
    # mapped data and indices
    same(tfn.vmap(lambda x, i: tnp.take(x, i, axis=-1))(a, idx),
         np.stack([np.take(x, i, axis=-1) for x, i in zip(a, idx)]))
    # shared data, mapped indices
    same(tfn.vmap(lambda i: tnp.take(a[0], i), in_dims=0)(idx), np.stack([np.take(a[0], i) for i in idx]))
    # mapped along another axis, take_along_axis
    along = np.array([[0, -1], [2, 2], [-3, 1], [1, 0], [2, -2]])
    same(tfn.vmap(lambda x, i: tnp.take_along_axis(x, i[None, :], 1), in_dims=(2, 0))(a, along),
         np.stack([np.take_along_axis(a[:, :, k], i[None, :], 1) for k, i in enumerate(along)]))


def test_vmap_of_grad_of_take():
    a = np.random.default_rng(8).standard_normal((3, 5))
    idx = np.array([[1, 1, 4], [0, -1, 2], [3, 3, 3]])
    g = tfn.vmap(tfn.grad(lambda x, i: tnp.sum(tnp.take(x, i) ** 2), argnums=0))(a, idx)
    ref = np.stack([scatter_add((5,), i, 0, 2 * np.take(x, i)) for x, i in zip(a, idx)])
    np.testing.assert_allclose(g, ref, rtol=1e-14)
