"""Dropout with explicit random keys: `dropout`.

tfn's random numbers are stateless (`tfn.random`): where torch draws from a global
generator, a tfn dropout takes a `key`, and a new key per call (`tfn.random.split`).
Inside `tfn.vmap`, a key that is not mapped draws as the vmap's `randomness` says
('error' by default; 'different' for a new mask per example, 'same' for one mask).

    >>> import numpy as np, tfn
    >>> from tfn import nn
    >>> y = nn.dropout(np.ones(1000, np.float32), 0.25, key=tfn.random.key(0))
    >>> sorted(set(y.tolist())), bool(0.2 < np.mean(y == 0) < 0.3)
    ([0.0, 1.3333333730697632], True)
"""
from __future__ import annotations

import numbers

from tfn import numpy as tnp
from tfn import random
from tfn.numpy._core import _op


@_op
def dropout(input, p=0.5, training=True, *, key=None):
    """Zeroes each element with probability `p` and scales the others by 1 / (1 - p), so the
    expected value is unchanged (torch's `F.dropout`). With training=False or p=0 it returns
    `input`; with p=1 zeros. `key` (a `tfn.random` key) is needed whenever elements are drawn.
    `p` is a Python number (known while tracing)."""
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"tfn.nn.dropout: p must be a Python number in [0, 1] (known while tracing), got {p!r}")
    x = tnp.asarray(input)
    if not training or p == 0:
        return x
    if p == 1:
        return tnp.zeros_like(x)
    if key is None:
        raise ValueError("tfn.nn.dropout: needs key= (a tfn.random key, e.g. tfn.random.key(0)): tfn's random "
                         "numbers are stateless; split a new key for every call")
    keep = random.bernoulli(key, 1.0 - p, x.shape)
    return tnp.where(keep, x * (1.0 / (1.0 - p)), 0)
