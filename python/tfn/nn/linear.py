"""`linear`: torch's `F.linear`, weight in torch's layout (out_features, in_features).

    >>> import numpy as np
    >>> from tfn import nn
    >>> nn.linear(np.ones((4, 3)), np.ones((2, 3)), np.array([0.0, 1.0]))[0]
    array([3., 4.])
"""
from __future__ import annotations

from tfn import numpy as tnp
from tfn.numpy._core import _op


@_op
def linear(input, weight, bias=None):
    """input @ weight.T + bias: input (..., in), weight (out, in) (or (in,): a (...) result),
    bias (out,)."""
    out = tnp.matmul(input, tnp.transpose(tnp.asarray(weight)))
    return out if bias is None else out + bias
