"""`tfn.random`: stateless, key-based random numbers computed in the IR.

A key is an int32 array of shape (2,) (a batch of keys: shape (..., 2)). Every
draw is a pure function of its key, built on one op, `tfn.random_bits`
(Threefry-2x32 over a counter), so the same key gives the same numbers under
jit, eagerly, inside grad and inside vmap. Split a key rather than reuse it.

    >>> import tfn
    >>> k1, k2 = tfn.random.split(tfn.random.key(0))
    >>> tfn.random.uniform(k1, (3,)).shape
    (3,)

Inside `tfn.vmap`, a draw from an unmapped key follows the vmap's `randomness`:
'error' (the default) raises, 'same' draws once for the whole batch, 'different'
draws independently per example. A mapped key (e.g. `split(key, n)` passed with
in_dim 0) always draws per example.
"""
from __future__ import annotations

import numpy as np

from tfn import numpy as tnp
from tfn import ops
from tfn.dialect.types import canonical_dtype, is_float_dtype
from tfn.frontend.tracer import Tracer, value_of, wrap
from tfn.numpy._core import _op, _shape as _array_shape

__all__ = ["key", "split", "fold_in", "bits", "uniform", "normal", "bernoulli"]


def _shape(shape) -> tuple[int, ...]:
    if shape is None:
        return ()
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def _key_value(k):
    if isinstance(k, Tracer):
        if k.dtype != np.int32 or not k.shape or k.shape[-1] != 2:
            raise TypeError(f"tfn.random: a key is an int32 array of shape (..., 2), got {k!r}")
        return value_of(k)
    arr = np.asarray(k)
    if arr.dtype.kind not in "iu" or not arr.shape or arr.shape[-1] != 2:
        raise TypeError(f"tfn.random: a key is an int32 array of shape (..., 2), got {arr.dtype}{list(arr.shape)}")
    return ops.constant(arr.astype(np.int32))


def key(seed: int) -> np.ndarray:
    """A key from an integer seed (an int32 array of shape (2,))."""
    if isinstance(seed, Tracer):
        s = tnp.asarray(seed, np.int64)
        hi = tnp.asarray(s // (1 << 32), np.int32)
        return tnp.stack([hi, tnp.asarray(s - (s // (1 << 32)) * (1 << 32), np.int32)])
    seed = int(seed)
    return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], np.uint32).view(np.int32)


PRNGKey = key


@_op
def bits(key, shape=()):
    """int32 random bits of `shape` (all 32 bits uniform)."""
    return wrap(ops.random_bits(_key_value(key), _shape(shape)))


@_op
def split(key, num: int = 2):
    """`num` new keys from `key`: shape (num, 2)."""
    return bits(key, (int(num), 2))


@_op
def fold_in(key, data: int):
    """A new key from `key` and an integer (e.g. a step or layer index)."""
    return split(tnp.asarray(key) + tnp.asarray(np.array([0, int(data)], np.int32)), 1)[0]


def _unit(key, shape, dtype):
    """Uniform in [0, 1) of `dtype`: 32 random bits scaled in float64, then rounded down below 1."""
    b = tnp.asarray(bits(key, shape), np.float64)
    u = (b + 2.0 ** 31) * 2.0 ** -32
    u = tnp.asarray(u, dtype)
    return tnp.minimum(u, np.nextafter(np.asarray(1, dtype), np.asarray(0, dtype)))


@_op
def uniform(key, shape=(), dtype=np.float32, minval=0.0, maxval=1.0):
    """Uniform floats in [minval, maxval). The unit draw is rounded from float64 into `dtype`
    and kept below 1 there (float16 and bfloat16 too: a float32 draw rounded to bfloat16 would
    reach 1 about once in 512)."""
    dtype = canonical_dtype(dtype)
    if not is_float_dtype(dtype):
        raise TypeError(f"tfn.random.uniform: dtype must be a float dtype, got {dtype}")
    u = _unit(key, _shape(shape), dtype)
    return tnp.asarray(u * (tnp.asarray(maxval, dtype) - tnp.asarray(minval, dtype)) + tnp.asarray(minval, dtype),
                       dtype)


@_op
def normal(key, shape=(), dtype=np.float32):
    """Standard normal floats (Box-Muller, computed in float64)."""
    dtype = canonical_dtype(dtype)
    if not is_float_dtype(dtype):
        raise TypeError(f"tfn.random.normal: dtype must be a float dtype, got {dtype}")
    shape = _shape(shape)
    u = _unit(key, (2,) + shape, np.float64)
    u1, u2 = 1.0 - u[0], u[1]                     # u1 in (0, 1]: log is finite
    z = tnp.sqrt(-2.0 * tnp.log(u1)) * tnp.cos((2 * np.pi) * u2)
    return tnp.asarray(z, dtype)


@_op
def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability `p` (broadcast to `shape`, default p's shape)."""
    shape = _array_shape(p) if shape is None else _shape(shape)
    return tnp.less(uniform(key, shape, np.float64), p)
