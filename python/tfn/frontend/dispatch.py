"""Hooks by which a layer above the frontend serves the array libraries below it.

A `tfn.numpy` function called outside a trace (`tnp.sin(np.ones(3))`) is compiled and run at
once, yet `tfn.numpy` lies below the compiler and does not import it: the compiler's eager
path installs itself here when it is imported (`tfn.api.eager`, which `import tfn` imports),
and the library calls it through `call_eagerly`.
"""
from __future__ import annotations

from typing import Any, Callable

_eager_call: Callable[[Callable, tuple, dict], Any] | None = None


def set_eager_call(call: Callable[[Callable, tuple, dict], Any]) -> None:
    """Installs `call(fn, args, kwargs)`, which runs fn(*args, **kwargs) compiled."""
    global _eager_call
    _eager_call = call


def call_eagerly(fn: Callable, args: tuple, kwargs: dict):
    """fn(*args, **kwargs) run outside a trace, by the hook the compiler installed."""
    if _eager_call is None:
        raise RuntimeError(f"{getattr(fn, '__name__', fn)} was called outside a trace, which compiles it, "
                           f"and tfn's compiler is not loaded: import tfn")
    return _eager_call(fn, args, kwargs)
