"""`tfn.nn`: the functions of neural networks, torch.nn.functional's names, arguments and
layouts (import them `from tfn import nn`, use them as `F`), numerically stable, built on
`tfn.numpy` so that every transform (grad, vmap, jvp, ...) applies.

    >>> import numpy as np, tfn
    >>> from tfn import nn
    >>> np.round(tfn.jit(nn.softmax)(np.array([0.0, 1000.0])), 3)
    array([0., 1.])

Modules by family: `activations` (relu, gelu, softmax, ...), `normalization` (layer_norm,
group_norm, batch_norm, normalize), `losses` (cross_entropy, nll_loss, mse_loss, ...),
`convolution` (conv1d/2d/3d, conv_transpose2d, max/avg/adaptive pooling),
`attention` (scaled_dot_product_attention), `linear`, `embedding` (embedding, one_hot) and
`dropout`. Where torch keeps state (batch_norm's running statistics, the global random
generator of dropout) the function is pure instead: batch_norm returns the new statistics,
dropout takes a `tfn.random` key.
"""
from __future__ import annotations

from tfn.nn.activations import (elu, gelu, hardtanh, leaky_relu, log_sigmoid, log_softmax, logsigmoid, logsumexp,
                                relu, sigmoid, silu, softmax, softplus, tanh)
from tfn.nn.attention import scaled_dot_product_attention
from tfn.nn.convolution import (adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, conv3d, conv_transpose2d,
                                max_pool2d)
from tfn.nn.dropout import dropout
from tfn.nn.embedding import embedding, one_hot
from tfn.nn.linear import linear
from tfn.nn.losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss,
                           kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from tfn.nn.normalization import batch_norm, group_norm, layer_norm, normalize

__all__ = [
    # activations
    "relu", "sigmoid", "softplus", "gelu", "silu", "elu", "leaky_relu", "log_sigmoid", "logsigmoid", "tanh", "hardtanh",
    "softmax", "log_softmax", "logsumexp",
    # normalization
    "layer_norm", "group_norm", "batch_norm", "normalize",
    # losses
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    # convolution and pooling
    "conv1d", "conv2d", "conv3d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    # attention, linear, lookups, dropout
    "scaled_dot_product_attention", "linear", "embedding", "one_hot", "dropout",
]

# The public functions are tfn.nn's, wherever in the package they are written (as tfn.numpy's).
for _name in __all__:
    if getattr(globals()[_name], "__module__", "").startswith(__name__ + "."):
        globals()[_name].__module__ = __name__
del _name
