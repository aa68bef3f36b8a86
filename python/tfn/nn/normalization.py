"""Normalization: `layer_norm`, `group_norm`, `batch_norm` and `normalize`, in torch's layouts
(channels at axis 1: (N, C, ...)) with torch's argument names and defaults.

Statistics use the biased variance (divided by the count), as torch does when normalizing;
`batch_norm`'s running variance is updated with the unbiased one, as torch's is.

    >>> import numpy as np
    >>> from tfn import nn
    >>> x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]])
    >>> np.round(nn.layer_norm(x, 3), 4)
    array([[-1.2247,  0.    ,  1.2247],
           [-0.7071, -0.7071,  1.4142]])
"""
from __future__ import annotations

import operator

import numpy as np

from tfn import numpy as tnp
from tfn.numpy._core import _op


def _moments(x, axes):
    """(x - mean, biased variance) over `axes`, both with kept dims."""
    centered = x - tnp.mean(x, axis=axes, keepdims=True)
    return centered, tnp.mean(centered * centered, axis=axes, keepdims=True)


def _affine(y, weight, bias, shape):
    """y * weight + bias, the parameters reshaped to `shape` (None: left out)."""
    if weight is not None:
        y = y * tnp.reshape(weight, shape)
    if bias is not None:
        y = y + tnp.reshape(bias, shape)
    return y


def _channels(name: str, x) -> tuple[int, tuple]:
    """(C, the shape that broadcasts a per-channel vector against x) for x of layout (N, C, ...)."""
    if x.ndim < 2:
        raise ValueError(f"tfn.nn.{name}: expects an input of shape (N, C, ...), got shape {x.shape}")
    return x.shape[1], (x.shape[1],) + (1,) * (x.ndim - 2)


@_op
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalizes over the trailing dims `normalized_shape` (an int or a tuple): (x - mean) /
    sqrt(var + eps) * weight + bias, `weight` and `bias` of shape `normalized_shape`.

        >>> import numpy as np
        >>> from tfn import nn
        >>> nn.layer_norm(np.ones((2, 5, 4), np.float32), (5, 4), weight=np.ones((5, 4), np.float32)).shape
        (2, 5, 4)
    """
    x = tnp.asarray(input)
    shape = (operator.index(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(operator.index(n) for n in normalized_shape)
    k = len(shape)
    if k == 0 or x.shape[x.ndim - k:] != shape or k > x.ndim:
        raise ValueError(f"tfn.nn.layer_norm: normalized_shape {shape} must be the trailing dims of the "
                         f"input, of shape {x.shape}")
    centered, var = _moments(x, tuple(range(x.ndim - k, x.ndim)))
    return _affine(centered * tnp.rsqrt(var + eps), weight, bias, shape)


@_op
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Splits the C channels of x (N, C, ...) into `num_groups` groups and normalizes each
    group of each example over its channels and positions; `weight` and `bias` are per channel (C,).

        >>> import numpy as np
        >>> from tfn import nn
        >>> nn.group_norm(np.arange(24.0).reshape(2, 4, 3), 2).shape
        (2, 4, 3)
    """
    x = tnp.asarray(input)
    c, per_channel = _channels("group_norm", x)
    num_groups = operator.index(num_groups)
    if num_groups <= 0 or c % num_groups:
        raise ValueError(f"tfn.nn.group_norm: {c} channels do not split into {num_groups} groups")
    groups = tnp.reshape(x, (x.shape[0], num_groups, -1))
    centered, var = _moments(groups, 2)
    y = tnp.reshape(centered * tnp.rsqrt(var + eps), x.shape)
    return _affine(y, weight, bias, per_channel)


@_op
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalization of x (N, C, ...) per channel, functional: returns
    `(y, new_running_mean, new_running_var)` in training and in evaluation alike.

    - training=True: y is normalized by the batch's mean and (biased) variance over every
      axis but 1; the running statistics come back updated, `(1 - momentum) * running +
      momentum * batch` with the batch's unbiased variance, as torch updates its buffers
      in place. They carry no gradient (torch's buffers do not either). `running_mean`
      and `running_var` may both be None (torch's track_running_stats=False): then
      `(y, None, None)`.
    - training=False: y is normalized by `running_mean` and `running_var`, which come back
      unchanged.

    torch's `F.batch_norm(x, rm, rv, w, b, training=True)` updates rm and rv in place;
    here write `y, rm, rv = nn.batch_norm(x, rm, rv, w, b, training=True)`.

        >>> import numpy as np
        >>> from tfn import nn
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
        >>> y, mean, var = nn.batch_norm(x, np.zeros(2), np.ones(2), training=True, momentum=0.5)
        >>> np.round(y, 4)
        array([[-1., -1.],
               [ 1.,  1.]])
        >>> mean, var
        (array([ 1., 10.]), array([  1.5, 100.5]))
    """
    x = tnp.asarray(input)
    c, per_channel = _channels("batch_norm", x)
    if (running_mean is None) != (running_var is None):
        raise ValueError("tfn.nn.batch_norm: running_mean and running_var are given together or not at all")
    if not training:
        if running_mean is None:
            raise ValueError("tfn.nn.batch_norm: evaluation (training=False) needs running_mean and running_var")
        y = (x - tnp.reshape(running_mean, per_channel)) * tnp.rsqrt(tnp.reshape(running_var, per_channel) + eps)
        return _affine(y, weight, bias, per_channel), running_mean, running_var
    axes = (0,) + tuple(range(2, x.ndim))
    count = int(np.prod(x.shape, dtype=np.int64)) // c
    if count <= 1:
        raise ValueError(f"tfn.nn.batch_norm: training needs more than 1 value per channel, got input shape {x.shape}")
    centered, var = _moments(x, axes)
    y = _affine(centered * tnp.rsqrt(var + eps), weight, bias, per_channel)
    if running_mean is None:
        return y, None, None
    batch_mean = tnp.mean(x, axis=axes)
    unbiased = tnp.reshape(var, (c,)) * (count / (count - 1))
    new_mean = (1 - momentum) * tnp.asarray(running_mean) + momentum * batch_mean
    new_var = (1 - momentum) * tnp.asarray(running_var) + momentum * unbiased
    return y, tnp.stop_gradient(new_mean), tnp.stop_gradient(new_var)


@_op
def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along `dim` (torch's `F.normalize`; p may be inf).

        >>> import numpy as np
        >>> from tfn import nn
        >>> nn.normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    x = tnp.asarray(input)
    if p == 2:
        norm = tnp.sqrt(tnp.sum(x * x, axis=dim, keepdims=True))
    elif p == 1:
        norm = tnp.sum(tnp.abs(x), axis=dim, keepdims=True)
    elif p == np.inf:
        norm = tnp.max(tnp.abs(x), axis=dim, keepdims=True)
    else:
        norm = tnp.sum(tnp.abs(x) ** p, axis=dim, keepdims=True) ** (1.0 / p)
    return x / tnp.maximum(norm, eps)
