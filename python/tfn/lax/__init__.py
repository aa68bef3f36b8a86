"""`tfn.lax`: convolution, window reductions, scans (`cumsum cumprod cummax cummin`, with
`reverse`), `sort` and `top_k`, windows at run-time starts (`dynamic_slice`,
`dynamic_update_slice` and their `_in_dim` / `_index_in_dim` forms, `lax/dynamic_slicing.py`),
structured control flow (`cond`, `switch`, `while_loop`, `fori_loop`, `scan`:
`control_flow.py`), custom derivatives (`custom_jvp`, `custom_vjp`) and `checkpoint`, with JAX's
names and argument conventions.

The scans are the Hillis-Steele composite of `tfn.numpy.cumsum` (`numpy/_scans.py`), `sort`
and `top_k` the bitonic network of `tfn.numpy.sort` (`numpy/_sorting.py`; `top_k` sorts
descending, ties in index order, and keeps the first k, indices int32 as JAX's).

`conv_general_dilated` is one tfn op (`tfn.conv_general_dilated`, canonical layout
lhs N C spatial..., rhs O I spatial..., result N C spatial...; see
`tfn/ops/convolution.py`): other dimension numbers are transposes around it, and
'SAME'/'VALID' padding is resolved here. `reduce_window` is a composite: the operand
padded with the init value, then one strided slice per window offset, combined with
`max`/`add` (so its derivatives, batching and lowering are theirs; the gradient of a
window max goes to the maximum, ties as `tfn.numpy.maximum`).

    >>> import numpy as np, tfn
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> tfn.lax.conv(x, np.ones((1, 1, 2, 2)), (2, 2), "VALID")[0, 0].tolist()
    [[10.0, 18.0], [42.0, 50.0]]
    >>> tfn.lax.reduce_window(x, -np.inf, "max", (1, 1, 2, 2), (1, 1, 2, 2), "VALID")[0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np

from tfn import numpy as tnp
from tfn import ops
from tfn.dialect.types import shape_of
from tfn.frontend.tracer import wrap
from tfn.numpy._core import _as_tracer, _as_value, _axis, _op
from tfn.numpy._indexing import take_along_axis
from tfn.numpy._scans import scan as _prefix_scan
from tfn.numpy._sorting import sort_permutation

from tfn.lax import linalg  # noqa: E402 - tfn.lax.linalg
from tfn.lax.control_flow import cond, fori_loop, map, scan, switch, while_loop  # noqa: E402,A004
from tfn.lax.custom_derivatives import custom_jvp, custom_vjp  # noqa: E402
from tfn.lax.checkpoint import checkpoint, checkpoint_policies, remat  # noqa: E402
from tfn.lax.dynamic_slicing import *  # noqa: E402,F401,F403 - dynamic_slice and friends
from tfn.lax.dynamic_slicing import __all__ as _dynamic_slicing_names

__all__ = ["conv_general_dilated", "conv", "conv_dimension_numbers", "padtype_to_pads", "reduce_window",
           "cumsum", "cumprod", "cummax", "cummin", "sort", "top_k", *_dynamic_slicing_names,
           "cond", "switch", "while_loop", "fori_loop", "scan", "map", "custom_jvp", "custom_vjp", "checkpoint", "remat",
           "checkpoint_policies"]


def padtype_to_pads(in_shape: Sequence[int], window_shape: Sequence[int], window_strides: Sequence[int],
                    padding: str) -> list[tuple[int, int]]:
    """(low, high) per dim for 'SAME' (output size ceil(in / stride), extra on the high side),
    'SAME_LOWER' (extra on the low side) or 'VALID' (none), as `jax.lax.padtype_to_pads`."""
    kind = padding.upper()
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"tfn.lax: unknown padding {padding!r} (expected 'SAME', 'SAME_LOWER' or 'VALID')")
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2) if kind == "SAME" else (total - total // 2, total // 2))
    return pads


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> tuple[tuple[int, ...], ...]:
    """(lhs_spec, rhs_spec, out_spec) as dim indices: lhs (batch, feature, spatial...), rhs
    (out feature, in feature, spatial...), out (batch, feature, spatial...). Accepts None
    (NC..., OI..., NC...), three layout strings ('NHWC', 'HWIO', 'NHWC'; spatial dims matched by
    letter in the rhs's order, as JAX), or three sequences of ints."""
    rank = len(lhs_shape)
    if dimension_numbers is None:
        default = tuple(range(rank))
        return default, default, default
    lhs, rhs, out = dimension_numbers
    if isinstance(lhs, str):
        if not (len(lhs) == len(rhs) == len(out) == rank):
            raise ValueError(f"tfn.lax.conv_general_dilated: dimension numbers {dimension_numbers} do not fit "
                             f"rank {rank}")
        spatial = [c for c in rhs if c not in "OI"]

        def spec(s, first, second):
            if sorted(c for c in s if c not in (first, second)) != sorted(spatial) or first not in s or second not in s:
                raise ValueError(f"tfn.lax.conv_general_dilated: bad dimension numbers {dimension_numbers}")
            return (s.index(first), s.index(second)) + tuple(s.index(c) for c in spatial)
        return spec(lhs, "N", "C"), spec(rhs, "O", "I"), spec(out, "N", "C")
    return tuple(int(d) for d in lhs), tuple(int(d) for d in rhs), tuple(int(d) for d in out)


def _ints(v, n: int, what: str) -> list[int]:
    if v is None:
        return [1] * n
    v = [int(x) for x in v]
    if len(v) != n:
        raise ValueError(f"tfn.lax: {what} needs {n} entries, got {v}")
    return v


@_op
def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1, precision=None,
                         preferred_element_type=None):
    """`jax.lax.conv_general_dilated`: padding is 'SAME', 'SAME_LOWER', 'VALID' or (low, high)
    pairs; `precision` is accepted and ignored (tfn computes in the operands' dtype)."""
    lhs, rhs = tnp.asarray(lhs), tnp.asarray(rhs)
    dtype = tnp.result_type(lhs, rhs) if preferred_element_type is None else np.dtype(preferred_element_type)
    lhs_spec, rhs_spec, out_spec = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    ns = lhs.ndim - 2
    strides = _ints(window_strides, ns, "window_strides")
    lhs_dilation, rhs_dilation = _ints(lhs_dilation, ns, "lhs_dilation"), _ints(rhs_dilation, ns, "rhs_dilation")
    lhs_c = ops.transpose(_as_value(lhs, dtype), lhs_spec)
    rhs_c = ops.transpose(_as_value(rhs, dtype), rhs_spec)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError("tfn.lax.conv_general_dilated: string padding with lhs_dilation: give explicit "
                             "(low, high) pairs")
        window = [(k - 1) * d + 1 for k, d in zip([rhs.shape[i] for i in rhs_spec[2:]], rhs_dilation)]
        padding = padtype_to_pads([lhs.shape[i] for i in lhs_spec[2:]], window, strides, padding)
    out = ops.conv_general_dilated(lhs_c, rhs_c, strides, [tuple(p) for p in padding], lhs_dilation,
                                   rhs_dilation, int(feature_group_count), int(batch_group_count))
    inverse = [list(out_spec).index(d) for d in range(len(out_spec))]
    return wrap(ops.transpose(out, inverse))


@_op
def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """`jax.lax.conv`: NCHW input, OIHW kernel."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


_COMBINE = {"max": "max", "add": "add", "min": "min", "mul": "mul"}


def _computation_name(computation) -> str:
    if isinstance(computation, str):
        name = computation
    else:
        name = {tnp.maximum: "max", tnp.add: "add", tnp.minimum: "min", tnp.multiply: "mul"}.get(computation)
        if name is None:
            name = getattr(computation, "__name__", "")
            name = {"maximum": "max", "max": "max", "add": "add", "minimum": "min", "min": "min",
                    "multiply": "mul", "mul": "mul"}.get(name, "")
    if name not in _COMBINE:
        raise ValueError(f"tfn.lax.reduce_window: computation {computation!r} is not supported "
                         "('max', 'min', 'add', 'mul' or tfn.numpy.maximum / minimum / add / multiply)")
    return name


@_op
def reduce_window(operand, init_value, computation, window_dimensions, window_strides, padding,
                  base_dilation=None, window_dilation=None):
    """`jax.lax.reduce_window` of one operand with a monoid `computation`: the operand padded
    with `init_value` (and dilated by `base_dilation`), then one strided slice per window
    offset, combined elementwise (a composite of tfn ops)."""
    name = _computation_name(computation)
    x = tnp.asarray(operand)
    rank = x.ndim
    window = _ints(window_dimensions, rank, "window_dimensions")
    strides = _ints(window_strides, rank, "window_strides")
    base, wdil = _ints(base_dilation, rank, "base_dilation"), _ints(window_dilation, rank, "window_dilation")
    if isinstance(padding, str):
        dilated = [(n - 1) * b + 1 if n else 0 for n, b in zip(x.shape, base)]
        padding = padtype_to_pads(dilated, [(k - 1) * d + 1 for k, d in zip(window, wdil)], strides, padding)
    padding = [(int(lo), int(hi)) for lo, hi in padding]
    if len(padding) != rank or min([p for pair in padding for p in pair], default=0) < 0:
        raise ValueError(f"tfn.lax.reduce_window: padding {padding} must be {rank} non-negative (low, high) pairs")
    v = _as_value(x)
    init = _as_value(init_value, x.dtype)
    if shape_of(init) != ():
        raise ValueError("tfn.lax.reduce_window: init_value must be a scalar")
    if any(p for pair in padding for p in pair) or any(b > 1 for b in base):
        v = ops.pad(v, init, [lo for lo, _ in padding], [hi for _, hi in padding], [b - 1 for b in base])
    padded = shape_of(v)
    out = [max(0, (n - ((k - 1) * d + 1)) // s + 1) if n >= (k - 1) * d + 1 else 0
           for n, k, d, s in zip(padded, window, wdil, strides)]
    combine = getattr(ops, _COMBINE[name])
    result = None
    for offset in itertools.product(*[range(k) for k in window]):
        start = [o * d for o, d in zip(offset, wdil)]
        limit = [b + (m - 1) * s + 1 if m else b for b, m, s in zip(start, out, strides)]
        piece = ops.slice(v, start, limit, strides)
        result = piece if result is None else combine(result, piece)
    if result is None or math.prod(window) == 0:   # an empty window: the init value everywhere
        return wrap(ops.broadcast_in_dim(init, out, []))
    # The init value takes part in the reduction (as in XLA); a Python identity is left out.
    identity = {"add": 0, "mul": 1, "max": -np.inf, "min": np.inf}[name]
    if not (isinstance(init_value, (int, float, np.number)) and float(init_value) == identity):
        result = combine(result, ops.broadcast_in_dim(init, out, []))
    return wrap(result)


# ---------------------------------------------------------------- scans, sorting (composites of tfn.numpy)

def _cumulative(kind: str, operand, axis: int, reverse: bool):
    x = _as_tracer(operand)
    return _prefix_scan(kind, x, _axis(axis, x.ndim, "cum" + kind), reverse)


@_op
def cumsum(operand, axis: int = 0, reverse: bool = False):
    """Inclusive cumulative sum along `axis` in the operand's dtype (`reverse`: from the end), as
    `jax.lax.cumsum`: the Hillis-Steele composite of `tfn.numpy.cumsum`."""
    return _cumulative("sum", operand, axis, reverse)


@_op
def cumprod(operand, axis: int = 0, reverse: bool = False):
    """Inclusive cumulative product along `axis`, as `jax.lax.cumprod` (exact gradient with zeros)."""
    return _cumulative("prod", operand, axis, reverse)


@_op
def cummax(operand, axis: int = 0, reverse: bool = False):
    """Running maximum along `axis`, as `jax.lax.cummax` (gradient to the earliest maximum)."""
    return _cumulative("max", operand, axis, reverse)


@_op
def cummin(operand, axis: int = 0, reverse: bool = False):
    """Running minimum along `axis`, as `jax.lax.cummin`."""
    return _cumulative("min", operand, axis, reverse)


@_op
def sort(operand, dimension: int = -1, is_stable: bool = True):
    """operand sorted along `dimension` (stably, nan last), as `jax.lax.sort` of one operand."""
    x = _as_tracer(operand)
    return tnp.sort(x, axis=dimension)


@_op
def top_k(operand, k: int):
    """The k largest entries along the last axis, largest first, and their int32 indices (ties:
    the lower index first), as `jax.lax.top_k`: a stable descending sort, the first k kept."""
    x = _as_tracer(operand)
    k = int(k)
    if x.ndim == 0 or not 0 <= k <= x.shape[-1]:
        raise ValueError(f"tfn.lax.top_k: k = {k} must lie in [0, {x.shape[-1] if x.ndim else 0}] "
                         f"(operand shape {x.shape})")
    index = sort_permutation(x, x.ndim - 1, descending=True)[..., :k]
    return take_along_axis(x, index, -1), tnp.asarray(index, np.int32)
