"""Eager calls: a tfn.numpy function called on numpy data is compiled (cached) and run."""
from __future__ import annotations

import numpy as np

from tfn.frontend import pytree
from tfn.frontend.tracer import Tracer

_EAGER_CACHE: dict = {}


def _dynamic(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, Tracer)) or type(x).__name__ == "DeviceArray"


def call_eagerly(fn, args, kwargs):
    """Runs fn(*args, **kwargs) compiled: numpy leaves are inputs, everything else is static."""
    from tfn.api.jit import jit
    leaves, tree = pytree.flatten((args, kwargs))
    dynamic = [i for i, x in enumerate(leaves) if _dynamic(x)]
    static = tuple((i, x) for i, x in enumerate(leaves) if not _dynamic(x))
    try:
        # 1, 1.0 and True are equal and hash alike but promote differently: key on their types too.
        key = (fn, tree, static, tuple(type(x) for _, x in static))
        hash(key)
    except TypeError:
        raise TypeError(f"{fn.__name__}: eager call with unhashable non-array arguments") from None
    jitted = _EAGER_CACHE.get(key)
    if jitted is None:
        fixed = dict(static)

        def bound(*dyn):
            it = iter(dyn)
            full = [fixed[i] if i in fixed else next(it) for i in range(len(leaves))]
            a, kw = pytree.unflatten(tree, full)
            return fn(*a, **kw)
        bound.__name__ = getattr(fn, "__name__", "op")
        jitted = _EAGER_CACHE[key] = jit(bound)
    return jitted(*[leaves[i] for i in dynamic])
