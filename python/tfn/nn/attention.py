"""Attention: `scaled_dot_product_attention`, torch's shapes and mask conventions.

    >>> import numpy as np
    >>> from tfn import nn
    >>> q = k = v = np.eye(3)[None]                   # (batch, L=3, E=3)
    >>> np.round(nn.scaled_dot_product_attention(q, k, v, is_causal=True)[0], 3)
    array([[1.   , 0.   , 0.   ],
           [0.36 , 0.64 , 0.   ],
           [0.264, 0.264, 0.471]])
"""
from __future__ import annotations

import math

import numpy as np

from tfn import numpy as tnp
from tfn.nn.activations import softmax
from tfn.nn.dropout import dropout
from tfn.numpy._core import _op


@_op
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 *, key_rng=None):
    """softmax(query @ key^T * scale + mask) @ value, torch's `F.scaled_dot_product_attention`.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the leading dims
    broadcast. `scale` defaults to 1 / sqrt(E). `attn_mask` broadcasts to (..., L, S): a bool
    mask says where to attend (True: attend, False: masked out), a float mask is added to the
    scores. `is_causal=True` masks position j > i out (the top-left aligned lower triangle,
    as torch), and takes no attn_mask. A row with every position masked out gives zeros (and
    zero gradients), as torch's math backend does.

    The softmax is taken around each row's maximum (no overflow). Dropout on the attention
    weights (dropout_p > 0) draws with an explicit random key, `key_rng` (`key` is the
    attention's key tensor); torch's `enable_gqa` is not taken.
    """
    q, k, v = tnp.asarray(query), tnp.asarray(key), tnp.asarray(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"tfn.nn.scaled_dot_product_attention: query, key and value need shape (..., L, E), got "
                         f"{q.shape}, {k.shape}, {v.shape}")
    length, source = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = tnp.matmul(q, tnp.swapaxes(k, -1, -2)) * scale
    if is_causal:
        if attn_mask is not None:
            raise ValueError("tfn.nn.scaled_dot_product_attention: is_causal=True takes no attn_mask")
        attn_mask = np.tril(np.ones((length, source), np.bool_))
    if attn_mask is not None:
        mask = tnp.asarray(attn_mask)
        if mask.dtype == np.bool_:
            scores = tnp.where(mask, scores, -np.inf)
        else:
            scores = scores + mask
        # A row masked out entirely: its softmax is taken of zeros and then zeroed, so neither
        # its values nor its gradients are nan.
        dead = tnp.equal(tnp.stop_gradient(tnp.max(scores, axis=-1, keepdims=True)), -np.inf)
        weights = tnp.where(dead, 0, softmax(tnp.where(dead, 0, scores), axis=-1))
    else:
        weights = softmax(scores, axis=-1)
    if dropout_p > 0:
        if key_rng is None:
            raise ValueError("tfn.nn.scaled_dot_product_attention: dropout_p > 0 needs key_rng= (a tfn.random key)")
        weights = dropout(weights, dropout_p, key=key_rng)
    return tnp.matmul(weights, v)
