"""Indexing: `x[index]` (`getitem`), functional updates (`x.at[index].set(v)`, `.add`, ...),
and gathers by integer indices (`take`, `take_along_axis`).

Basic indices (ints, slices, None, ...) read a strided box: one `tfn.slice` (and a gather
to reverse the dims of negative steps), and `.at[]` pads the value back into the box and
selects it (O(size of x), which the functional update's copy costs anyway, and it stays
elementwise: it fuses and runs on CUDA). Traced integer scalars among basic indices
(`x[i, :, 2]`) select a window of size 1 in their dims: a `tfn.dynamic_slice` (and `.at[]`
updates that window alone and writes it back with `tfn.dynamic_update_slice`, O(window)), the
rest of the index applied to the window. Array indices go through `tfn.gather` and
`tfn.scatter` (`tfn.ops.gather_scatter`: the indexed dims first, then rows), O(indices x
row) in work and memory. Indices known while tracing must be in bounds (IndexError, as
numpy); a traced index outside [-n, n) reads 0 (False) and its update is dropped (numpy
raises, JAX clamps reads and drops updates).
"""
from __future__ import annotations

import builtins

import numpy as _np

from tfn import ops
from tfn.dialect.types import is_float_dtype
from tfn.frontend.indexing import resolve, slice_box
from tfn.frontend.source import user_line
from tfn.frontend.tracer import Tracer, value_of, wrap
from tfn.numpy._core import _as_tracer, _axes, _fail, _nested_tracers, _numpy_array, _op, asarray, broadcast_shapes
from tfn.numpy._creation import zeros
from tfn.numpy._elementwise import add, maximum, minimum, multiply, where
from tfn.numpy._shapes import broadcast_to, concatenate, expand_dims, ravel, reshape, transpose


def _getitem(x, index) -> Tracer:
    x = _as_tracer(x)
    window = _scalar_window(x, index, "getitem")
    if window is not None:
        starts, inside, rest = window
        y = wrap(ops.dynamic_slice(value_of(x), starts, _window_sizes(x, index)))
        return _getitem(where(inside, y, zeros((), x.dtype)), rest)
    if _has_arrays(index):
        return _advanced_getitem(x, index)
    box = resolve(index, x.shape, "getitem")
    if box.empty:
        return zeros(box.result_shape, x.dtype)
    v = value_of(x)
    if (box.start, box.limit, box.strides) != ((0,) * x.ndim, x.shape, (1,) * x.ndim):
        v = ops.slice(v, box.start, box.limit, box.strides)
    v = _reversed(wrap(v), box.reversed)
    return wrap(ops.reshape(value_of(v), box.result_shape))


@_op
def _getitem_op(x, index) -> Tracer:
    return _getitem(x, _thaw(index))


def getitem(x, index) -> Tracer:
    """x[index] with numpy's rules: ints, slices, None, ..., bool scalars, integer arrays (traced or
    not) and bool arrays known while tracing (a traced mask's result shape is not static).

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
    window = _scalar_window(x, index, name)
    if window is not None:   # update the window alone, and write it back (unchanged when out of bounds)
        starts, inside, rest = window
        y = wrap(ops.dynamic_slice(value_of(x), starts, _window_sizes(x, index)))
        y = where(inside, _update(kind, y, rest, value), y)
        return wrap(ops.dynamic_update_slice(value_of(x), value_of(y), starts))
    if _has_arrays(index):
        return _advanced_update(kind, x, index, value)
    box = resolve(index, x.shape, name)
    v = _as_tracer(value)
    while v.ndim > len(box.result_shape) and v.shape[0] == 1:  # numpy drops leading 1s of a value
        v = reshape(v, v.shape[1:])
    if broadcast_shapes(v.shape, box.result_shape, name=name) != box.result_shape:
        _fail(name, f"cannot broadcast a value of shape {v.shape} to the indexed shape {box.result_shape} "
                    f"(array of shape {x.shape})")
    if box.empty or 0 in box.box_shape:
        return x
    v = _reversed(reshape(broadcast_to(asarray(v, x.dtype), box.result_shape), box.box_shape), box.reversed)
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
    if isinstance(index, tuple) and len(index) == 4 and isinstance(index[0], str) and index[0] == "slice":
        return builtins.slice(*index[1:])
    return tuple(_thaw(i) for i in index) if isinstance(index, tuple) else index


@_op
def _at(x, index, value, kind: str = "set") -> Tracer:
    return _getitem(x, _thaw(index)) if kind == "get" else _update(kind, x, _thaw(index), value)


def at(x) -> _IndexUpdateHelper:
    """`x.at` for any array x (numpy arrays too): `tnp.at(x)[1:].add(2.0)`."""
    return _IndexUpdateHelper(x)



# ---------------------------------------------------------------- traced scalar indices: dynamic_slice

def _is_traced_scalar(i) -> bool:
    return isinstance(i, Tracer) and i.ndim == 0 and _np.dtype(i.dtype).kind in "iu"


def _source_dims(items: list, ndim: int) -> list:
    """The source dim each index item reads (None for None, Ellipsis and bool items)."""
    consuming = builtins.sum(1 for i in items if not (i is None or i is Ellipsis or isinstance(i, (bool, _np.bool_))))
    dims, d = [], 0
    for i in items:
        if i is Ellipsis:
            dims.append(None)
            d += ndim - consuming
        elif i is None or isinstance(i, (bool, _np.bool_)):
            dims.append(None)
        else:
            dims.append(d)
            d += 1
    return dims


def _window_sizes(x: Tracer, index) -> list[int]:
    items = list(index) if isinstance(index, tuple) else [index]
    scalar_dims = {d for i, d in zip(items, _source_dims(items, x.ndim)) if _is_traced_scalar(i)}
    return [1 if d in scalar_dims else n for d, n in enumerate(x.shape)]


def _scalar_window(x: Tracer, index, name: str):
    """For an index whose only array items are traced integer scalars (`x[i, :, 2]`): the start
    indices of the window of x they select (size 1 along their dims, negative counting from the
    end), whether every one is in [-n, n), and the index that reads the rest from that window
    (each scalar a 0). None for other indices (they go through gather and scatter)."""
    items = list(index) if isinstance(index, tuple) else [index]
    if not builtins.any(_is_traced_scalar(i) for i in items) or builtins.any(
            _is_array_index(i) and not _is_traced_scalar(i) for i in items):
        return None
    dims = _source_dims(items, x.ndim)
    if builtins.sum(d is not None for d in dims) > x.ndim or builtins.sum(i is Ellipsis for i in items) > 1:
        return None          # too many indices: basic indexing reports it
    dtype = _np.dtype(_np.int64)
    starts = [ops.full((1,), 0, dtype) for _ in range(x.ndim)]
    inside = ops.full((), True, _np.bool_)
    for i, d in zip(items, dims):
        if not _is_traced_scalar(i):
            continue
        v, n = ops.convert(value_of(i), dtype), ops.full((), x.shape[d], dtype)
        v = ops.select(ops.compare("lt", v, ops.full((), 0, dtype)), ops.add(v, n), v)
        ok = ops.select(ops.compare("ge", v, ops.full((), 0, dtype)), ops.compare("lt", v, n),
                        ops.full((), False, _np.bool_))
        inside = ops.select(inside, ok, inside)
        starts[d] = ops.reshape(v, (1,))
    joined = starts[0]
    for v in starts[1:]:
        joined = ops.concatenate(joined, v, 0)
    rest = tuple(0 if _is_traced_scalar(i) else i for i in items)
    return joined, wrap(inside), rest


# ---------------------------------------------------------------- array indices: gather and scatter

def _is_array_index(i) -> bool:
    return isinstance(i, (Tracer, list, tuple)) or (isinstance(i, _np.ndarray) and (i.ndim > 0 or i.dtype.kind not in "iub"))


def _has_arrays(index) -> bool:
    return builtins.any(_is_array_index(i) for i in (index if isinstance(index, tuple) else (index,)))


def _index_array(i, name: str):
    """An array index as a numpy array (known while tracing) or an integer Tracer."""
    if isinstance(i, Tracer) or _nested_tracers(i):
        t = _as_tracer(i)
        if t.dtype.kind == "b":
            _fail(name, f"a boolean mask known only at run time (shape {t.shape}) selects a number of elements "
                        "that is not static; use a mask known while tracing, or tfn.numpy.where")
        if t.dtype.kind not in "iu":
            raise IndexError(f"tfn.numpy.{name}: arrays used as indices must be of integer (or boolean) type, "
                             f"got {t.dtype}\n  at {user_line()}")
        return t
    a = _np.asarray(i)
    if a.size == 0 and is_float_dtype(a.dtype):   # numpy reads [] as an empty integer index
        a = a.astype(_np.int64)
    if a.dtype.kind not in "iub":
        raise IndexError(f"tfn.numpy.{name}: arrays used as indices must be of integer (or boolean) type, "
                         f"got {a.dtype}\n  at {user_line()}")
    return a


class _Plan:
    """x[index] with array indices, as numpy reads it: the dims indexed by arrays (`dims`, their
    index arrays broadcast to `shape`), the slice of every other dim, and the result's layout
    (`layout`: "S" for the broadcast index dims, a source dim for a slice, None for a new axis)."""

    def __init__(self, index, shape: tuple, name: str):
        items = list(index) if isinstance(index, tuple) else [index]
        expanded = []
        for i in items:   # bool arrays known while tracing become their nonzero() coordinates
            if i is None or i is Ellipsis or isinstance(i, builtins.slice):
                expanded.append(i)
                continue
            if isinstance(i, (bool, _np.bool_)):
                _fail(name, "a bool scalar with array indices is not supported")
            if isinstance(i, (int, _np.integer)):
                expanded.append(_np.asarray(int(i)))
                continue
            i = _index_array(i, name)
            if isinstance(i, _np.ndarray) and i.dtype.kind == "b":
                if i.ndim == 0:
                    _fail(name, "a bool scalar with array indices is not supported")
                i = ("mask", i)
            expanded.append(i)
        consumed = sum(1 if not isinstance(i, tuple) else i[1].ndim for i in expanded
                       if i is not None and i is not Ellipsis)
        if consumed > len(shape):
            raise IndexError(f"tfn.numpy.{name}: too many indices for array: array is {len(shape)}-dimensional, "
                             f"but {consumed} were indexed\n  at {user_line()}")
        if sum(1 for i in expanded if i is Ellipsis) > 1:
            raise IndexError(f"tfn.numpy.{name}: an index can only have a single ellipsis ('...')\n  at {user_line()}")
        at = next((k for k, i in enumerate(expanded) if i is Ellipsis), len(expanded))
        expanded = expanded[:at] + [builtins.slice(None)] * (len(shape) - consumed) + expanded[at + 1:]
        self.dims, arrays, self.slices, layout, positions = [], [], {}, [], []
        dim = 0
        for k, i in enumerate(expanded):
            if i is None:
                layout.append(None)
            elif isinstance(i, builtins.slice):
                self.slices[dim] = slice_box(i, shape[dim], name)
                layout.append(dim)
                dim += 1
            else:
                parts = list(_np.nonzero(i[1])) if isinstance(i, tuple) else [i]
                if isinstance(i, tuple) and i[1].shape != tuple(shape[dim:dim + i[1].ndim]):
                    raise IndexError(f"tfn.numpy.{name}: boolean index of shape {i[1].shape} does not match the "
                                     f"indexed dims {tuple(shape[dim:dim + i[1].ndim])}\n  at {user_line()}")
                for part in parts:
                    if isinstance(part, (bool, _np.bool_)):
                        _fail(name, "a bool scalar with array indices is not supported")
                    if not isinstance(part, Tracer):
                        part = _np.asarray(part)
                        n = shape[dim]
                        if part.size and (part.min() < -n or part.max() >= n):
                            bad = part[(part < -n) | (part >= n)].flat[0]
                            raise IndexError(f"tfn.numpy.{name}: index {bad} is out of bounds for axis {dim} "
                                             f"with size {n}\n  at {user_line()}")
                    self.dims.append(dim)
                    arrays.append(part)
                    positions.append(len(layout))
                    layout.append("adv")
                    dim += 1
        self.shape = broadcast_shapes(*[_np.shape(a) if not isinstance(a, Tracer) else a.shape for a in arrays],
                                      name=name)
        adjacent = positions == list(range(positions[0], positions[0] + len(positions)))
        first = positions[0] if adjacent else 0
        layout = [e for e in layout if e != "adv"]
        self.layout = layout[:first] + ["S"] + layout[first:]
        self.arrays = arrays
        self.source_shape = tuple(shape)

    def indices(self) -> Tracer:
        """The index arrays broadcast to `shape` and stacked: shape + (number of indexed dims,)."""
        if not builtins.any(isinstance(a, Tracer) for a in self.arrays):
            return asarray(_np.stack([_np.broadcast_to(a.astype(_np.int64), self.shape) for a in self.arrays], -1))
        dtype = _np.int64 if builtins.any(_np.dtype(a.dtype) == _np.int64 or _np.dtype(a.dtype).kind == "u"
                                          for a in self.arrays) else _np.int32
        columns = [broadcast_to(asarray(a, dtype), self.shape) for a in self.arrays]
        return concatenate([expand_dims(c, -1) for c in columns], axis=-1)

    def others(self) -> list[int]:
        return [d for d in range(len(self.source_shape)) if d not in self.dims]

    def result_order(self) -> list[int]:
        """Where each dim of (S..., other dims in source order) goes in the result (new axes aside)."""
        s, others = len(self.shape), self.others()
        order = []
        for e in self.layout:
            if e == "S":
                order += list(range(s))
            elif e is not None:
                order.append(s + others.index(e))
        return order

    def result_shape(self, boxes) -> tuple:
        out = []
        for e in self.layout:
            out += list(self.shape) if e == "S" else [1] if e is None else [boxes[e]]
        return tuple(out)


def _advanced_getitem(x: Tracer, index) -> Tracer:
    plan = _Plan(index, x.shape, "getitem")
    others = plan.others()
    start, limit, strides, backwards = [0] * x.ndim, list(x.shape), [1] * x.ndim, []
    for d, (b, m, s, back) in plan.slices.items():
        start[d], limit[d], strides[d] = b, b + (m - 1) * s + 1 if m else 0, s
        if back and m > 1:
            backwards.append(d)
    v = value_of(x)
    if (tuple(start), tuple(limit), tuple(strides)) != ((0,) * x.ndim, x.shape, (1,) * x.ndim):
        v = ops.slice(v, start, limit, strides)
    v = _reversed(wrap(v), backwards)
    boxes = {d: m for d, (b, m, s, back) in plan.slices.items()}
    v = transpose(v, plan.dims + others)
    out = wrap(ops.gather(value_of(v), value_of(plan.indices())))
    out = transpose(out, plan.result_order())
    return reshape(out, plan.result_shape(boxes))


_SCATTER_MODE = {"set": "set", "add": "add", "multiply": "mul", "min": "min", "max": "max"}


def _identity(kind: str, dtype):
    """The value that leaves an element unchanged under update `kind` (None for set)."""
    dtype = _np.dtype(dtype)
    if kind == "add":
        return 0
    if kind == "multiply":
        return 1
    if kind == "set":
        return None
    big = True if dtype.kind == "b" else _np.inf if is_float_dtype(dtype) else _np.iinfo(dtype).max
    small = False if dtype.kind == "b" else -_np.inf if is_float_dtype(dtype) else _np.iinfo(dtype).min
    return big if kind == "min" else small


def _advanced_update(kind: str, x: Tracer, index, value) -> Tracer:
    name = f"at[].{kind}"
    plan = _Plan(index, x.shape, name)
    others = plan.others()
    boxes = {d: m for d, (b, m, s, back) in plan.slices.items()}
    want = plan.result_shape(boxes)
    v = _as_tracer(value)
    while v.ndim > len(want) and v.shape[0] == 1:  # numpy drops leading 1s of a value
        v = reshape(v, v.shape[1:])
    if broadcast_shapes(v.shape, want, name=name) != want:
        _fail(name, f"cannot broadcast a value of shape {v.shape} to the indexed shape {want} "
                    f"(array of shape {x.shape})")
    if 0 in want:
        return x
    order = plan.result_order()
    no_new_axes = [want[k] for k, e in enumerate(_expand_layout(plan)) if e is not None]
    rows = transpose(reshape(broadcast_to(asarray(v, x.dtype), want), no_new_axes),
                     [order.index(k) for k in range(len(order))])               # (S..., boxes of others...)
    s = len(plan.shape)
    rows = _reversed(rows, [s + others.index(d) for d, (b, m, st, back) in plan.slices.items() if back and m > 1])
    xt = transpose(x, plan.dims + others)
    partial = [d for d in others if plan.slices[d][1:3] != (x.shape[d], 1)]
    if partial:
        low = [0] * s + [plan.slices[d][0] for d in others]
        high = [0] * s + [x.shape[d] - plan.slices[d][0] - (plan.slices[d][1] - 1) * plan.slices[d][2] - 1
                          for d in others]
        interior = [0] * s + [plan.slices[d][2] - 1 for d in others]
        identity = _identity(kind, x.dtype)
        fill = ops.full((), 0 if identity is None else identity, x.dtype)
        padded = wrap(ops.pad(value_of(rows), fill, low, high, interior))
        if identity is None:   # set: the rows as they are outside the box
            mask = ops.pad(ops.full(rows.shape, True, _np.bool_), ops.full((), False, _np.bool_), low, high, interior)
            current = wrap(ops.gather(value_of(xt), value_of(plan.indices())))
            padded = where(wrap(mask), padded, current)
        rows = padded
    out = wrap(ops.scatter(value_of(xt), value_of(plan.indices()), value_of(rows), _SCATTER_MODE[kind]))
    perm = plan.dims + others
    return transpose(out, [perm.index(d) for d in range(x.ndim)])


def _expand_layout(plan: _Plan) -> list:
    """The result's dims one by one: "S" per broadcast index dim, a source dim, or None (new axis)."""
    out = []
    for e in plan.layout:
        out += ["S"] * len(plan.shape) if e == "S" else [e]
    return out


def _reversed(v: Tracer, dims) -> Tracer:
    """v read backwards along `dims` (a gather of each)."""
    for d in dims:
        n = v.shape[d]
        v = _take(v, asarray(_np.arange(n - 1, -1, -1, dtype=_np.int64)), d)
    return v


def _take(a: Tracer, indices: Tracer, axis: int) -> Tracer:
    """np.take along a normalized axis: a gather of the dims up to `axis`, the earlier ones by iota."""
    before = a.shape[:axis]
    idx = expand_dims(indices, -1)
    if before:
        full = before + indices.shape + (1,)
        columns = [wrap(ops.iota(full, d, indices.dtype)) for d in range(len(before))]
        idx = concatenate(columns + [broadcast_to(reshape(idx, (1,) * len(before) + idx.shape), full)], axis=-1)
    return wrap(ops.gather(value_of(a), value_of(idx)))


def _check_indices(name: str, indices, n: int, axis: int):
    """Indices known while tracing (not traced values) must lie in [-n, n), as numpy checks."""
    if isinstance(indices, Tracer) or _nested_tracers(indices):
        return
    values = _numpy_array(indices, name)
    if values.dtype.kind in "iu" and values.size and (values.min() < -n or values.max() >= n):
        bad = values[(values < -n) | (values >= n)].flat[0]
        raise IndexError(f"tfn.numpy.{name}: index {bad} is out of bounds for axis {axis} with size {n}"
                         f"\n  at {user_line()}")


def _int_indices(name: str, indices) -> Tracer:
    indices = _as_tracer(indices)
    if indices.dtype.kind not in "iu":
        _fail(name, f"indices must be integers, got {indices.dtype}")
    return indices


@_op
def take_along_axis(a, indices, axis: int):
    """out[..., j, ...] = a[..., indices[..., j, ...], ...] along `axis` (numpy's rule: a and indices
    broadcast in the other dims; indices wrap negatively like numpy's for -n <= i < 0). One gather
    of every dim, the others' coordinates by iota."""
    a = _as_tracer(a)
    axis = _axes(axis, a.ndim, "take_along_axis")[0]
    _check_indices("take_along_axis", indices, a.shape[axis], axis)
    indices = _int_indices("take_along_axis", indices)
    if indices.ndim != a.ndim:
        _fail("take_along_axis", f"indices of shape {indices.shape} need the rank of a, shape {a.shape}")
    others = broadcast_shapes(tuple(n for d, n in enumerate(a.shape) if d != axis),
                              tuple(n for d, n in enumerate(indices.shape) if d != axis), name="take_along_axis")
    out = others[:axis] + (indices.shape[axis],) + others[axis:]
    columns = []
    for d in range(a.ndim):
        if d == axis:
            column = broadcast_to(indices, out)
        elif a.shape[d] == 1:
            column = zeros(out, indices.dtype)
        else:
            column = wrap(ops.iota(out, d, indices.dtype))
        columns.append(expand_dims(column, -1))
    return wrap(ops.gather(value_of(a), value_of(concatenate(columns, axis=-1))))


@_op
def take(a, indices, axis: int | None = None):
    """a's entries at `indices` along `axis` (flattened when None), numpy's `take`: one gather.

    Indices in [-n, n) select as in numpy, negative ones counting from the end. Indices
    known while tracing must lie in that range (IndexError, as numpy). A traced index
    outside it reads 0 (False for bool `a`), with a zero gradient; numpy raises and JAX's
    `jnp.take` fills with NaN by default. The same holds for `take_along_axis`, `x[i]`
    and `x.at[i]` (whose updates at such an index are dropped).
    """
    a = _as_tracer(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axes(axis, a.ndim, "take")[0]
    _check_indices("take", indices, a.shape[axis], axis)
    return _take(a, _int_indices("take", indices), axis)
