"""The ground floor of `tfn.numpy`: how a public function traces or runs eagerly (`_op`),
its errors, numpy's dtype rules and broadcasting, and the conversion of Python and numpy
values (nested lists of tracers included) into traced arrays (`asarray`).

Every other module of the package builds on these; none of them is imported here.
"""
from __future__ import annotations

import builtins
import functools
import operator
import threading

import numpy as _np

from tfn import ops
from tfn.dialect.types import DtypeError, canonical_dtype, input_array
from tfn.frontend import dispatch
from tfn.frontend.source import user_line, user_location
from tfn.frontend.tracer import TraceError, Tracer, constant, current_scope, value_of, wrap

ndarray = Tracer
float16, float32, float64, int32, int64, bool_ = _np.float16, _np.float32, _np.float64, _np.int32, _np.int64, _np.bool_
pi, e, inf, nan, newaxis = _np.pi, _np.e, _np.inf, _np.nan, None

class _Nesting(threading.local):
    """How deep this thread is inside public tnp functions: only the outermost one sets the
    location and decides between tracing and running eagerly. Per thread, as the trace
    stack is: another thread's eager call must not see this thread's trace."""
    depth = 0


_NESTING = _Nesting()

def _op(fn):
    """Public tnp function: sets the user's source line as location; runs eagerly outside a trace."""
    name = fn.__name__.strip("_").removesuffix("_op")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _NESTING.depth:
            return fn(*args, **kwargs)
        if current_scope() is None:
            try:
                return dispatch.call_eagerly(wrapper, args, kwargs)
            except (TypeError, ValueError) as error:  # an argument found unusable before tracing
                _reraise(name, args, error)
        _NESTING.depth += 1
        try:
            with user_location():
                return fn(*args, **kwargs)
        except (TypeError, ValueError, IndexError, OverflowError, KeyError, AttributeError,
                ZeroDivisionError) as error:
            _reraise(name, args, error)
        finally:
            _NESTING.depth -= 1
    return wrapper


def _reraise(name: str, args, error: Exception):
    """Re-raises `error` naming the function, its arguments and the user's line, unless it
    does already (tfn's own errors start with "tfn."). What tfn did not expect (a KeyError,
    AttributeError or bare IndexError from inside it) becomes a ShapeError: a bad input
    that no check caught."""
    text = str(error)
    if text.startswith("tfn."):
        raise error
    described = ", ".join(_describe(a) for a in args)
    text = text.split("\n  at ")[0]
    if isinstance(error, (KeyError, AttributeError, ZeroDivisionError)) or type(error) is IndexError:
        raise ops.ShapeError(f"tfn.numpy.{name}: cannot handle arguments ({described}): "
                             f"{type(error).__name__}: {text}\n  at {user_line()}") from error
    kind = type(error) if type(error) in (TraceError, DtypeError, TypeError, ValueError, OverflowError) else next(
        k for k in (TypeError, ValueError, OverflowError) if isinstance(error, k))
    raise kind(f"tfn.numpy.{name}: {text} (arguments: {described})\n  at {user_line()}") from error


def _describe(x) -> str:
    if isinstance(x, Tracer) or isinstance(x, _np.ndarray):
        return f"{x.dtype.name}{list(x.shape)}"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_describe(y) for y in x) + "]" if len(x) < 8 else f"{type(x).__name__} of {len(x)}"
    return repr(x) if len(repr(x)) < 40 else type(x).__name__


def _fail(name: str, message: str):
    raise ops.ShapeError(f"tfn.numpy.{name}: {message}\n  at {user_line()}")



# ---------------------------------------------------------------- dtypes and broadcasting
# numpy decides every result dtype: ufuncs through their own loop resolution
# (`ufunc.resolve_dtypes`, Python scalars weak as in NEP 50), other functions by asking
# numpy about small stand-ins; ml_dtypes registers bfloat16's loops and promotions with numpy
# (bfloat16 + float16 is float32, as in JAX). A dtype numpy picks that tfn lacks widens
# (canonical_dtype): bool ** bool is int8 there, int32 here.

def _is_scalar(x) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, _np.generic)


def _is_weak(x) -> bool:
    """A Python scalar used directly as an operand (or passed as one to a jitted function)."""
    return _is_scalar(x) or (isinstance(x, Tracer) and x.weak)


def _numpy_array(x, name: str = "asarray") -> _np.ndarray:
    """numpy's array of a value holding no tracer, in a dtype tfn has."""
    try:
        return input_array(x)
    except TypeError as error:
        raise type(error)(f"tfn.numpy.{name}: {error} (got {_describe(x)})\n  at {user_line()}") from None
    except ValueError as error:
        _fail(name, f"{error} (got {_describe(x)})")


def _nested_aval(x, name: str = "asarray") -> tuple[tuple, _np.dtype]:
    """(shape, dtype) numpy's `array(x)` would have, for x possibly a (nested) list of tracers,
    without making the array. A weak tracer counts as the Python scalar it stands for."""
    if isinstance(x, Tracer):
        return x.shape, x.dtype
    if not _nested_tracers(x):
        a = _numpy_array(x, name)
        return a.shape, a.dtype
    parts = [_nested_aval(y, name) for y in x]
    if len({shape for shape, _ in parts}) > 1:
        _fail(name, f"setting an array element with a sequence: the requested array has an inhomogeneous "
                    f"shape (elements {', '.join(_describe(y) for y in x)})")
    return (len(x),) + parts[0][0], canonical_dtype(_np.result_type(*[d for _, d in parts]))


def _dtype(x) -> _np.dtype:
    if isinstance(x, Tracer):
        return x.dtype
    if isinstance(x, _np.ndarray):
        return canonical_dtype(x.dtype)
    return _nested_aval(x)[1]


def _shape(x) -> tuple:
    if isinstance(x, Tracer):
        return x.shape
    return _np.shape(x) if not isinstance(x, (list, tuple)) else _nested_aval(x)[0]


def _weak_key(x):
    """x for numpy's result_type: a weak scalar as a Python value, anything else as its dtype."""
    if _is_weak(x):
        return {"b": False, "i": 0, "f": 0.0}[_dtype(x).kind]
    return _dtype(x)


def result_type(*xs) -> _np.dtype:
    """numpy's promotion of xs (Python scalars weak, NEP 50), as a tfn dtype.

        >>> import numpy as np, tfn.numpy as tnp
        >>> tnp.result_type(np.ones(2, np.float32), 1.5), tnp.result_type(np.int32(1), np.int64(2))
        (dtype('float32'), dtype('int64'))
    """
    try:
        return canonical_dtype(_np.result_type(*_mixed_halves_to_f32([_weak_key(x) for x in xs])))
    except TypeError as error:
        _reraise("result_type", xs, error)


def _mixed_halves_to_f32(keys: list) -> list:
    """The promotion keys of 16-bit floats as JAX and NEP 50 promote them, whatever ml_dtypes'
    release tells numpy (older ones know neither rule): float16 with bfloat16 is float32, and
    a weak Python scalar (a value, or the type `int`/`float`) does not change a float result."""
    dtypes = [k for k in keys if isinstance(k, _np.dtype)]
    halves = {d for d in dtypes if d.kind == "f" and d.itemsize == 2}
    if not halves:
        return keys
    if len(halves) == 2:
        f32 = _np.dtype(_np.float32)
        keys = [f32 if isinstance(k, _np.dtype) and k in halves else k for k in keys]
        dtypes = [k for k in keys if isinstance(k, _np.dtype)]
    if len(dtypes) < len(keys) and all(isinstance(k, (bool, int, float)) or k in (bool, int, float) for k in keys
                                       if not isinstance(k, _np.dtype)):
        strong = _np.result_type(*dtypes)
        if strong.kind == "f":   # the weak scalars take the float result's dtype
            return [k if isinstance(k, _np.dtype) else strong for k in keys]
    return keys


def _loop_key(x):
    """x for `ufunc.resolve_dtypes`: a weak scalar as its Python type, anything else as its dtype."""
    d = _dtype(x)
    if _is_weak(x) and d.kind != "b":  # resolve_dtypes takes int and float as weak; a bool is a bool
        return int if d.kind == "i" else float
    return d


@functools.lru_cache(maxsize=4096)
def _resolve(ufunc, keys: tuple) -> tuple:
    loop = ufunc.resolve_dtypes(keys + (None,))
    return tuple(canonical_dtype(d) for d in loop[:-1]), canonical_dtype(loop[-1])


def _ufunc_dtypes(name: str, ufunc, *xs) -> tuple[tuple, _np.dtype]:
    """(dtypes the operands are computed in, result dtype): numpy's loop for `ufunc` on xs.
    Python scalars only (np.equal(1, 2)) are converted to their default dtypes, as numpy does."""
    weak = [_is_weak(x) for x in xs]
    try:
        return _resolve(ufunc, tuple(_mixed_halves_to_f32([_dtype(x) if builtins.all(weak) else _loop_key(x)
                                                           for x in xs])))
    except TypeError as error:  # no loop: negative or sign of bool, bool - bool, ...
        raise TypeError(f"tfn.numpy.{name}: not supported for {', '.join(_describe(x) for x in xs)}, "
                        f"as in numpy ({error})\n  at {user_line()}") from None


def broadcast_shapes(*shapes, name="broadcast") -> tuple:
    """numpy's broadcast of shapes; a ShapeError naming `name` when they do not broadcast."""
    try:
        return tuple(_np.broadcast_shapes(*shapes))
    except ValueError:
        _fail(name, f"shapes {', '.join(str(s) for s in shapes)} do not broadcast")
    except TypeError as error:
        _reraise(name, shapes, error)


def _as_value(x, dtype=None):
    """ir.Value for x converted to dtype (constants are made directly in dtype)."""
    if isinstance(x, Tracer) or current_scope() is None:
        v = value_of(x)
        return ops.convert(v, dtype) if dtype is not None else v
    if isinstance(x, (list, tuple)):
        return _as_value(asarray(x), dtype)
    data = input_array(x)
    if dtype is not None and _is_scalar(x):
        data = _np.asarray(x, dtype=dtype)  # OverflowError for an int out of range, as numpy
    return constant(data, data.dtype if dtype is None else dtype)


def _as_tracer(x) -> Tracer:
    return x if isinstance(x, Tracer) and not x.weak else asarray(x)


def _broadcast_value(v, src_shape, shape):
    if tuple(src_shape) == tuple(shape):
        return v
    offset = len(shape) - len(src_shape)
    return ops.broadcast_in_dim(v, shape, range(offset, len(shape)))


def _operands(name: str, xs, dtypes) -> list:
    """Values of xs, each converted to its dtype and all broadcast to one shape."""
    shapes = [_shape(x) for x in xs]
    shape = broadcast_shapes(*shapes, name=name)
    return [_broadcast_value(_as_value(x, d), s, shape) for x, d, s in zip(xs, dtypes, shapes)]


def _promote(*xs, dtype=None, name="op"):
    """Values of xs converted to one dtype (numpy's promotion unless given) and broadcast."""
    dtype = result_type(*xs) if dtype is None else canonical_dtype(dtype)
    return _operands(name, xs, [dtype] * len(xs)), dtype


def _numpy_result(name: str, fn, *stand_ins, **kwargs) -> _np.dtype:
    """The dtype numpy's `fn` gives for arrays of these dtypes (one element each)."""
    try:
        with _np.errstate(all="ignore"):
            return canonical_dtype(_np.asarray(fn(*stand_ins, **kwargs)).dtype)
    except TypeError as error:
        raise TypeError(f"tfn.numpy.{name}: {error}\n  at {user_line()}") from None



# ---------------------------------------------------------------- arrays of Python and numpy values

def _nested_tracers(x) -> bool:
    return isinstance(x, (list, tuple)) and builtins.any(isinstance(y, Tracer) or _nested_tracers(y) for y in x)


def _build_nested(x, dtype) -> Tracer:
    """The array of a (nested) list holding tracers: its rows stacked along a new axis 0."""
    if isinstance(x, Tracer):
        return wrap(ops.convert(value_of(x), dtype))
    if not _nested_tracers(x):
        return wrap(ops.constant(_np.asarray(x, dtype=dtype), dtype))
    rows = [_build_nested(y, dtype) for y in x]
    out = ops.reshape(rows[0].value, (1,) + rows[0].shape)
    for row in rows[1:]:
        out = ops.concatenate(out, ops.reshape(row.value, (1,) + row.shape), 0)
    return wrap(out)


@_op
def asarray(x, dtype=None) -> Tracer:
    """x as an array, as numpy.asarray: lists may hold traced arrays (stacked, with numpy's dtype).

        >>> import tfn, tfn.numpy as tnp
        >>> tfn.jit(lambda a, b: tnp.array([[a, b], [b, 1]]))(1.5, 2.0).shape
        (2, 2)
    """
    dtype = None if dtype is None else canonical_dtype(dtype)
    if isinstance(x, Tracer):
        if dtype is None or dtype == x.dtype:
            return wrap(value_of(x)) if x.weak else x  # an array of a Python scalar is a strong one
        return wrap(ops.convert(value_of(x), dtype))
    if _nested_tracers(x):
        return _build_nested(x, dtype or _nested_aval(x)[1])
    data = _numpy_array(x)
    return wrap(constant(data, dtype or data.dtype))


array = asarray


# ---------------------------------------------------------------- static arguments: shapes, axes

def _ints(shape, name: str) -> tuple:
    """A shape argument (an int or a sequence of ints) as a tuple of ints."""
    try:
        if isinstance(shape, (int, _np.integer)):
            return (operator.index(shape),)
        return tuple(operator.index(s) for s in shape)
    except TypeError:  # floats, strings, traced values
        _fail(name, f"a shape must be an int or a sequence of ints, got {_describe(shape)}")


def _shape_arg(shape, name: str) -> tuple:
    shape = _ints(shape, name)
    if builtins.any(s < 0 for s in shape):
        _fail(name, f"negative dimensions are not allowed (shape {shape})")
    return shape



def _static(name: str, *xs):
    for x in xs:
        if isinstance(x, Tracer):
            raise TraceError(f"tfn.numpy.{name}: needs static (Python or numpy) arguments, got a traced "
                             f"array {x!r}: shapes must be known while tracing\n  at {user_line()}")


def _axes(axis, ndim: int, name: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, _np.integer)) else tuple(axis) if isinstance(axis, (tuple, list)) \
        else (axis,)
    out = []
    for a in axes:
        if isinstance(a, (bool, _np.bool_)) or not isinstance(a, (int, _np.integer)):
            raise TypeError(f"tfn.numpy.{name}: axis must be an int or a tuple of ints, got {axis!r}"
                            f"\n  at {user_line()}")
        if not -ndim <= a < ndim:
            _fail(name, f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        _fail(name, f"repeated axis in {axis}")
    return tuple(sorted(out))


def _axis(axis: int, ndim: int, name: str) -> int:
    return _axes((axis,), ndim, name)[0]

