"""`tfn.lax.dynamic_slice` and friends: windows at positions known at run time (JAX's names).

The start indices may be a sequence of scalars (traced or Python ints) or a 1-d integer
array; they become the one 1-d index tensor of `tfn.dynamic_slice` /
`tfn.dynamic_update_slice` (`tfn/ops/dynamic_slicing.py`), int64 if any index is, else
int32. A negative index counts from the end (as in JAX), then the op clamps the window
into the operand.

    >>> import numpy as np, tfn
    >>> x = np.arange(10.0)
    >>> tfn.lax.dynamic_slice(x, (8,), (3,)).tolist()         # clamped to start 7
    [7.0, 8.0, 9.0]
    >>> tfn.lax.dynamic_update_slice(x, np.zeros(2), (-1,)).tolist()[-3:]
    [7.0, 0.0, 0.0]
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tfn import numpy as tnp
from tfn import ops
from tfn.frontend.tracer import wrap
from tfn.numpy._core import _as_value, _op

__all__ = ["dynamic_slice", "dynamic_update_slice", "dynamic_index_in_dim", "dynamic_update_index_in_dim",
           "dynamic_slice_in_dim", "dynamic_update_slice_in_dim"]


def _start_indices(start_indices, shape: Sequence[int], name: str):
    """The 1-d index tensor (ir.Value) of `start_indices`, negative entries counted from the end."""
    if not isinstance(start_indices, (list, tuple)):
        start_indices = tnp.asarray(start_indices)
        if start_indices.ndim != 1:
            raise TypeError(f"{name}: start_indices must be a sequence of scalars or a 1-d array")
        start_indices = [start_indices[j] for j in range(start_indices.shape[0])]
    if len(start_indices) != len(shape):
        raise TypeError(f"{name}: {len(start_indices)} start indices for an operand of rank {len(shape)}")
    scalars = [tnp.asarray(i) for i in start_indices]
    if any(s.ndim != 0 or np.dtype(s.dtype).kind not in "iu" for s in scalars):
        raise TypeError(f"{name}: start indices must be integer scalars")
    dtype = np.int64 if any(np.dtype(s.dtype).itemsize > 4 for s in scalars) else np.int32
    dtype = np.dtype(dtype)
    values = []
    for s, n in zip(scalars, shape):
        v = _as_value(s, dtype)
        wrapped = ops.add(v, ops.full((), n, dtype))
        v = ops.select(ops.compare("lt", v, ops.full((), 0, dtype)), wrapped, v)
        values.append(ops.reshape(v, (1,)))
    if not values:
        return ops.constant(np.zeros((0,), dtype))
    joined = values[0]
    for v in values[1:]:
        joined = ops.concatenate(joined, v, 0)
    return joined


@_op
def dynamic_slice(operand, start_indices, slice_sizes: Sequence[int]):
    """`jax.lax.dynamic_slice`: the window of shape `slice_sizes` at `start_indices`, each start
    clamped to [0, dim - size] so that the window fits."""
    x = tnp.asarray(operand)
    starts = _start_indices(start_indices, x.shape, "tfn.lax.dynamic_slice")
    return wrap(ops.dynamic_slice(_as_value(x), starts, [int(s) for s in slice_sizes]))


@_op
def dynamic_update_slice(operand, update, start_indices):
    """`jax.lax.dynamic_update_slice`: `operand` with the window at `start_indices` (clamped so
    that it fits) replaced by `update` (converted to the operand's dtype)."""
    x = tnp.asarray(operand)
    u = tnp.asarray(update)
    starts = _start_indices(start_indices, x.shape, "tfn.lax.dynamic_update_slice")
    return wrap(ops.dynamic_update_slice(_as_value(x), _as_value(u, x.dtype), starts))


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim


@_op
def dynamic_slice_in_dim(operand, start_index, slice_size: int, axis: int = 0):
    """`jax.lax.dynamic_slice_in_dim`: `slice_size` entries from `start_index` along `axis`."""
    x = tnp.asarray(operand)
    axis = _axis(axis, x.ndim)
    starts = [start_index if d == axis else 0 for d in range(x.ndim)]
    sizes = [slice_size if d == axis else n for d, n in enumerate(x.shape)]
    return dynamic_slice(x, starts, sizes)


@_op
def dynamic_index_in_dim(operand, index, axis: int = 0, keepdims: bool = True):
    """`jax.lax.dynamic_index_in_dim`: entry `index` along `axis` (kept as a dim of 1 if keepdims)."""
    x = tnp.asarray(operand)
    axis = _axis(axis, x.ndim)
    out = dynamic_slice_in_dim(x, index, 1, axis)
    return out if keepdims else tnp.squeeze(out, axis)


@_op
def dynamic_update_slice_in_dim(operand, update, start_index, axis: int):
    """`jax.lax.dynamic_update_slice_in_dim`: `update` written from `start_index` along `axis`."""
    x = tnp.asarray(operand)
    axis = _axis(axis, x.ndim)
    return dynamic_update_slice(x, update, [start_index if d == axis else 0 for d in range(x.ndim)])


@_op
def dynamic_update_index_in_dim(operand, update, index, axis: int):
    """`jax.lax.dynamic_update_index_in_dim`: entry `index` along `axis` replaced by `update`
    (which may lack that dim)."""
    x = tnp.asarray(operand)
    axis = _axis(axis, x.ndim)
    u = tnp.asarray(update)
    if u.ndim == x.ndim - 1:
        u = tnp.expand_dims(u, axis)
    return dynamic_update_slice_in_dim(x, u, index, axis)
