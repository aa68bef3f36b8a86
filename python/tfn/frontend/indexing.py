"""numpy's basic indexing, resolved against a static shape.

An index (ints, slices, None, Ellipsis, and bool scalars) becomes the strided box it
reads, `start:limit:strides` per source dim (read backwards along the dims of negative
steps), plus how the box is reshaped into the result. `x[index]` is then one
`tfn.slice` (a gather reverses a dim) and one `tfn.reshape`, and `x.at[index].set(v)`
pads `v` back into the box. Array indices are `tfn.numpy._indexing`'s (gather, scatter).

    >>> r = resolve((1, slice(None, None, 2), None), (4, 5), "getitem")
    >>> r.start, r.limit, r.strides, r.box_shape, r.result_shape
    ((1, 0), (2, 5), (1, 2), (1, 3), (3, 1))
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from tfn.ops import ShapeError
from tfn.frontend.source import user_line

_VALID = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or boolean "
          "arrays are valid indices")


@dataclass(frozen=True)
class BasicIndex:
    """The box `start:limit:strides` an index reads, and the result's shape."""
    start: tuple[int, ...]
    limit: tuple[int, ...]
    strides: tuple[int, ...]
    box_shape: tuple[int, ...]     # the box: one entry per source dim (1 for an integer index)
    result_shape: tuple[int, ...]  # integer dims dropped, None and bool dims inserted
    empty: bool                    # a False index: the result has no element
    reversed: tuple[int, ...] = ()  # box dims read backwards (negative slice steps)

    def padding(self, shape: tuple[int, ...]) -> tuple[list[int], list[int], list[int]]:
        """(low, high, interior) padding that puts an array of `box_shape` back at the box in `shape`."""
        low, high, interior = [], [], []
        for b, s, m, n in zip(self.start, self.strides, self.box_shape, shape):
            b = b if m else 0
            last = b + (m - 1) * s + 1 if m else 0
            low.append(b), high.append(n - last), interior.append(s - 1 if m > 1 else 0)
        return low, high, interior


def _error(kind, name: str, message: str):
    """numpy's error kind for bad indices; ShapeError (a TypeError and ValueError) for unsupported ones."""
    raise kind(f"tfn.numpy.{name}: {message}\n  at {user_line()}")


def _item(i, name: str):
    """One index item as int, bool, slice, None or Ellipsis; numpy's errors for the rest."""
    if i is None or i is Ellipsis or isinstance(i, slice):
        return i
    if isinstance(i, (bool, np.bool_)) or (isinstance(i, np.ndarray) and i.shape == () and i.dtype == np.bool_):
        return bool(i)
    if isinstance(i, np.ndarray) and i.shape == () and i.dtype.kind in "iu":
        return int(i)
    if isinstance(i, (int, np.integer)):
        return int(i)
    if isinstance(i, (float, np.floating, complex, str)):
        _error(IndexError, name, f"{_VALID} (got {i!r})")
    if type(i).__name__ == "Tracer" or isinstance(i, (np.ndarray, list, tuple)):
        _error(ShapeError, name, "indexing with arrays is not supported (use ints, slices, None and ..., "
                                          "or tfn.numpy.take / take_along_axis)")
    _error(IndexError, name, f"{_VALID} (got a {type(i).__name__})")


def _slice_bounds(i: slice, n: int, name: str) -> tuple[int, int, int]:
    for part in (i.start, i.stop, i.step):
        if part is not None and not isinstance(part, (int, np.integer)):
            if type(part).__name__ == "Tracer":
                _error(ShapeError, name, f"slice bounds must be static, got a traced array in {i}")
            try:
                operator.index(part)
            except TypeError:
                _error(TypeError, name, f"slice indices must be integers or None, got {i}")
    return i.indices(n)


def slice_box(i: slice, n: int, name: str) -> tuple[int, int, int, bool]:
    """(start, length, step > 0, reversed) of the elements slice `i` reads on a dim of size `n`:
    a negative step reads the box of its elements backwards."""
    b, e, s = _slice_bounds(i, n, name)
    m = len(range(b, e, s))
    if not m:
        return 0, 0, abs(s), False
    return (b + (m - 1) * s, m, -s, True) if s < 0 else (b, m, s, False)


def resolve(index, shape: tuple[int, ...], name: str) -> BasicIndex:
    """The box and result shape of `x[index]` for x of `shape`, with numpy's errors."""
    items = [_item(i, name) for i in (index if isinstance(index, tuple) else (index,))]
    real = sum(1 for i in items if i is not None and i is not Ellipsis and not isinstance(i, bool))
    if real > len(shape):
        _error(IndexError, name, f"too many indices for array: array is {len(shape)}-dimensional, "
                                 f"but {real} were indexed")
    ellipses = [k for k, i in enumerate(items) if i is Ellipsis]
    if len(ellipses) > 1:
        _error(IndexError, name, "an index can only have a single ellipsis ('...')")
    at = ellipses[0] if ellipses else len(items)
    items = items[:at] + [slice(None)] * (len(shape) - real) + items[at + 1:]
    start, limit, strides, box, result = [], [], [], [], []
    bools, advanced, advanced_at, backwards = [], [], None, []  # numpy's rule for bool scalars (0-d "advanced" indices)
    dim = 0
    for k, i in enumerate(items):
        if i is None:
            result.append(1)
            continue
        if isinstance(i, bool) or isinstance(i, int):
            advanced.append(k)
            advanced_at = len(result) if advanced_at is None else advanced_at
            if isinstance(i, bool):
                bools.append(i)
                continue
            n = shape[dim]
            if not -n <= i < n:
                _error(IndexError, name, f"index {i} is out of bounds for axis {dim} with size {n}")
            i %= n
            start.append(i), limit.append(i + 1), strides.append(1), box.append(1)
        else:
            b, m, s, back = slice_box(i, shape[dim], name)  # an empty box keeps its (unused) offset 0
            if back and m > 1:
                backwards.append(dim)
            start.append(b), limit.append(b + (m - 1) * s + 1 if m else 0), strides.append(s), box.append(m)
            result.append(m)
        dim += 1
    if bools:
        # The bool dims (one, of size 1, or 0 if any is False) go where the advanced indices
        # (ints and bools) are when those are adjacent, else first.
        adjacent = advanced == list(range(advanced[0], advanced[0] + len(advanced)))
        result.insert(advanced_at if adjacent else 0, 1 if all(bools) else 0)
    return BasicIndex(tuple(start), tuple(limit), tuple(strides), tuple(box), tuple(result),
                      empty=not all(bools), reversed=tuple(backwards))
