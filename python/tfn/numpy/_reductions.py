"""Reductions: `sum`, `prod`, `max`, `min` (numpy's dtype rules: small integers sum in
int64, ...), `argmax`/`argmin`, and the statistics `mean`, `var`, `std`.
"""
from __future__ import annotations

import builtins

import numpy as _np

from tfn import ops
from tfn.dialect.types import is_float_dtype
from tfn.frontend.tracer import Tracer, value_of, wrap
from tfn.numpy._core import _as_tracer, _axes, _axis, _fail, _numpy_result, _op, asarray
from tfn.numpy._elementwise import equal, logical_or, not_equal, sqrt, subtract, true_divide, where
from tfn.numpy._shapes import ravel, reshape


def _keep(result, shape, axes, keepdims):
    if not keepdims:
        return result
    return reshape(result, tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _reduce(kind: str, name: str, x, axis, keepdims, dtype=None):
    """numpy's reduction `name` of x (its dtype rule: int64 sums of small ints, ...)."""
    x = _as_tracer(x)
    axes = _axes(axis, x.ndim, name)
    if kind in ("max", "min") and builtins.any(x.shape[a] == 0 for a in axes):
        _fail(name, f"zero-size array {x.shape} to reduction operation {kind}imum which has no identity")
    out = _numpy_result(name, getattr(_np, name), _np.zeros(1, x.dtype), dtype=dtype) if kind in ("sum", "prod") \
        else x.dtype
    r = ops.reduce(kind, ops.convert(value_of(x), out), axes)
    return _keep(wrap(r), x.shape, axes, keepdims)


@_op
def sum(x, axis=None, keepdims=False, dtype=None): return _reduce("sum", "sum", x, axis, keepdims, dtype)
@_op
def prod(x, axis=None, keepdims=False, dtype=None): return _reduce("prod", "prod", x, axis, keepdims, dtype)
@_op
def max(x, axis=None, keepdims=False): return _reduce("max", "max", x, axis, keepdims)
@_op
def min(x, axis=None, keepdims=False): return _reduce("min", "min", x, axis, keepdims)


amax, amin = max, min


def _sum_keeping_dtype(x: Tracer, axes) -> Tracer:
    """A sum in x's own dtype, as einsum and contractions do it (a bool sum is an any)."""
    if x.dtype == _np.bool_:
        return not_equal(sum(x, axis=axes), 0)
    return sum(x, axis=axes, dtype=x.dtype)


def _arg_extremum(kind: str, x, axis, keepdims):
    """The first index of the max (min) along `axis`: min over where(x == extremum, index, n)."""
    name = "arg" + kind
    x = _as_tracer(x)
    shape = x.shape
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(axis, x.ndim, name)
    n = x.shape[axis]
    if n == 0:
        _fail(name, f"attempt to get {name} of an empty sequence (shape {shape})")
    extremum = _reduce(kind, name, x, axis, True)
    index = wrap(ops.iota(x.shape, axis, _np.int64))
    # NaN is the extremum where present (numpy's rule): x != x marks it.
    hit = logical_or(equal(x, extremum), not_equal(x, x)) if is_float_dtype(x.dtype) else equal(x, extremum)
    out = min(where(hit, index, n), axis=axis, keepdims=keepdims)
    return reshape(out, (1,) * len(shape)) if keepdims and x.shape != shape else out


@_op
def argmax(x, axis=None, keepdims=False):
    return _arg_extremum("max", x, axis, keepdims)


@_op
def argmin(x, axis=None, keepdims=False):
    return _arg_extremum("min", x, axis, keepdims)


def _mean_dtype(name: str, x: Tracer, dtype) -> _np.dtype:
    return _numpy_result(name, _np.mean, _np.zeros(1, x.dtype), dtype=dtype)


@_op
def mean(x, axis=None, keepdims=False, dtype=None):
    x = _as_tracer(x)
    axes = _axes(axis, x.ndim, "mean")
    count = builtins.int(_np.prod([x.shape[a] for a in axes], dtype=_np.int64))
    out = _mean_dtype("mean", x, dtype)
    total = sum(asarray(x, out), axis=axes, keepdims=keepdims)
    return asarray(true_divide(total, count), out)


@_op
def var(x, axis=None, keepdims=False, ddof=0):
    x = _as_tracer(x)
    axes = _axes(axis, x.ndim, "var")
    count = builtins.int(_np.prod([x.shape[a] for a in axes], dtype=_np.int64))
    x = asarray(x, _mean_dtype("var", x, None))
    centered = subtract(x, mean(x, axis=axes, keepdims=True))
    return true_divide(sum(centered * centered, axis=axes, keepdims=keepdims), builtins.max(count - ddof, 0))


@_op
def std(x, axis=None, keepdims=False, ddof=0):
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))

