"""Eager calls: a tfn.numpy function called on numpy data is compiled (cached) and run.

Importing this module installs `call_eagerly` as the eager-call hook of the frontend
(`tfn.frontend.dispatch`), through which tfn.numpy reaches the compiler it does not import.
"""
from __future__ import annotations

import numpy as np

from tfn.api.caching import FunctionCache, Programs, try_key
from tfn.api.jit import Jitted
from tfn.frontend import dispatch, pytree
from tfn.frontend.tracer import Tracer

# function key -> (structure and static leaves -> program), bounded; see tfn.api.caching.
_EAGER_CACHE = FunctionCache("eager tfn.numpy calls")


def _dynamic(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, Tracer)) or type(x).__name__ == "DeviceArray"


def call_eagerly(fn, args, kwargs):
    """Runs fn(*args, **kwargs) compiled: numpy leaves are inputs, everything else is static."""
    leaves, tree = pytree.flatten((args, kwargs))
    dynamic = [i for i, x in enumerate(leaves) if _dynamic(x)]
    static = tuple((i, x) for i, x in enumerate(leaves) if not _dynamic(x))
    try:
        # 1, 1.0 and True are equal and hash alike but promote differently: key on their types too.
        key = (tree, static, tuple(type(x) for _, x in static))
        hash(key)
    except TypeError:
        raise TypeError(f"{fn.__name__}: eager call with unhashable non-array arguments") from None
    name = getattr(fn, "__name__", "op")
    keyed = try_key(fn)
    programs = Programs() if keyed is None else _EAGER_CACHE.get(*keyed, Programs)
    jitted = programs.get(key, lambda: Jitted(None, name=name))
    fixed = dict(static)

    def bound(*dyn):
        it = iter(dyn)
        full = [fixed[i] if i in fixed else next(it) for i in range(len(leaves))]
        a, kw = pytree.unflatten(tree, full)
        return fn(*a, **kw)
    bound.__name__ = name
    return jitted._call(bound, [leaves[i] for i in dynamic], {})


dispatch.set_eager_call(call_eagerly)
