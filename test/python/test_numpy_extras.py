"""Edge cases of the rearranging, scan, sorting, bitwise and einsum functions of tfn.numpy
(the spec tables of test_numpy_ops, test_autodiff and test_vmap check them broadly)."""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn.dialect.core import ShapeError
from conftest import assert_close

RNG = np.random.default_rng(3)


# ---------------------------------------------------------------- sorting

@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 32, 33])
def test_argsort_is_stable_with_ties(n):
    x = RNG.integers(0, 3, (4, n)).astype(np.float64)
    got = tfn.jit(lambda v: (tnp.argsort(v), tnp.argsort(v, axis=0), tnp.sort(v, axis=-1)))(x)
    assert_close(got[0], np.argsort(x, kind="stable"))
    assert_close(got[1], np.argsort(x, axis=0, kind="stable"))
    assert_close(got[2], np.sort(x))


def test_sort_orders_nan_last_and_signed_zeros_stably():
    x = np.array([np.nan, 0.0, -np.inf, -0.0, np.nan, 1.0, np.inf, 0.0])
    idx, s = tfn.jit(lambda v: (tnp.argsort(v), tnp.sort(v)))(x)
    assert_close(idx, np.argsort(x, kind="stable"))
    assert_close(s, np.sort(x))


def test_sort_of_ints_and_bools():
    i = RNG.integers(-2**40, 2**40, 17)
    b = RNG.random(9) < 0.5
    si, ab = tfn.jit(lambda u, v: (tnp.sort(u), tnp.argsort(v)))(i, b)
    assert_close(si, np.sort(i))
    assert_close(ab, np.argsort(b, kind="stable"))
    extreme = np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max])
    assert_close(tnp.argsort(extreme), np.argsort(extreme, kind="stable"))


def test_top_k_matches_jax_with_ties():
    jax = pytest.importorskip("jax")
    x = np.array([[3.0, 1.0, 3.0, 2.0, 3.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]], np.float32)
    for k in (0, 1, 3, 7):
        v, i = tfn.jit(lambda a, k=k: tfn.lax.top_k(a, k))(x)
        jv, ji = jax.lax.top_k(x, k)
        assert_close(v, np.asarray(jv))
        assert_close(i, np.asarray(ji))
        assert i.dtype == np.int32


def test_top_k_gradient_goes_to_the_chosen_entries():
    x = np.array([0.5, 3.0, -1.0, 2.0, 3.0])
    g = tfn.grad(lambda v: tnp.sum(tfn.lax.top_k(v, 3)[0] * np.array([1.0, 10.0, 100.0])))(x)
    assert_close(g, np.array([0.0, 1.0, 0.0, 100.0, 10.0]))


def test_sort_gradient_is_the_permuted_cotangent():
    x = np.array([0.3, -1.0, 2.0, 0.1])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    g = tfn.grad(lambda v: tnp.sum(tnp.sort(v) * w))(x)
    expected = np.zeros(4)
    expected[np.argsort(x)] = w
    assert_close(g, expected)


def test_sort_with_order_is_refused():
    with pytest.raises(ShapeError, match="order"):
        tfn.jit(lambda v: tnp.sort(v, order="x"))(np.ones(3))


# ---------------------------------------------------------------- scans

def test_cumprod_with_zeros_values_and_gradient():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.5, -2.0, 0.0]])
    assert_close(tnp.cumprod(x, 1), np.cumprod(x, 1))
    g = tfn.grad(lambda v: tnp.sum(tnp.cumprod(v, 1)))(x)
    eps = 1e-6
    fd = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        fd[i] = (np.cumprod(x + d, 1).sum() - np.cumprod(x - d, 1).sum()) / (2 * eps)
    assert_close(g, fd, rtol=1e-8)


def test_lax_scans_match_jax():
    jax = pytest.importorskip("jax")
    x = RNG.standard_normal((5, 6)).astype(np.float32)
    for name in ("cumsum", "cumprod", "cummax", "cummin"):
        for axis, reverse in ((0, False), (1, True), (-1, False)):
            got = tfn.jit(lambda a, n=name, ax=axis, r=reverse: getattr(tfn.lax, n)(a, ax, r))(x)
            want = getattr(jax.lax, name)(x, axis % 2, reverse)
            assert_close(got, np.asarray(want), scale=1e-5)


def test_cummax_of_ints_and_long_axes():
    x = RNG.integers(-100, 100, (3, 1000))
    assert_close(tfn.lax.cummax(x, 1), np.maximum.accumulate(x, 1))
    assert_close(tnp.cumsum(x, 1), np.cumsum(x, 1))


# ---------------------------------------------------------------- einsum

EINSUMS = [("ii->i", (4, 4)), ("ii->", (4, 4)), ("iij->j", (3, 3, 2)), ("iji->j", (3, 2, 3)), ("iii->i", (3, 3, 3)),
           ("ii", (3, 3)), ("...ij,...jk->...ik", (2, 1, 2, 3), (4, 3, 5)), ("i,i...", (3,), (3, 2)),
           ("...ii->...", (2, 3, 3)), ("ij...,j...->i...", (2, 3, 4), (3, 1)), ("...", (2, 3)),
           ("ij,jk,kl,lm->im", (2, 3), (3, 4), (4, 2), (2, 5)), ("i,j,k->kji", (2,), (3,), (4,)),
           ("ii,jj->ij", (2, 2), (3, 3)), ("ab,ab,ab->", (2, 3), (2, 3), (2, 3)), ("ij,ji", (3, 3), (3, 3)),
           ("b...i,b...i->b...", (2, 3, 4), (2, 3, 4))]


@pytest.mark.parametrize("spec,shapes", [(s, sh) for s, *sh in EINSUMS], ids=[s for s, *_ in EINSUMS])
def test_einsum_forms_match_numpy(spec, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    got = tfn.jit(lambda *a: tnp.einsum(spec, *a))(*arrays)
    assert_close(got, np.einsum(spec, *arrays), scale=10.0)


def test_einsum_of_ints_and_bools_keeps_numpy_dtypes():
    a, b = np.arange(9, dtype=np.int32).reshape(3, 3), np.eye(3, dtype=bool)
    for spec, args in (("ii->", (a,)), ("ij,jk,kl->il", (a, b, a)), ("ii->i", (b,)), ("i...,i...", (a, b))):
        got, want = tnp.einsum(spec, *args), np.einsum(spec, *args)
        assert got.dtype == want.dtype
        assert_close(got, want)


@pytest.mark.parametrize("spec,shapes,match", [
    ("ij->i", [(2, 3, 4)], "does not fit"), ("ii->i", [(2, 3)], "repeats an index"),
    ("...i->i", [(2, 3)], "ellipsis"), ("ij,jk->ik", [(2, 3), (4, 5)], "sizes"), ("i->j", [(3,)], "output"),
    ("i,j", [(3,)], "operands")])
def test_einsum_errors(spec, shapes, match):
    arrays = [np.ones(s) for s in shapes]
    with pytest.raises(ShapeError, match=match):
        tfn.jit(lambda *a: tnp.einsum(spec, *a))(*arrays)


# ---------------------------------------------------------------- rearranging and bitwise

def test_repeat_needs_static_counts():
    with pytest.raises(tnp.TraceError, match="static"):
        tfn.jit(lambda x, r: tnp.repeat(x, r))(np.ones(3), np.array([1, 2, 0]))
    with pytest.raises(ShapeError, match="negative"):
        tfn.jit(lambda x: tnp.repeat(x, [1, -1, 0]))(np.ones(3))


def test_diagonal_and_diag_of_large_offsets_and_empty():
    m = RNG.standard_normal((3, 5))
    got = tfn.jit(lambda a: (tnp.diagonal(a, 5), tnp.diagonal(a, -3), tnp.diag(a, 4), tnp.diag(a[0, :0], 2),
                             tnp.trace(a, 7)))(m)
    want = (np.diagonal(m, 5), np.diagonal(m, -3), np.diag(m, 4), np.diag(m[0, :0], 2), np.trace(m, 7))
    for g, w in zip(got, want):
        assert_close(g, w)


def test_any_all_with_nan_and_empty():
    x = np.array([[np.nan, 0.0], [0.0, 0.0]])
    got = tfn.jit(lambda a: (tnp.any(a, axis=1), tnp.all(a, axis=0), tnp.all(a[:0]), tnp.any(a[:, :0], axis=1)))(x)
    for g, w in zip(got, (np.any(x, 1), np.all(x, 0), np.all(x[:0]), np.any(x[:, :0], 1))):
        assert_close(g, w)


def test_bitwise_refuses_floats_and_shifts_like_numpy():
    with pytest.raises(TypeError, match="bitwise_and"):
        tfn.jit(lambda a: tnp.bitwise_and(a, a))(np.ones(2))
    with pytest.raises(TypeError):
        tfn.jit(lambda a: a << 1)(np.ones(2))
    for dtype in (np.int32, np.int64):
        a = np.array([1, -1, 7, -8, 3, -5], dtype)
        s = np.array([0, 1, dtype(0).itemsize * 8 - 1, dtype(0).itemsize * 8, 100, -1], dtype)
        got = tfn.jit(lambda x, y: (x << y, x >> y))(a, s)
        assert_close(got[0], np.left_shift(a, s))
        assert_close(got[1], np.right_shift(a, s))


def test_bool_operators_stay_logical_and_ints_are_bitwise():
    a, b = np.array([True, False, True]), np.array([True, True, False])
    got = tfn.jit(lambda x, y: (x & y, x | y, x ^ y, ~x, x & 2))(a, b)
    for g, w in zip(got, (a & b, a | b, a ^ b, ~a, a & 2)):
        assert g.dtype == np.asarray(w).dtype
        assert_close(g, w)
    i = np.array([5, -3, 0], np.int64)
    assert_close(tfn.jit(lambda x: ~x & 6 | 1)(i), ~i & 6 | 1)


def test_grad_flows_through_integer_free_parts_only():
    # bitwise ops have no tangent: a mask built from them stops nothing it does not touch.
    x = np.array([1.0, 2.0, 3.0, 4.0])
    g = tfn.grad(lambda v: tnp.sum(tnp.where((tnp.arange(4) & 1) == 1, v * v, v)))(x)
    assert_close(g, np.array([1.0, 4.0, 1.0, 8.0]))
