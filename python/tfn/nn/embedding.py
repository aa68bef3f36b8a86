"""Lookups by integer index: `embedding` (rows of a table) and `one_hot`.

    >>> import numpy as np
    >>> from tfn import nn
    >>> nn.embedding(np.array([[2, 0]]), np.arange(6.0).reshape(3, 2))
    array([[[4., 5.],
            [0., 1.]]])
"""
from __future__ import annotations

import operator

from tfn import numpy as tnp
from tfn.numpy._core import _op


@_op
def embedding(input, weight, padding_idx=None):
    """weight[input]: the rows of the table `weight` (num_embeddings, embedding_dim) at the
    integer indices `input` (any shape), torch's `F.embedding`. Rows at `padding_idx` get no
    gradient, as in torch (which also zeroes that row when it creates the table).

    It is a gather, `tnp.take(weight, input, axis=0)`, computed as a one-hot selection:
    differentiable and batchable, O(input.size * num_embeddings * embedding_dim); an index
    outside the table gives a zero row (torch raises). torch's max_norm (an in-place
    renormalization of weight) and sparse gradients are not taken.
    """
    weight = tnp.asarray(weight)
    out = tnp.take(weight, input, axis=0)
    if padding_idx is None:
        return out
    n = weight.shape[0]
    padding_idx = operator.index(padding_idx)
    if not -n <= padding_idx < n:
        raise ValueError(f"tfn.nn.embedding: padding_idx {padding_idx} is outside the table of {n} rows")
    at_padding = tnp.expand_dims(tnp.equal(input, padding_idx % n), -1)
    return tnp.where(at_padding, tnp.stop_gradient(out), out)


@_op
def one_hot(labels, num_classes: int, dtype=tnp.float32):
    """one_hot[..., k] = (labels[...] == k), float32 by default (torch's `F.one_hot` gives int64).

        >>> import numpy as np
        >>> from tfn import nn
        >>> nn.one_hot(np.array([0, 2]), 3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    return tnp.asarray(tnp.equal(tnp.expand_dims(labels, -1), tnp.arange(num_classes)), dtype)
