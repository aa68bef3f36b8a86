"""Indexing: `x[index]` for basic indices (`getitem`), functional updates (`x.at[index].set(v)`,
`.add`, ...), and gathers by integer indices (`take`, `take_along_axis`).
"""
from __future__ import annotations

import builtins

import numpy as _np

from tfn import ops
from tfn.frontend.indexing import resolve
from tfn.frontend.source import user_line
from tfn.frontend.tracer import Tracer, value_of, wrap
from tfn.numpy._core import _as_tracer, _axes, _fail, _nested_tracers, _numpy_array, _op, asarray, broadcast_shapes
from tfn.numpy._creation import zeros
from tfn.numpy._elementwise import add, equal, less, maximum, minimum, multiply, where
from tfn.numpy._reductions import _sum_keeping_dtype
from tfn.numpy._shapes import broadcast_to, expand_dims, ravel, reshape


def _getitem(x, index) -> Tracer:
    x = _as_tracer(x)
    box = resolve(index, x.shape, "getitem")
    if box.empty:
        return zeros(box.result_shape, x.dtype)
    v = value_of(x)
    if (box.start, box.limit, box.strides) != ((0,) * x.ndim, x.shape, (1,) * x.ndim):
        v = ops.slice(v, box.start, box.limit, box.strides)
    return wrap(ops.reshape(v, box.result_shape))


@_op
def _getitem_op(x, index) -> Tracer:
    return _getitem(x, _thaw(index))


def getitem(x, index) -> Tracer:
    """x[index] for basic indices: ints, slices (positive steps), None, ..., bool scalars.

        >>> import numpy as np, tfn.numpy as tnp
        >>> tnp.getitem(np.arange(6).reshape(2, 3), (1, slice(None, None, 2)))
        array([3, 5])
    """
    return _getitem_op(x, _freeze(index))


def _update(kind: str, x, index, value) -> Tracer:
    """x with x[index] replaced by `kind`(x[index], value): the value is padded back into the
    box the index reads and selected there (pad and select are differentiable and batchable)."""
    x = _as_tracer(x)
    name = f"at[].{kind}"
    box = resolve(index, x.shape, name)
    v = _as_tracer(value)
    while v.ndim > len(box.result_shape) and v.shape[0] == 1:  # numpy drops leading 1s of a value
        v = reshape(v, v.shape[1:])
    if broadcast_shapes(v.shape, box.result_shape, name=name) != box.result_shape:
        _fail(name, f"cannot broadcast a value of shape {v.shape} to the indexed shape {box.result_shape} "
                    f"(array of shape {x.shape})")
    if box.empty or 0 in box.box_shape:
        return x
    v = reshape(broadcast_to(asarray(v, x.dtype), box.result_shape), box.box_shape)
    low, high, interior = box.padding(x.shape)
    placed = ops.pad(value_of(v), ops.full((), 0, x.dtype), low, high, interior)
    mask = ops.pad(ops.full(box.box_shape, True, _np.bool_), ops.full((), False, _np.bool_), low, high, interior)
    if kind == "add":
        return add(x, wrap(placed))
    combine = {"set": lambda a, b: b, "multiply": multiply, "min": minimum, "max": maximum}[kind]
    return where(wrap(mask), asarray(combine(x, wrap(placed)), x.dtype), x)


class _IndexUpdateRef:
    """`x.at[index]`: functional updates of the entries `x[index]` selects (JAX's API).

        >>> import numpy as np, tfn
        >>> tfn.jit(lambda x: x.at[1:].set(0.0))(np.ones(3))
        array([1., 0., 0.])
    """
    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def get(self) -> Tracer:
        """x[index]."""
        return _at(self.array, _freeze(self.index), None, kind="get")

    def set(self, value) -> Tracer:
        """A copy of x with x[index] = value (value broadcast and cast to x's dtype)."""
        return _at(self.array, _freeze(self.index), value, kind="set")

    def add(self, value) -> Tracer:
        """A copy of x with x[index] += value."""
        return _at(self.array, _freeze(self.index), value, kind="add")

    def multiply(self, value) -> Tracer:
        """A copy of x with x[index] *= value."""
        return _at(self.array, _freeze(self.index), value, kind="multiply")

    mul = multiply

    def min(self, value) -> Tracer:
        """A copy of x with x[index] = minimum(x[index], value)."""
        return _at(self.array, _freeze(self.index), value, kind="min")

    def max(self, value) -> Tracer:
        """A copy of x with x[index] = maximum(x[index], value)."""
        return _at(self.array, _freeze(self.index), value, kind="max")


class _IndexUpdateHelper:
    """`x.at`: indexing it gives an `_IndexUpdateRef`."""
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.array, index)


def _freeze(index):
    """The index with slices as tuples: eager calls key their cache on it (slices are unhashable)."""
    if isinstance(index, tuple):
        return tuple(_freeze(i) for i in index)
    return ("slice", index.start, index.stop, index.step) if isinstance(index, builtins.slice) else index


def _thaw(index):
    if isinstance(index, tuple) and index[:1] == ("slice",):
        return builtins.slice(*index[1:])
    return tuple(_thaw(i) for i in index) if isinstance(index, tuple) else index


@_op
def _at(x, index, value, kind: str = "set") -> Tracer:
    return _getitem(x, _thaw(index)) if kind == "get" else _update(kind, x, _thaw(index), value)


def at(x) -> _IndexUpdateHelper:
    """`x.at` for any array x (numpy arrays too): `tnp.at(x)[1:].add(2.0)`."""
    return _IndexUpdateHelper(x)



# ---------------------------------------------------------------- gathers by one-hot selection
# tfn has no gather op yet: an integer index selects through a one-hot mask, which
# costs O(len(indices) * n) but is differentiable and batchable like any other op. The
# mask *selects* (`where(mask, a, 0)`, then a sum along the mask's axis: one term is not
# zero) rather than multiplies, so an inf or nan elsewhere on the axis never meets a 0
# (0 * inf = nan), and the cotangent of an unselected element is an exact 0.

def _one_hot_along(name: str, indices, n: int, axis: int):
    """bool mask[..., k, ...] = (indices[...] == k), with the k axis inserted at `axis`."""
    indices = _as_tracer(indices)
    if indices.dtype.kind not in "iu":
        _fail(name, f"indices must be integers, got {indices.dtype}")
    k = wrap(ops.iota(indices.shape[:axis] + (n,) + indices.shape[axis:], axis, indices.dtype))
    return equal(expand_dims(indices, axis), k)


def _select_along(mask: Tracer, a: Tracer, axis: int) -> Tracer:
    """sum over `axis` of where(mask, a, 0) (broadcast): a's one selected entry, or 0 (False) for none.
    a bool's sum is an any, an integer's keeps a's dtype."""
    return _sum_keeping_dtype(where(mask, a, zeros((), a.dtype)), axis)


def _check_indices(name: str, indices, n: int, axis: int):
    """Indices known while tracing (not traced values) must lie in [-n, n), as numpy checks."""
    if isinstance(indices, Tracer) or _nested_tracers(indices):
        return
    values = _numpy_array(indices, name)
    if values.dtype.kind in "iu" and values.size and (values.min() < -n or values.max() >= n):
        bad = values[(values < -n) | (values >= n)].flat[0]
        raise IndexError(f"tfn.numpy.{name}: index {bad} is out of bounds for axis {axis} with size {n}"
                         f"\n  at {user_line()}")


@_op
def take_along_axis(a, indices, axis: int):
    """out[..., j, ...] = a[..., indices[..., j, ...], ...] along `axis` (numpy's rule; indices wrap
    negatively like numpy's for -n <= i < 0)."""
    a = _as_tracer(a)
    axis = _axes(axis, a.ndim, "take_along_axis")[0]
    _check_indices("take_along_axis", indices, a.shape[axis], axis)
    indices = _as_tracer(indices)
    if indices.ndim != a.ndim:
        _fail("take_along_axis", f"indices of shape {indices.shape} need the rank of a, shape {a.shape}")
    n = a.shape[axis]
    indices = where(less(indices, 0), add(indices, n), indices)
    mask = _one_hot_along("take_along_axis", indices, n, axis + 1)    # [..., j, k, ...]
    return _select_along(mask, expand_dims(a, axis), axis + 1)


@_op
def take(a, indices, axis: int | None = None):
    """a's entries at `indices` along `axis` (flattened when None), numpy's `take`.

    Indices in [-n, n) select as in numpy, negative ones counting from the end. Indices
    known while tracing must lie in that range (IndexError, as numpy). A traced index
    outside it matches no position and gives 0 (False for bool `a`), with a zero
    gradient; numpy raises and JAX's `jnp.take` fills with NaN by default. The same holds
    for `take_along_axis`.
    """
    a = _as_tracer(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axes(axis, a.ndim, "take")[0]
    n = a.shape[axis]
    _check_indices("take", indices, n, axis)
    indices = _as_tracer(indices)
    indices = where(less(indices, 0), add(indices, n), indices)
    nidx, before, after = indices.ndim, a.shape[:axis], a.shape[axis + 1:]
    mask = _one_hot_along("take", indices, n, nidx)                   # indices.shape + (n,)
    mask = reshape(mask, (1,) * len(before) + mask.shape + (1,) * len(after))
    a = reshape(a, before + (1,) * nidx + (n,) + after)               # before + indices.shape + (n,) + after
    return _select_along(mask, a, axis + nidx)

