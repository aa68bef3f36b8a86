"""Shape manipulation: `reshape`, `transpose` and its kin, `expand_dims`, `squeeze`,
`broadcast_to`, and joining or padding arrays (`concatenate`, `stack`, `pad`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as _np

from tfn import ops
from tfn.frontend.tracer import Tracer, value_of, wrap
from tfn.numpy._core import (_as_tracer, _as_value, _axes, _axis, _broadcast_value, _describe, _fail, _ints, _op,
                             _shape, _shape_arg, _static, broadcast_shapes, result_type)


@_op
def reshape(x, shape) -> Tracer:
    x = _as_tracer(x)
    shape = _ints(shape, "reshape")
    if shape.count(-1) > 1:
        _fail("reshape", f"can only specify one unknown dimension in {shape}")
    if -1 in shape:
        known = int(_np.prod([s for s in shape if s != -1], dtype=_np.int64))
        if known == 0 or x.size % known:
            _fail("reshape", f"cannot reshape array of shape {x.shape} into shape {shape}")
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    if int(_np.prod(shape, dtype=_np.int64)) != x.size:
        _fail("reshape", f"cannot reshape array of shape {x.shape} into shape {shape}")
    return wrap(ops.reshape(value_of(x), shape))


@_op
def transpose(x, axes=None) -> Tracer:
    x = _as_tracer(x)
    perm = tuple(reversed(range(x.ndim))) if axes is None else tuple(_axis(a, x.ndim, "transpose") for a in axes)
    if sorted(perm) != list(range(x.ndim)):
        _fail("transpose", f"axes {axes} don't match array of shape {x.shape}")
    if perm == tuple(range(x.ndim)):
        return x
    return wrap(ops.transpose(value_of(x), perm))


@_op
def swapaxes(x, axis1: int, axis2: int) -> Tracer:
    perm = list(range(len(_shape(x))))
    axis1, axis2 = _axis(axis1, len(perm), "swapaxes"), _axis(axis2, len(perm), "swapaxes")
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, perm)


@_op
def moveaxis(x, source: int, destination: int) -> Tracer:
    x = _as_tracer(x)
    source, destination = _axis(source, x.ndim, "moveaxis"), _axis(destination, x.ndim, "moveaxis")
    perm = [i for i in range(x.ndim) if i != source]
    perm.insert(destination, source)
    return transpose(x, perm)


@_op
def expand_dims(x, axis) -> Tracer:
    x = _as_tracer(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = _axes(axes, ndim, "expand_dims")
    dims = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(ndim)))


@_op
def squeeze(x, axis=None) -> Tracer:
    x = _as_tracer(x)
    axes = tuple(i for i, n in enumerate(x.shape) if n == 1) if axis is None else _axes(axis, x.ndim, "squeeze")
    if any(x.shape[a] != 1 for a in axes):
        _fail("squeeze", f"cannot select an axis to squeeze out which has size not equal to one (shape {x.shape})")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


@_op
def ravel(x) -> Tracer:
    return reshape(x, (-1,))


@_op
def broadcast_to(x, shape) -> Tracer:
    shape = _shape_arg(shape, "broadcast_to")
    src = _shape(x)
    if broadcast_shapes(src, shape, name="broadcast_to") != shape:
        _fail("broadcast_to", f"cannot broadcast shape {src} to {shape}")
    return wrap(_broadcast_value(_as_value(x), src, shape))


@_op
def concatenate(arrays: Sequence, axis: int = 0) -> Tracer:
    arrays = [_as_tracer(a) for a in arrays]
    if not arrays:
        _fail("concatenate", "need at least one array to concatenate")
    ndim = arrays[0].ndim
    if ndim == 0 or any(a.ndim != ndim for a in arrays):
        _fail("concatenate", f"arrays must have the same number of dimensions >= 1, got {[a.shape for a in arrays]}")
    axis = _axes(axis, ndim, "concatenate")[0]
    dtype = result_type(*arrays)
    out = _as_value(arrays[0], dtype)
    for a in arrays[1:]:
        if any(x != y for i, (x, y) in enumerate(zip(arrays[0].shape, a.shape)) if i != axis):
            _fail("concatenate", f"shapes {[b.shape for b in arrays]} differ off axis {axis}")
        out = ops.concatenate(out, _as_value(a, dtype), axis)
    return wrap(out)


@_op
def stack(arrays: Sequence, axis: int = 0) -> Tracer:
    arrays = [_as_tracer(a) for a in arrays]
    if not arrays or any(a.shape != arrays[0].shape for a in arrays):
        _fail("stack", f"all input arrays must have the same shape, got {[a.shape for a in arrays]}")
    axis = _axes(axis, arrays[0].ndim + 1, "stack")[0]
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


@_op
def pad(x, pad_width, constant_values=0) -> Tracer:
    x = _as_tracer(x)
    _static("pad", pad_width)
    widths = _np.asarray(pad_width)
    if widths.dtype.kind not in "iu" and widths.size:
        _fail("pad", f"pad_width must be integers, got {_describe(pad_width)}")
    if (widths < 0).any():
        _fail("pad", f"pad_width must be non-negative, got {pad_width!r}")
    try:
        widths = _np.broadcast_to(widths.astype(_np.int64), (x.ndim, 2))
    except ValueError:
        _fail("pad", f"pad_width {pad_width!r} does not fit an array of shape {x.shape}")
    if (widths < 0).any():
        _fail("pad", f"pad_width must be non-negative, got {pad_width!r}")
    value = _as_value(constant_values, x.dtype)
    return wrap(ops.pad(value_of(x), value, widths[:, 0], widths[:, 1]))

