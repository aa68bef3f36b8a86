"""Losses with torch's semantics: classification (`cross_entropy`, `nll_loss`,
`binary_cross_entropy`, `binary_cross_entropy_with_logits`), regression (`mse_loss`,
`l1_loss`, `smooth_l1_loss`, `huber_loss`) and `kl_div`.

Each takes `reduction` in {'mean', 'sum', 'none'} ('batchmean' too for `kl_div`). The
classification losses take input of shape (N, C), (C,) or (N, C, d1, ...), classes at axis 1
(axis 0 for a 1-d input). Arguments after `weight` are keyword-only: torch's deprecated
positional `size_average` and `reduce` sit there, so a positional call ported from torch
fails rather than means something else.

    >>> import numpy as np
    >>> from tfn import nn
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> np.round(nn.cross_entropy(logits, np.array([0, 2])), 4)   # (log(1 + 2 / e**2) + log(3)) / 2
    np.float64(0.6691)
    >>> nn.mse_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0]), reduction="none")
    array([0., 4.])
"""
from __future__ import annotations

import numpy as np

from tfn import numpy as tnp
from tfn.dialect.types import is_float_dtype
from tfn.nn.activations import log_softmax, softplus
from tfn.numpy._core import _op


def _check_reduction(name: str, reduction, allowed=("mean", "sum", "none")):
    if reduction not in allowed:
        raise ValueError(f"tfn.nn.{name}: reduction must be one of {', '.join(map(repr, allowed))}, "
                         f"got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return tnp.mean(loss)
    return tnp.sum(loss) if reduction == "sum" else loss


def _pointwise(name: str, fn, input, target, reduction, weight=None):
    """A loss computed elementwise on (input, target) (broadcast), times `weight`, reduced."""
    _check_reduction(name, reduction)
    loss = fn(tnp.asarray(input), tnp.asarray(target))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- classes: integer targets

def _class_shape(name: str, input) -> tuple[int, int, tuple]:
    """(class axis, number of classes C, the shape broadcasting a (C,) vector against input)."""
    if input.ndim == 0:
        raise ValueError(f"tfn.nn.{name}: input must have a class axis, got a 0-d array")
    axis = 1 if input.ndim >= 2 else 0
    return axis, input.shape[axis], (input.shape[axis],) + (1,) * (input.ndim - axis - 1)


def _picked(name: str, logp, target, weight, ignore_index):
    """Per element of target: (-weight[t] * logp[t], weight[t]), both 0 where t == ignore_index.

    The class is selected by comparison with every class index (a one-hot mask), so a
    target outside [0, C) that is not ignore_index selects nothing and counts as ignored
    (torch raises)."""
    axis, c, per_class = _class_shape(name, logp)
    target = tnp.asarray(target)
    expected = logp.shape[:axis] + logp.shape[axis + 1:]
    if target.dtype.kind not in "iu" or target.shape != expected:
        raise ValueError(f"tfn.nn.{name}: integer class targets of shape {expected} expected for input of "
                         f"shape {logp.shape}, got {target.dtype}{list(target.shape)}")
    valid = tnp.not_equal(target, ignore_index)
    hit = tnp.logical_and(tnp.equal(tnp.expand_dims(target, axis), tnp.reshape(tnp.arange(c), per_class)),
                          tnp.expand_dims(valid, axis))
    picked = tnp.sum(tnp.where(hit, logp, 0), axis=axis)
    if weight is None:
        return -picked, tnp.asarray(valid, picked.dtype)
    w = tnp.sum(tnp.where(hit, tnp.reshape(weight, per_class), 0), axis=axis)
    return -picked * w, w


def _weighted_reduce(loss, w, reduction):
    """torch's reduction of weighted class losses: 'mean' divides by the total weight of the
    targets that are not ignored (nan when every target is ignored, as in torch)."""
    if reduction == "mean":
        return tnp.sum(loss) / tnp.sum(w)
    return _reduce(loss, reduction)


@_op
def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log likelihood of integer class `target` under log-probabilities `input`:
    -weight[t] * input[n, t]; 'mean' divides by the sum of weight[t] over targets that are
    not `ignore_index` (by their count without weight).

        >>> import numpy as np
        >>> from tfn import nn
        >>> logp = np.log(np.array([[0.5, 0.5], [0.25, 0.75]]))
        >>> np.round(nn.nll_loss(logp, np.array([0, -100])), 4)
        np.float64(0.6931)
    """
    _check_reduction("nll_loss", reduction)
    loss, w = _picked("nll_loss", tnp.asarray(input), target, weight, ignore_index)
    return _weighted_reduce(loss, w, reduction)


@_op
def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross entropy of logits `input` against `target`, torch's `F.cross_entropy`:

    - integer targets (shape of input without the class axis): nll_loss of log_softmax(input),
      with `weight` and `ignore_index`; with label_smoothing e each loss is
      (1 - e) * nll + e / C * sum_c(-weight[c] * log_softmax(input)[c]), and 'mean' divides
      the total by the sum of the targets' weights (torch's normalization);
    - float targets (input's shape): class probabilities, -sum_c(weight[c] * target[c] *
      log_softmax(input)[c]) per element (after smoothing target to (1 - e) * target + e / C);
      'mean' averages over the elements (N * d1 * ...). `ignore_index` does not apply.

        >>> import numpy as np
        >>> from tfn import nn
        >>> logits = np.array([[1.0, 2.0, 3.0]])
        >>> np.round(nn.cross_entropy(logits, np.array([2]), label_smoothing=0.1), 4)
        np.float64(0.5076)
    """
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"tfn.nn.cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing}")
    x, target = tnp.asarray(input), tnp.asarray(target)
    axis, c, per_class = _class_shape("cross_entropy", x)
    logp = log_softmax(x, axis=axis)
    if is_float_dtype(target.dtype):
        if target.shape != x.shape:
            raise ValueError(f"tfn.nn.cross_entropy: probability targets need the input's shape {x.shape}, "
                             f"got {target.shape}")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / c
        terms = logp * target if weight is None else logp * target * tnp.reshape(weight, per_class)
        return _reduce(-tnp.sum(terms, axis=axis), reduction)
    loss, w = _picked("cross_entropy", logp, target, weight, ignore_index)
    if label_smoothing:
        weighted = logp if weight is None else logp * tnp.reshape(weight, per_class)
        smooth = tnp.where(tnp.not_equal(target, ignore_index), -tnp.sum(weighted, axis=axis), 0)
        loss = (1 - label_smoothing) * loss + (label_smoothing / c) * smooth
    return _weighted_reduce(loss, w, reduction)


# ---------------------------------------------------------------- binary targets

@_op
def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean", pos_weight=None):
    """-[pos_weight * t * log(sigmoid(x)) + (1 - t) * log(1 - sigmoid(x))] * weight, computed
    stably as (1 - t) * x + (1 + (pos_weight - 1) * t) * softplus(-x).

        >>> import numpy as np
        >>> from tfn import nn
        >>> nn.binary_cross_entropy_with_logits(np.array([1000.0, -1000.0]), np.array([1.0, 0.0]))
        array(0.)
    """
    def loss(x, t):
        scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        return (1 - t) * x + scale * softplus(-x)
    return _pointwise("binary_cross_entropy_with_logits", loss, input, target, reduction, weight)


@_op
def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """-[t * log(p) + (1 - t) * log(1 - p)] * weight for probabilities p, each log clamped
    at -100 as torch does (prefer `binary_cross_entropy_with_logits`, which is stable)."""
    def loss(p, t):
        return -(t * tnp.maximum(tnp.log(p), -100) + (1 - t) * tnp.maximum(tnp.log1p(-p), -100))
    return _pointwise("binary_cross_entropy", loss, input, target, reduction, weight)


# ---------------------------------------------------------------- regression

@_op
def mse_loss(input, target, *, reduction="mean"):
    """(input - target) ** 2."""
    return _pointwise("mse_loss", lambda x, t: tnp.square(x - t), input, target, reduction)


@_op
def l1_loss(input, target, *, reduction="mean"):
    """|input - target|."""
    return _pointwise("l1_loss", lambda x, t: tnp.abs(x - t), input, target, reduction)


@_op
def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0):
    """0.5 * d ** 2 / beta where |d| < beta, |d| - 0.5 * beta elsewhere (d = input - target);
    beta=0 is l1_loss.

        >>> import numpy as np
        >>> from tfn import nn
        >>> nn.smooth_l1_loss(np.array([0.5, 3.0]), np.zeros(2), reduction="none")
        array([0.125, 2.5  ])
    """
    def loss(x, t):
        d = tnp.abs(x - t)
        if beta == 0:
            return d
        return tnp.where(tnp.less(d, beta), 0.5 * d * d / beta, d - 0.5 * beta)
    return _pointwise("smooth_l1_loss", loss, input, target, reduction)


@_op
def huber_loss(input, target, *, reduction="mean", delta=1.0):
    """0.5 * d ** 2 where |d| < delta, delta * (|d| - 0.5 * delta) elsewhere: smooth_l1_loss
    with beta=delta, times delta."""
    def loss(x, t):
        d = tnp.abs(x - t)
        return tnp.where(tnp.less(d, delta), 0.5 * d * d, delta * (d - 0.5 * delta))
    return _pointwise("huber_loss", loss, input, target, reduction)


# ---------------------------------------------------------------- distributions

@_op
def kl_div(input, target, *, reduction="mean", log_target=False):
    """KL(target || q) pointwise with `input` = log q (torch's convention: the input is a
    log-probability, the target a probability, or a log-probability with log_target=True):
    target * (log(target) - input), 0 where target is 0. 'mean' averages over every element
    (as torch does); 'batchmean' divides the sum by the batch size input.shape[0], the
    true KL divergence per example.

        >>> import numpy as np
        >>> from tfn import nn
        >>> p = np.array([[0.5, 0.5]])
        >>> np.round(nn.kl_div(np.log(np.array([[0.25, 0.75]])), p, reduction="batchmean"), 4)
        np.float64(0.1438)
    """
    _check_reduction("kl_div", reduction, ("mean", "sum", "none", "batchmean"))
    x, t = tnp.asarray(input), tnp.asarray(target)
    if log_target:
        loss = tnp.exp(t) * (t - x)
    else:
        positive = tnp.greater(t, 0)
        loss = tnp.where(positive, t * (tnp.log(tnp.where(positive, t, 1)) - x), 0)
    if reduction == "batchmean":
        return tnp.sum(loss) / (x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction)
