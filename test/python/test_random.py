"""tfn.random: Threefry bits against a numpy reference, distribution moments, vmap randomness modes."""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn.batching import RandomnessError

KEY = tfn.random.key(42)


def _threefry2x32(k0, k1, x0, x1):
    """Random123's Threefry-2x32-20 in numpy uint32 arithmetic."""
    m = np.uint32
    k0, k1, x0, x1 = m(k0), m(k1), m(x0), m(x1)
    rot = ((13, 15, 26, 6), (17, 29, 16, 24))
    ks = [k0, k1, k0 ^ k1 ^ m(0x1BD11BDA)]
    with np.errstate(over="ignore"):
        x0, x1 = x0 + ks[0], x1 + ks[1]
        for g in range(5):
            for r in rot[g % 2]:
                x0 = x0 + x1
                x1 = ((x1 << m(r)) | (x1 >> m(32 - r))) ^ x0
            x0 = x0 + ks[(g + 1) % 3]
            x1 = x1 + ks[(g + 2) % 3] + m(g + 1)
    return x0, x1


def test_known_answer_and_numpy_reference():
    bits = tfn.random.bits(tfn.random.key(0), (4,)).view(np.uint32)
    assert bits[0] == 0x6B200159  # Random123 known-answer vector: key 0, counter 0
    k = KEY.view(np.uint32)
    out = tfn.random.bits(KEY, (2, 3)).view(np.uint32).ravel()
    ref = [_threefry2x32(k[0], k[1], c, 0)[0] for c in range(6)]
    np.testing.assert_array_equal(out, np.array(ref, np.uint32))


def test_keys_are_deterministic_and_splits_differ():
    assert tfn.random.key(7).shape == (2,) and tfn.random.key(7).dtype == np.int32
    np.testing.assert_array_equal(tfn.random.key(7), tfn.random.key(7))
    keys = tfn.random.split(KEY, 5)
    assert keys.shape == (5, 2) and len({tuple(k) for k in keys}) == 5
    np.testing.assert_array_equal(tfn.random.split(KEY, 5), keys)
    a = tfn.random.normal(keys[0], (4,))
    b = tfn.random.normal(keys[1], (4,))
    assert not np.allclose(a, b)
    assert not np.array_equal(tfn.random.fold_in(KEY, 1), tfn.random.fold_in(KEY, 2))


def test_same_numbers_eagerly_and_under_jit():
    eager = tfn.random.normal(KEY, (3, 2), np.float64)
    jitted = tfn.jit(lambda k: tfn.random.normal(k, (3, 2), np.float64))(KEY)
    np.testing.assert_array_equal(eager, jitted)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_moments(dtype):
    x = tfn.random.normal(KEY, (20000,), dtype)
    assert x.dtype == dtype and x.shape == (20000,)
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1) < 0.02
    assert abs(np.mean(x ** 3)) < 0.08 and abs(np.mean(x ** 4) - 3) < 0.15


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_moments_and_range(dtype):
    u = tfn.random.uniform(KEY, (20000,), dtype, minval=-2.0, maxval=3.0)
    assert u.dtype == dtype and u.min() >= -2.0 and u.max() < 3.0
    assert abs(u.mean() - 0.5) < 0.05 and abs(u.var() - 25 / 12) < 0.08
    hist, _ = np.histogram(u, bins=10, range=(-2, 3))
    assert hist.min() > 1800 and hist.max() < 2200


def test_bernoulli():
    b = tfn.random.bernoulli(KEY, 0.3, (20000,))
    assert b.dtype == np.bool_ and abs(b.mean() - 0.3) < 0.015


def test_bad_keys_and_dtypes():
    with pytest.raises(TypeError, match="a key is an int32 array"):
        tfn.random.normal(np.zeros(3, np.int32), (2,))
    with pytest.raises(TypeError, match="float dtype"):
        tfn.random.uniform(KEY, (2,), np.int32)


# ---------------------------------------------------------------- randomness inside vmap

def _noisy(x, key):
    return x + tfn.random.normal(key, x.shape, np.float64)


X = np.zeros((4, 3))


def test_vmap_randomness_error():
    with pytest.raises(RandomnessError, match="randomness='error'"):
        tfn.vmap(_noisy, in_dims=(0, None))(X, KEY)


def test_vmap_randomness_same():
    out = tfn.vmap(_noisy, in_dims=(0, None), randomness="same")(X, KEY)
    np.testing.assert_array_equal(out, np.broadcast_to(tfn.random.normal(KEY, (3,), np.float64), (4, 3)))


def test_vmap_randomness_different_is_per_example_split():
    out = tfn.vmap(_noisy, in_dims=(0, None), randomness="different")(X, KEY)
    assert len({tuple(r) for r in out}) == 4
    # the same numbers as mapping over split keys explicitly
    explicit = tfn.vmap(_noisy, in_dims=(0, 0))(X, tfn.random.split(KEY, 4))
    np.testing.assert_array_equal(out, explicit)


def test_nested_vmap_different_draws_everywhere():
    inner = tfn.vmap(_noisy, in_dims=(0, None), randomness="different")
    out = tfn.vmap(inner, in_dims=(0, None), randomness="different")(np.zeros((2, 4, 3)), KEY)
    assert len({tuple(r) for r in out.reshape(-1, 3)}) == 8


def test_dropout_in_a_vmapped_model_differs_per_sample():
    w = np.random.default_rng(0).standard_normal((5, 16))

    def model(x, key):
        h = tnp.tanh(x @ w)
        keep = tfn.random.bernoulli(key, 0.5, h.shape)
        return tnp.where(keep, h / 0.5, 0.0)
    xs = np.ones((3, 5))
    out = tfn.vmap(model, in_dims=(0, None), randomness="different")(xs, KEY)
    masks = out != 0
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])
    same = tfn.vmap(model, in_dims=(0, None), randomness="same")(xs, KEY)
    assert np.array_equal(same[0], same[1])


def test_per_sample_gradients_with_dropout():
    w = np.random.default_rng(1).standard_normal((5, 8))

    def loss(w, x, key):
        keep = tfn.random.bernoulli(key, 0.5, (8,))
        return tnp.sum(tnp.where(keep, x @ w, 0.0) ** 2)
    xs, keys = np.random.default_rng(2).standard_normal((3, 5)), tfn.random.split(KEY, 3)
    grads = tfn.vmap(tfn.grad(loss), in_dims=(None, 0, 0))(w, xs, keys)
    for i in range(3):
        np.testing.assert_allclose(grads[i], tfn.grad(loss)(w, xs[i], keys[i]), rtol=1e-12, atol=1e-12)


def test_chunking_with_different_randomness_is_refused():
    with pytest.raises(ValueError, match="chunk_size with randomness='different'"):
        tfn.vmap(_noisy, in_dims=(0, None), randomness="different", chunk_size=2)(X, KEY)
