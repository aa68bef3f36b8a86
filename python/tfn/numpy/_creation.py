"""Creation of arrays: `full`, `zeros`, `ones` and their `_like` forms, and the constants
numpy computes from static arguments (`arange`, `eye`, `linspace`). `asarray` and `array`
live in `_core`, since every function converts its operands with them.
"""
from __future__ import annotations

import numpy as _np

from tfn import ops
from tfn.dialect.types import canonical_dtype
from tfn.frontend.source import user_line
from tfn.frontend.tracer import Tracer, wrap
from tfn.numpy._core import (_broadcast_value, _dtype, _nested_tracers, _numpy_array, _op, _shape, _shape_arg,
                             _static, asarray, float64)
from tfn.numpy._shapes import broadcast_to


def _full(name: str, shape, fill_value, dtype) -> Tracer:
    shape = _shape_arg(shape, name)
    if isinstance(fill_value, Tracer) or _nested_tracers(fill_value):
        return broadcast_to(asarray(fill_value, dtype), shape)
    dtype = canonical_dtype(dtype if dtype is not None else _numpy_array(fill_value, name).dtype)
    return wrap(_broadcast_value(ops.constant(_np.asarray(fill_value, dtype), dtype), _np.shape(fill_value), shape))


@_op
def full(shape, fill_value, dtype=None) -> Tracer:
    return _full("full", shape, fill_value, dtype)


@_op
def zeros(shape, dtype=float64) -> Tracer:
    return _full("zeros", shape, 0, dtype)


@_op
def ones(shape, dtype=float64) -> Tracer:
    return _full("ones", shape, 1, dtype)


@_op
def full_like(x, fill_value, dtype=None) -> Tracer:
    return full(_shape(x), fill_value, dtype or _dtype(x))


@_op
def zeros_like(x, dtype=None) -> Tracer:
    return full(_shape(x), 0, dtype or _dtype(x))


@_op
def ones_like(x, dtype=None) -> Tracer:
    return full(_shape(x), 1, dtype or _dtype(x))



def _numpy_constant(name: str, fn, *args, **kwargs) -> Tracer:
    """A constant computed by numpy's `fn` (creation functions of static arguments)."""
    _static(name, *args)
    try:
        data = fn(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise type(error)(f"tfn.numpy.{name}: {error}\n  at {user_line()}") from None
    return asarray(data)


@_op
def arange(start, stop=None, step=1, dtype=None) -> Tracer:
    if stop is None:
        return _numpy_constant("arange", _np.arange, start, dtype=dtype)
    return _numpy_constant("arange", _np.arange, start, stop, step, dtype=dtype)


@_op
def eye(n: int, m: int | None = None, k: int = 0, dtype=float64) -> Tracer:
    return _numpy_constant("eye", _np.eye, n, m, k, dtype=dtype)


@_op
def linspace(start, stop, num=50, endpoint=True, dtype=None) -> Tracer:
    return _numpy_constant("linspace", _np.linspace, start, stop, num, endpoint=endpoint, dtype=dtype)

