"""`tfn.nn`: activation and normalization functions, numerically stable.

    >>> import numpy as np, tfn
    >>> from tfn import nn
    >>> np.round(tfn.jit(nn.softmax)(np.array([0.0, 1000.0])), 3)
    array([0., 1.])
"""
from __future__ import annotations

import numpy as np

from tfn import numpy as tnp
from tfn import ops
from tfn.frontend.tracer import wrap
from tfn.numpy._core import _as_value, _axes, _op, _ufunc_dtypes


@_op
def relu(x):
    return tnp.maximum(x, 0)


@_op
def sigmoid(x):
    (dtype,), _ = _ufunc_dtypes("sigmoid", np.exp, x)  # numpy's dtype of exp(x)
    return wrap(ops.logistic(_as_value(x, dtype)))


@_op
def softplus(x):
    """log(1 + exp(x)) without overflow."""
    return tnp.maximum(x, 0) + tnp.log1p(tnp.exp(-tnp.abs(x)))


@_op
def gelu(x, approximate: bool = False):
    """GELU: x * Phi(x) with the exact normal CDF (torch's default), or its tanh
    approximation (JAX's default) with approximate=True."""
    if approximate:
        c = 0.7978845608028654  # sqrt(2 / pi)
        return 0.5 * x * (1 + tnp.tanh(c * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + tnp.erf(x * 0.7071067811865476))


def _shift(x, axis):
    """The (gradient-free) maximum over `axis` with kept dims, that exp(x - shift) cannot overflow;
    0 over an empty axis (which has no maximum, and nothing to shift)."""
    x = tnp.asarray(x)
    axes = _axes(axis, x.ndim, "nn")
    if any(x.shape[a] == 0 for a in axes):
        return tnp.zeros(tuple(1 if i in axes else n for i, n in enumerate(x.shape)), x.dtype)
    return tnp.stop_gradient(tnp.max(x, axis=axis, keepdims=True))


@_op
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed around the (gradient-free) maximum; -inf over an empty axis."""
    m = _shift(x, axis)
    out = tnp.log(tnp.sum(tnp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else tnp.squeeze(out, axis=_axes(axis, tnp.asarray(x).ndim, "logsumexp"))


@_op
def log_softmax(x, axis=-1):
    shifted = x - _shift(x, axis)
    return shifted - tnp.log(tnp.sum(tnp.exp(shifted), axis=axis, keepdims=True))


@_op
def softmax(x, axis=-1):
    e = tnp.exp(x - _shift(x, axis))
    return e / tnp.sum(e, axis=axis, keepdims=True)


@_op
def one_hot(labels, num_classes: int, dtype=tnp.float32):
    """one_hot[..., k] = (labels[...] == k)."""
    return tnp.asarray(tnp.equal(tnp.expand_dims(labels, -1), tnp.arange(num_classes)), dtype)
