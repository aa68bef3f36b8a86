"""Cumulative reductions: `cumsum`, `cumprod` (and `cummax`/`cummin`/`reverse`, which
`tfn.lax` exposes with JAX's names).

A composite, no scan op: the Hillis-Steele parallel prefix. Step s = 1, 2, 4, ... combines
each element with the one s before it (the array shifted by s: a slice padded with the
combination's identity), log2(n) steps of O(n) elementwise work each, so O(n log n) in all.
Its derivatives, batching and lowering are those of slice, pad and add/mul/max/min: a
cumprod's gradient is right with zeros in the input (products of the other factors, never
a division by the result), and every step is a parallel elementwise op on CUDA.
"""
from __future__ import annotations

import numpy as _np

from tfn import ops
from tfn.dialect.types import is_float_dtype
from tfn.frontend.tracer import Tracer, value_of, wrap
from tfn.numpy._core import _as_tracer, _as_value, _axis, _numpy_result, _op, asarray
from tfn.numpy._elementwise import add, maximum, minimum, multiply
from tfn.numpy._manipulation import flip
from tfn.numpy._shapes import ravel

_COMBINE = {"sum": add, "prod": multiply, "max": maximum, "min": minimum}


def _identity(kind: str, dtype):
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    if dtype == _np.bool_:
        return kind == "min"
    if is_float_dtype(dtype):
        return -_np.inf if kind == "max" else _np.inf
    info = _np.iinfo(dtype)
    return info.min if kind == "max" else info.max


def scan(kind: str, x: Tracer, axis: int, reverse: bool = False) -> Tracer:
    """The inclusive prefix combination (`sum`, `prod`, `max`, `min`) of x along `axis`
    (from the end if `reverse`), in x's dtype: Hillis-Steele, log2(n) shifted combines."""
    if reverse:
        return flip(scan(kind, flip(x, axis), axis), axis)
    n = x.shape[axis]
    combine = _COMBINE[kind]
    fill = _as_value(_identity(kind, x.dtype), x.dtype)
    step = 1
    while step < n:
        low, high = [0] * x.ndim, [0] * x.ndim
        low[axis] = step
        limit = list(x.shape)
        limit[axis] = n - step
        shifted = ops.pad(ops.slice(value_of(x), [0] * x.ndim, limit), fill, low, high)
        x = combine(x, wrap(shifted))
        step *= 2
    return x


def _cumulative(kind: str, name: str, a, axis, dtype):
    a = _as_tracer(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, a.ndim, name)
    out = _numpy_result(name, getattr(_np, name), _np.zeros(1, a.dtype), dtype=dtype)
    return scan(kind, asarray(a, out), axis)


@_op
def cumsum(a, axis=None, dtype=None):
    """Cumulative sum along `axis` (flattened if None), numpy's dtype (int64 for small ints, bools)."""
    return _cumulative("sum", "cumsum", a, axis, dtype)


@_op
def cumprod(a, axis=None, dtype=None):
    """Cumulative product along `axis` (flattened if None); the gradient is exact with zeros."""
    return _cumulative("prod", "cumprod", a, axis, dtype)
