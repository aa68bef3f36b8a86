"""Torch-style convolution and pooling (`torch.nn.functional`'s names, NCHW, torch's weight layouts).

Convolutions are `tfn.lax.conv_general_dilated` (one tfn op); pooling is
`tfn.lax.reduce_window` (strided slices combined with max / add). Batched inputs are
(N, C, spatial...), unbatched ones (C, spatial...) as in torch.

    >>> import numpy as np, tfn
    >>> from tfn import nn as F
    >>> F.conv2d(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), padding="same").shape
    (1, 2, 4, 4)
    >>> F.max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
"""
from __future__ import annotations

import numpy as np

from tfn import lax
from tfn import numpy as tnp
from tfn.dialect.types import is_float_dtype
from tfn.numpy._core import _op

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _tuple(v, n: int, what: str) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(x) for x in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise ValueError(f"tfn.nn: {what} needs {n} entries, got {v}")
    return v


def _batched(x, n: int, name: str):
    """(x with a batch dim, whether one was added): torch takes (N, C, spatial) or (C, spatial)."""
    x = tnp.asarray(x)
    if x.ndim == n + 1:
        return tnp.expand_dims(x, 0), True
    if x.ndim != n + 2:
        raise ValueError(f"tfn.nn.{name}: expected a {n + 1}-d or {n + 2}-d input, got shape {x.shape}")
    return x, False


def _convnd(n: int, name: str, input, weight, bias, stride, padding, dilation, groups):
    x, added = _batched(input, n, name)
    weight = tnp.asarray(weight)
    stride, dilation = _tuple(stride, n, "stride"), _tuple(dilation, n, "dilation")
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"tfn.nn.{name}: padding='same' is not supported for strided convolutions")
            # torch: the total d·(k - 1), the odd one on the high side
            pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
        else:
            raise ValueError(f"tfn.nn.{name}: padding {padding!r} is not 'same', 'valid' or sizes")
    else:
        pads = [(p, p) for p in _tuple(padding, n, "padding")]
    out = lax.conv_general_dilated(x, weight, stride, pads, rhs_dilation=dilation, feature_group_count=groups)
    if bias is not None:
        out = out + tnp.reshape(bias, (1, -1) + (1,) * n)
    return out[0] if added else out


@_op
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """input (N, C, L), weight (O, C / groups, k): `torch.nn.functional.conv1d`."""
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


@_op
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """input (N, C, H, W), weight (O, C / groups, kh, kw): `torch.nn.functional.conv2d`."""
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


@_op
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """input (N, C, D, H, W), weight (O, C / groups, kd, kh, kw): `torch.nn.functional.conv3d`."""
    return _convnd(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


@_op
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """input (N, C, H, W), weight (C, O / groups, kh, kw): `torch.nn.functional.conv_transpose2d`,
    the gradient of conv2d with respect to its input: a convolution of the input dilated by
    `stride` with the spatially reversed kernel, in/out features swapped per group."""
    x, added = _batched(input, 2, "conv_transpose2d")
    w = tnp.asarray(weight)
    stride, dilation = _tuple(stride, 2, "stride"), _tuple(dilation, 2, "dilation")
    padding, output_padding = _tuple(padding, 2, "padding"), _tuple(output_padding, 2, "output_padding")
    cin, o_grp, kh, kw = w.shape
    # (groups·I, O_g, k) -> (groups·O_g, I, k), reversed in space
    w = tnp.reshape(w, (groups, cin // groups, o_grp, kh, kw))
    w = tnp.reshape(tnp.transpose(w, (0, 2, 1, 3, 4)), (groups * o_grp, cin // groups, kh, kw))
    w = _reverse(_reverse(w, 2), 3)
    pads = [(d * (k - 1) - p, d * (k - 1) - p + op)
            for k, d, p, op in zip((kh, kw), dilation, padding, output_padding)]
    out = lax.conv_general_dilated(x, w, (1, 1), pads, lhs_dilation=stride, rhs_dilation=dilation,
                                   feature_group_count=groups)
    if bias is not None:
        out = out + tnp.reshape(bias, (1, -1, 1, 1))
    return out[0] if added else out


def _reverse(x, axis: int):
    """x reversed along `axis` (unit slices joined in reverse order)."""
    n = x.shape[axis]
    if n <= 1:
        return x
    index = [slice(None)] * x.ndim
    pieces = []
    for i in reversed(range(n)):
        index[axis] = slice(i, i + 1)
        pieces.append(x[tuple(index)])
    return tnp.concatenate(pieces, axis=axis)


def _pool_geometry(shape, kernel, stride, padding, dilation, ceil_mode):
    """(high padding, output sizes) of torch's pooling: ceil_mode adds windows that start
    inside the input or its low padding."""
    highs, outs = [], []
    for n, k, s, p, d in zip(shape, kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1
        highs.append(max(p, (out - 1) * s + d * (k - 1) + 1 - n - p))
        outs.append(out)
    return highs, outs


@_op
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """`torch.nn.functional.max_pool2d`: padding is -inf; the gradient goes to the maximum."""
    if return_indices:
        raise NotImplementedError("tfn.nn.max_pool2d: return_indices=True is not supported")
    x, added = _batched(input, 2, "max_pool2d")
    kernel = _tuple(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None else _tuple(stride, 2, "stride")
    padding, dilation = _tuple(padding, 2, "padding"), _tuple(dilation, 2, "dilation")
    highs, _ = _pool_geometry(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    low = -np.inf if is_float_dtype(x.dtype) else np.iinfo(x.dtype).min
    out = lax.reduce_window(x, low, "max", (1, 1) + kernel, (1, 1) + stride,
                            [(0, 0), (0, 0)] + list(zip(padding, highs)), window_dilation=(1, 1) + dilation)
    return out[0] if added else out


@_op
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """`torch.nn.functional.avg_pool2d`: a window sum over the number of elements torch divides by
    (the window within the padded input, or within the input when count_include_pad=False)."""
    x, added = _batched(input, 2, "avg_pool2d")
    kernel = _tuple(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None else _tuple(stride, 2, "stride")
    padding = _tuple(padding, 2, "padding")
    highs, outs = _pool_geometry(x.shape[2:], kernel, stride, padding, (1, 1), ceil_mode)
    total = lax.reduce_window(x, 0.0, "add", (1, 1) + kernel, (1, 1) + stride,
                              [(0, 0), (0, 0)] + list(zip(padding, highs)))
    if divisor_override is not None:
        return (total / divisor_override)[0] if added else total / divisor_override
    counts = []
    for n, k, s, p, m in zip(x.shape[2:], kernel, stride, padding, outs):
        start = np.arange(m) * s - p
        lo, hi = (start, np.minimum(start + k, n + p)) if count_include_pad else (
            np.maximum(start, 0), np.minimum(start + k, n))
        counts.append(hi - lo)
    divisor = np.outer(counts[0], counts[1]).astype(x.dtype if is_float_dtype(x.dtype) else np.float64)
    out = total / divisor
    return out[0] if added else out


@_op
def adaptive_avg_pool2d(input, output_size):
    """`torch.nn.functional.adaptive_avg_pool2d` where each output size divides the input's
    (None keeps the input size): an average pool of stride = kernel = input / output."""
    x, added = _batched(input, 2, "adaptive_avg_pool2d")
    sizes = (output_size, output_size) if isinstance(output_size, (int, np.integer)) or output_size is None \
        else tuple(output_size)
    sizes = tuple(n if o is None else int(o) for n, o in zip(x.shape[2:], sizes))
    if any(o <= 0 or n % o for n, o in zip(x.shape[2:], sizes)):
        raise NotImplementedError(f"tfn.nn.adaptive_avg_pool2d: output size {sizes} must divide the input's "
                                  f"{tuple(x.shape[2:])}")
    kernel = tuple(n // o for n, o in zip(x.shape[2:], sizes))
    out = avg_pool2d(x, kernel, kernel)
    return out[0] if added else out
