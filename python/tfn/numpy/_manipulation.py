"""Rearranging arrays: `flip`, `roll`, `tile`, `repeat`, `tril`/`triu`, `diag`,
`diagonal`, `trace`, `meshgrid`, and the truth reductions `any`/`all`.

All are composites of existing ops, so their derivatives, batching and lowering are
those ops': `flip` is a negative-step slice (a gather of a reversed `iota`), `roll` two
slices joined, `tile` and a scalar `repeat` a broadcast between reshapes, a `repeat` by an
array of counts a `take` of static indices, `tril`/`triu` a `select` against two `iota`s.
A diagonal is one strided slice of the two axes flattened (element (i, i + k) sits at
k + i (m + 1)), and `diag` of a vector its transpose, a `pad` with interior padding m: both
O(size), no gather and no mask.
"""
from __future__ import annotations

import builtins
import operator

import numpy as _np

from tfn import ops
from tfn.frontend.tracer import value_of, wrap
from tfn.numpy._core import (_as_tracer, _as_value, _axes, _axis, _describe, _fail, _ints, _op, _static, asarray)
from tfn.numpy._creation import zeros
from tfn.numpy._elementwise import not_equal, where
from tfn.numpy._indexing import getitem, take
from tfn.numpy._reductions import _keep, sum
from tfn.numpy._shapes import broadcast_to, concatenate, ravel, reshape, transpose


# ---------------------------------------------------------------- any, all

def _truth(kind: str, name: str, x, axis, keepdims):
    x = _as_tracer(x)
    axes = _axes(axis, x.ndim, name)
    b = x if x.dtype == _np.bool_ else not_equal(x, 0)  # nan is true, as numpy
    if builtins.any(x.shape[a] == 0 for a in axes):  # the identity: any of nothing is False
        out = zeros(tuple(n for i, n in enumerate(x.shape) if i not in axes), _np.bool_)
        out = out if kind == "max" else not_equal(out, True)
    else:
        out = wrap(ops.reduce(kind, value_of(b), axes))
    return _keep(out, x.shape, axes, keepdims)


@_op
def any(x, axis=None, keepdims=False):
    """Whether any element along `axis` is true (nonzero, nan included), as numpy.any."""
    return _truth("max", "any", x, axis, keepdims)


@_op
def all(x, axis=None, keepdims=False):
    """Whether every element along `axis` is true (nonzero), as numpy.all."""
    return _truth("min", "all", x, axis, keepdims)


# ---------------------------------------------------------------- flip, roll

@_op
def flip(m, axis=None):
    m = _as_tracer(m)
    axes = _axes(axis, m.ndim, "flip")
    if not axes:
        return m
    return getitem(m, tuple(builtins.slice(None, None, -1) if i in axes else builtins.slice(None)
                            for i in range(m.ndim)))


@_op
def roll(a, shift, axis=None):
    """Elements shifted by `shift` along `axis` (wrapping around), as numpy.roll: two slices joined."""
    a = _as_tracer(a)
    _static("roll", shift)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts, axes = _ints(shift, "roll"), _ints(axis, "roll")
    try:
        shifts, axes = _np.broadcast_arrays(_np.asarray(shifts), _np.asarray(axes))
    except ValueError:
        _fail("roll", f"shift {shift!r} and axis {axis!r} do not broadcast")
    total = {}
    for s, ax in zip(shifts.ravel(), axes.ravel()):
        ax = _axis(int(ax), a.ndim, "roll")
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = a.shape[ax]
        if n == 0 or s % n == 0:
            continue
        s %= n
        head = tuple(builtins.slice(None) if i != ax else builtins.slice(n - s, None) for i in range(a.ndim))
        tail = tuple(builtins.slice(None) if i != ax else builtins.slice(None, n - s) for i in range(a.ndim))
        a = concatenate([getitem(a, head), getitem(a, tail)], axis=ax)
    return a


# ---------------------------------------------------------------- tile, repeat

@_op
def tile(A, reps):
    """A repeated `reps` times per axis, as numpy.tile: a broadcast between two reshapes."""
    A = _as_tracer(A)
    _static("tile", reps)
    reps = _ints(reps, "tile")
    if builtins.any(r < 0 for r in reps):
        _fail("tile", f"negative repetitions {reps}")
    d = builtins.max(len(reps), A.ndim)
    reps = (1,) * (d - len(reps)) + reps
    shape = (1,) * (d - A.ndim) + A.shape
    x = reshape(A, tuple(v for n in shape for v in (1, n)))
    x = broadcast_to(x, tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return reshape(x, tuple(r * n for r, n in zip(reps, shape)))


@_op
def repeat(a, repeats, axis=None):
    """Each element repeated, as numpy.repeat: a scalar count is a broadcast, static counts per
    element a `take` of the repeated indices (the counts must be known while tracing)."""
    a = _as_tracer(a)
    _static("repeat", repeats)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, a.ndim, "repeat")
    n = a.shape[axis]
    counts = _np.asarray(repeats)
    if counts.dtype.kind not in "iub" and counts.size:
        _fail("repeat", f"repeats must be integers, got {_describe(repeats)}")
    counts = counts.astype(_np.int64)
    if (counts < 0).any():
        _fail("repeat", f"negative repeats {repeats!r}")
    if counts.ndim == 0 or counts.shape == (1,):
        r = int(counts.reshape(()))
        x = reshape(a, a.shape[:axis + 1] + (1,) + a.shape[axis + 1:])
        x = broadcast_to(x, a.shape[:axis + 1] + (r,) + a.shape[axis + 1:])
        return reshape(x, a.shape[:axis] + (n * r,) + a.shape[axis + 1:])
    if counts.shape != (n,):
        _fail("repeat", f"repeats of shape {counts.shape} do not fit axis {axis} of length {n}")
    return take(a, _np.repeat(_np.arange(n, dtype=_np.int64), counts), axis=axis)


# ---------------------------------------------------------------- triangles and diagonals

def _triangle(name: str, m, k, lower: bool):
    m = _as_tracer(m)
    k = operator.index(k)
    if m.ndim == 0:
        _fail(name, "needs an array of at least one dimension")
    if m.ndim == 1:
        m = broadcast_to(m, (m.shape[0],) + m.shape)
    shape = m.shape
    rows = wrap(ops.iota(shape, len(shape) - 2, _np.int64))
    cols = wrap(ops.iota(shape, len(shape) - 1, _np.int64))
    keep = (cols - rows <= k) if lower else (cols - rows >= k)
    return where(keep, m, asarray(0, m.dtype))


@_op
def tril(m, k=0):
    """The lower triangle of the last two axes (j - i <= k kept, the rest zero), as numpy.tril."""
    return _triangle("tril", m, k, True)


@_op
def triu(m, k=0):
    """The upper triangle of the last two axes (j - i >= k kept, the rest zero), as numpy.triu."""
    return _triangle("triu", m, k, False)


def _diagonal_length(n1: int, n2: int, offset: int) -> int:
    return builtins.max(0, builtins.min(n1 - builtins.max(0, -offset), n2 - builtins.max(0, offset)))


@_op
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal (i, i + offset) of axes axis1, axis2, as a last axis (numpy.diagonal): one
    strided slice of the two axes flattened."""
    a = _as_tracer(a)
    offset = operator.index(offset)
    if a.ndim < 2:
        _fail("diagonal", f"needs an array of at least two dimensions, got shape {a.shape}")
    axis1, axis2 = _axis(axis1, a.ndim, "diagonal"), _axis(axis2, a.ndim, "diagonal")
    if axis1 == axis2:
        _fail("diagonal", f"axis1 and axis2 cannot be the same (both {axis1})")
    rest = [i for i in range(a.ndim) if i not in (axis1, axis2)]
    x = transpose(a, rest + [axis1, axis2])
    n1, n2 = a.shape[axis1], a.shape[axis2]
    length = _diagonal_length(n1, n2, offset)
    flat = reshape(x, x.shape[:-2] + (n1 * n2,))
    if length == 0:
        return getitem(flat, (Ellipsis, builtins.slice(0, 0)))
    start = builtins.max(0, -offset) * n2 + builtins.max(0, offset)
    return getitem(flat, (Ellipsis, builtins.slice(start, start + (length - 1) * (n2 + 1) + 1, n2 + 1)))


@_op
def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """The sum of a diagonal, as numpy.trace (numpy's dtype: int64 sums of small integers)."""
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


@_op
def diag(v, k=0):
    """numpy.diag: the k-th diagonal of a matrix, or a square matrix with vector v on its k-th
    diagonal (a pad of v with interior padding, reshaped: no mask)."""
    v = _as_tracer(v)
    k = operator.index(k)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        _fail("diag", f"input must be 1-d or 2-d, got shape {v.shape}")
    length = v.shape[0]
    n = length + builtins.abs(k)
    if length == 0:
        return zeros((n, n), v.dtype)
    start = builtins.max(0, -k) * n + builtins.max(0, k)
    high = n * n - (start + (length - 1) * (n + 1) + 1)
    zero = _as_value(0, v.dtype)
    return reshape(wrap(ops.pad(value_of(v), zero, [start], [high], [n])), (n, n))


# ---------------------------------------------------------------- meshgrid

@_op
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays, as numpy.meshgrid ('xy': the first two axes swapped; 'ij': matrix order)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"tfn.numpy.meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [ravel(_as_tracer(x)) for x in xi]
    shape = [x.shape[0] for x in xs]
    if indexing == "xy" and len(xs) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        axis = (1 if i == 0 else 0 if i == 1 else i) if indexing == "xy" and len(xs) > 1 else i
        one = [1] * len(xs)
        one[axis] = x.shape[0]
        y = reshape(x, tuple(one))
        out.append(y if sparse else broadcast_to(y, tuple(shape)))
    return out
