"""Activations and the softmax family, numerically stable, elementwise in x's dtype.

    >>> import numpy as np, tfn
    >>> from tfn import nn
    >>> np.round(tfn.jit(nn.softmax)(np.array([0.0, 1000.0])), 3)
    array([0., 1.])
    >>> nn.leaky_relu(np.array([-2.0, 3.0]), 0.1)
    array([-0.2,  3. ])
"""
from __future__ import annotations

import numpy as np

from tfn import numpy as tnp
from tfn import ops
from tfn.frontend.tracer import wrap
from tfn.numpy._core import _as_value, _axes, _op, _ufunc_dtypes


@_op
def relu(x):
    """max(x, 0)."""
    return tnp.maximum(x, 0)


@_op
def sigmoid(x):
    """1 / (1 + exp(-x)), one `tfn.logistic` op (no overflow for large |x|)."""
    (dtype,), _ = _ufunc_dtypes("sigmoid", np.exp, x)  # numpy's dtype of exp(x)
    return wrap(ops.logistic(_as_value(x, dtype)))


@_op
def softplus(x):
    """log(1 + exp(x)) without overflow."""
    return tnp.maximum(x, 0) + tnp.log1p(tnp.exp(-tnp.abs(x)))


@_op
def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), finite for large |x|.

        >>> from tfn import nn
        >>> nn.log_sigmoid(-1000.0)
        array(-1000.)
    """
    return -softplus(-x)


logsigmoid = log_sigmoid  # torch's name (F.logsigmoid)


@_op
def silu(x):
    """x * sigmoid(x) (swish)."""
    return x * sigmoid(x)


@_op
def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise (torch's `F.elu`)."""
    return tnp.where(tnp.greater(x, 0), x, alpha * tnp.expm1(tnp.minimum(x, 0)))


@_op
def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise (torch's `F.leaky_relu`)."""
    return tnp.where(tnp.greater(x, 0), x, x * negative_slope)


@_op
def tanh(x):
    """tanh(x), as `tfn.numpy.tanh` (torch has `F.tanh` too)."""
    return tnp.tanh(x)


@_op
def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x clipped to [min_val, max_val] (torch's `F.hardtanh`)."""
    return tnp.clip(x, min_val, max_val)


@_op
def gelu(x, approximate=False):
    """GELU: x * Phi(x) with the exact normal CDF (torch's default), or its tanh
    approximation (JAX's default) with approximate=True. torch's spellings
    approximate='none' and approximate='tanh' are taken too.

        >>> import numpy as np
        >>> from tfn import nn
        >>> np.round(nn.gelu(np.array([-1.0, 0.0, 1.0]), approximate="tanh"), 4)
        array([-0.1588,  0.    ,  0.8412])
    """
    if approximate not in (False, True, "none", "tanh"):
        raise ValueError(f"tfn.nn.gelu: approximate must be a bool, 'none' or 'tanh', got {approximate!r}")
    if approximate is True or approximate == "tanh":
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
def log_softmax(x, axis=-1, *, dim=None):
    """x - logsumexp(x) along `axis` (`dim`, torch's name, wins when given)."""
    axis = axis if dim is None else dim
    shifted = x - _shift(x, axis)
    return shifted - tnp.log(tnp.sum(tnp.exp(shifted), axis=axis, keepdims=True))


@_op
def softmax(x, axis=-1, *, dim=None):
    """exp(x) / sum(exp(x)) along `axis` (`dim`, torch's name, wins when given), around the maximum."""
    axis = axis if dim is None else dim
    e = tnp.exp(x - _shift(x, axis))
    return e / tnp.sum(e, axis=axis, keepdims=True)
