"""Sorting: `sort`, `argsort` (and the `top_k` of `tfn.lax`).

A composite, no sort op: a bitonic sorting network on static shapes. The axis moves last
and is padded to a power of two N; each of the log2(N)(log2(N) + 1)/2 stages views it as
(N / 2j, 2, j) and compare-exchanges the two halves with `select`, ascending or descending
per block of k. The network carries the keys and their indices and orders by (key, index),
a strict total order, so every sort is stable and padding (indices >= n) sorts last; nan
sorts after every number, as numpy. `sort` is then a `take_along_axis` of the input by the
permutation: its JVP is the same gather of the tangent (linear, transposed by a scatter-add),
and batching, lowering and CUDA are those of slice, select, concatenate and gather.
O(n log² n) work, each stage one parallel elementwise pass.
"""
from __future__ import annotations

import numpy as _np

from tfn import ops
from tfn.dialect.types import is_float_dtype
from tfn.frontend.tracer import Tracer, wrap
from tfn.numpy._core import _as_tracer, _axis, _fail, _op, asarray
from tfn.numpy._elementwise import (equal, greater, isnan, less, logical_and, logical_not, logical_or, stop_gradient,
                                    where)
from tfn.numpy._indexing import take_along_axis
from tfn.numpy._shapes import concatenate, moveaxis, pad, ravel, reshape


def _before(ka, ia, kb, ib, n: int, descending: bool) -> Tracer:
    """Whether (ka, ia) sorts before (kb, ib): valid (index < n) first, then the key (nan last
    ascending, first descending), then the lower index."""
    va, vb = less(ia, n), less(ib, n)
    if is_float_dtype(ka.dtype):
        na, nb = isnan(ka), isnan(kb)
        if descending:
            key_first = logical_or(greater(ka, kb), logical_and(na, logical_not(nb)))
        else:
            key_first = logical_or(less(ka, kb), logical_and(nb, logical_not(na)))
        key_tie = logical_or(equal(ka, kb), logical_and(na, nb))
    else:
        key_first = greater(ka, kb) if descending else less(ka, kb)
        key_tie = equal(ka, kb)
    ordered = logical_or(key_first, logical_and(key_tie, less(ia, ib)))
    return where(equal(va, vb), ordered, va)


def _network(keys: Tracer, n: int, descending: bool) -> Tracer:
    """The permutation (int64 indices) that sorts `keys` along its last axis (length n)."""
    batch = keys.shape[:-1]
    size = 1 << max(n - 1, 0).bit_length()
    if keys.dtype == _np.bool_:
        keys = asarray(keys, _np.int32)
    keys = pad(keys, [(0, 0)] * len(batch) + [(0, size - n)])
    index = wrap(ops.iota(keys.shape, keys.ndim - 1, _np.int64))
    k = 2
    while k <= size:
        j = k // 2
        while j >= 1:
            shape = batch + (size // (2 * j), 2, j)
            kv, iv = reshape(keys, shape), reshape(index, shape)
            lo = (Ellipsis, slice(0, 1), slice(None))
            hi = (Ellipsis, slice(1, 2), slice(None))
            # block a holds positions a * 2j ...: in order where bit k of a * 2j is clear, else reversed
            up = (((_np.arange(size // (2 * j)) * 2 * j) & k) == 0).reshape(-1, 1, 1)
            kl, kh, il, ih = kv[lo], kv[hi], iv[lo], iv[hi]
            swap = where(up, _before(kh, ih, kl, il, n, descending), _before(kl, il, kh, ih, n, descending))
            keys = reshape(concatenate([where(swap, kh, kl), where(swap, kl, kh)], axis=-2), batch + (size,))
            index = reshape(concatenate([where(swap, ih, il), where(swap, il, ih)], axis=-2), batch + (size,))
            j //= 2
        k *= 2
    return index[..., :n]


def sort_permutation(a: Tracer, axis: int, descending: bool = False) -> Tracer:
    """int64 indices along `axis` that sort a stably (ascending, or descending by key with
    ties in index order)."""
    n = a.shape[axis]
    if n <= 1:
        return wrap(ops.iota(a.shape, axis, _np.int64))
    keys = moveaxis(stop_gradient(a) if is_float_dtype(a.dtype) else a, axis, -1)
    return moveaxis(_network(keys, n, descending), -1, axis)


def _axis_of(name: str, a: Tracer, axis):
    if axis is None:
        return ravel(a), 0
    if a.ndim == 0:
        _fail(name, "axis must be None for a 0-d array")
    return a, _axis(axis, a.ndim, name)


@_op
def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort `a` along `axis` (flattened if None), stably, as numpy.argsort (int64)."""
    a = _as_tracer(a)
    a, axis = _axis_of("argsort", a, None if a.ndim == 0 else axis)  # numpy: a 0-d array's argsort is [0]
    if order is not None:
        _fail("argsort", "order (structured arrays) is not supported")
    return sort_permutation(a, axis)


@_op
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """`a` sorted along `axis` (flattened if None), nan last, as numpy.sort; differentiable (the
    tangent is gathered by the same permutation)."""
    a, axis = _axis_of("sort", _as_tracer(a), axis)
    if order is not None:
        _fail("sort", "order (structured arrays) is not supported")
    if a.shape[axis] <= 1:
        return a
    return take_along_axis(a, sort_permutation(a, axis), axis)
