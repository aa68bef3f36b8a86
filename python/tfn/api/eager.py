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


class _Uncacheable(Exception):
    """A static argument whose program may not be reused: traced and compiled for this call only."""


def _static_key(x):
    """A static leaf as a key. A function (a body of `tfn.lax.cond`, `scan`, ...) keys by what
    determines its trace (its code and the values it reads, `caching.function_key`), never by
    identity: a branch reading a global that changed must not find the old program, and the
    table must not keep the user's function alive."""
    if not callable(x) or isinstance(x, type):
        return x
    keyed = try_key(x)
    # A key naming objects by identity (an instance, a list) could be met again by a new
    # object at the same address; numpy arrays are keyed by their contents as well.
    if keyed is None or not all(isinstance(w, np.ndarray) for w in keyed[1]):
        raise _Uncacheable
    return ("function", keyed[0])


def call_eagerly(fn, args, kwargs):
    """Runs fn(*args, **kwargs) compiled: numpy leaves are inputs, everything else is static."""
    leaves, tree = pytree.flatten((args, kwargs))
    dynamic = [i for i, x in enumerate(leaves) if _dynamic(x)]
    static = tuple((i, x) for i, x in enumerate(leaves) if not _dynamic(x))
    name = getattr(fn, "__name__", "op")
    try:
        # 1, 1.0 and True are equal and hash alike but promote differently: key on their types too.
        key = (tree, tuple((i, _static_key(x)) for i, x in static), tuple(type(x) for _, x in static))
        hash(key)
    except TypeError:
        raise TypeError(f"{fn.__name__}: eager call with unhashable non-array arguments") from None
    except _Uncacheable:
        key = None
    keyed = try_key(fn)
    programs = Programs() if keyed is None or key is None else _EAGER_CACHE.get(*keyed, Programs)
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
