"""`tfn.numpy`: numpy's API over traced arrays (import tfn.numpy as tnp).

Inside a traced function each call emits tfn ops at the caller's source line.
Outside a trace the call is compiled and run at once (cached per signature),
so `tnp.sin(np.ones(3))` returns a numpy array.

    >>> import numpy as np, tfn, tfn.numpy as tnp
    >>> @tfn.jit
    ... def f(x):
    ...     return tnp.sum(tnp.tanh(x) ** 2, axis=-1)
    >>> f(np.zeros((2, 3), np.float32))
    array([0., 0.], dtype=float32)

Semantics follow numpy 2: broadcasting, `axis`/`keepdims`, float64 defaults for
creation functions, and each function's own dtype rule (numpy decides it: ufunc loop
resolution, NEP 50). Only Python scalars used directly as operands are weak, as in
numpy: `tnp.abs(1)` is a strong int64 like `np.abs(1)`. Dtypes tfn lacks widen:
numpy's float16 is float32 here, int8 is int32. Traced arrays are immutable; `x.at[i]`
gives updated copies (`x.at[1:].set(0.0)`, `.add`, `.multiply`, `.min`, `.max`).
"""
from __future__ import annotations

import builtins
import functools
import operator
import string
import threading
from typing import Sequence

import numpy as _np

from tfn import ops
from tfn.dialect.types import DtypeError, canonical_dtype, dtype_of, input_array, shape_of
from tfn.frontend.indexing import resolve
from tfn.frontend.source import user_line, user_location
from tfn.frontend.tracer import TraceError, Tracer, constant, current_scope, value_of, wrap

ndarray = Tracer
float32, float64, int32, int64, bool_ = _np.float32, _np.float64, _np.int32, _np.int64, _np.bool_
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
            from tfn.api.eager import call_eagerly
            try:
                return call_eagerly(wrapper, args, kwargs)
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
# numpy about small stand-ins. A dtype numpy picks that tfn lacks widens (canonical_dtype):
# exp of bool is float16 in numpy, float32 here; bool ** bool is int8 there, int32 here.

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
        return canonical_dtype(_np.result_type(*[_weak_key(x) for x in xs]))
    except TypeError as error:
        _reraise("result_type", xs, error)


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
        return _resolve(ufunc, tuple(_dtype(x) if builtins.all(weak) else _loop_key(x) for x in xs))
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


# ---------------------------------------------------------------- creation

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


def _static(name: str, *xs):
    for x in xs:
        if isinstance(x, Tracer):
            raise TraceError(f"tfn.numpy.{name}: needs static (Python or numpy) arguments, got a traced "
                             f"array {x!r}: shapes must be known while tracing\n  at {user_line()}")


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


# ---------------------------------------------------------------- elementwise
# One rule per function: the numpy ufunc that decides dtypes, and how to compute it on
# operands already converted to numpy's loop dtypes and broadcast (ir.Values in, Tracer out).

def _elementwise(name: str, ufunc, compute):
    """The public tnp function `name`: numpy's `ufunc` dtypes, computed by compute(out_dtype, *values)."""
    def function(*xs):
        in_dtypes, out = _ufunc_dtypes(name, ufunc, *xs)
        return compute(out, *_operands(name, xs, in_dtypes))
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"Elementwise {name}, as numpy.{ufunc.__name__}: numpy's dtypes (NEP 50).\n\n"
                        f"    >>> import numpy as np, tfn.numpy as tnp\n"
                        f"    >>> tnp.{name}({', '.join(['np.ones(2, np.float32)'] * ufunc.nin)}).dtype\n"
                        f"    dtype('{_np.dtype(canonical_dtype(ufunc.resolve_dtypes((_np.dtype(_np.float32),) * ufunc.nin + (None,))[-1])).name}')\n")
    return _op(function)


def _ir(build):
    """compute from an ir builder of the values."""
    return lambda out, *vs: wrap(build(*vs))


def _via(fn):
    """compute from tnp functions of tracers (already in the loop dtype)."""
    return lambda out, *vs: asarray(fn(*map(wrap, vs)), out)


def _float_only(build):
    """compute for functions numpy defines on floats that leave integers as they are (floor of an int)."""
    return lambda out, v: wrap(build(v) if _np.dtype(out).kind == "f" else ops.convert(v, out))


def _int_reciprocal(v):
    """1 // x rounded toward zero, as numpy's integer reciprocal: x for x = +-1, else 0."""
    one = ops.full(shape_of(v), 1, dtype_of(v))
    unit = ops.compare("eq", ops.mul(v, v), one)
    return ops.select(unit, v, ops.full(shape_of(v), 0, dtype_of(v)))


def _trunc(x):
    return where(less(x, 0), ceil(x), floor(x))


def _is_value(kind: str):
    """isnan/isinf/isfinite: integers are never nan or inf."""
    def compute(out, v):
        x = wrap(v)
        if x.dtype.kind != "f":
            return full(x.shape, kind == "isfinite", _np.bool_)
        return {"isnan": lambda: not_equal(x, x), "isinf": lambda: equal(abs(x), _np.inf),
                "isfinite": lambda: less(abs(x), _np.inf)}[kind]()
    return compute


def _compare_rule(direction: str):
    return lambda out, a, b: wrap(ops.compare(direction, a, b))


def _bool_of(v):
    return v if dtype_of(v) == _np.bool_ else ops.compare("ne", v, ops.full(shape_of(v), 0, dtype_of(v)))


add = _elementwise("add", _np.add, _ir(ops.add))
subtract = _elementwise("subtract", _np.subtract, _ir(ops.sub))
multiply = _elementwise("multiply", _np.multiply, _ir(ops.mul))
maximum = _elementwise("maximum", _np.maximum, _ir(ops.max))
minimum = _elementwise("minimum", _np.minimum, _ir(ops.min))
true_divide = _elementwise("true_divide", _np.true_divide, _ir(ops.div))
divide = true_divide
_power = _elementwise("power", _np.power, _ir(ops.pow))


@_op
def power(a, b):
    """a ** b, as numpy.power; x ** 2 computes x * x (exact, and a cheaper derivative).

        >>> import numpy as np, tfn.numpy as tnp
        >>> tnp.power(np.arange(3), 2)
        array([0, 1, 4])
    """
    if _is_scalar(b) and not isinstance(b, bool):
        (dtype, _), out = _ufunc_dtypes("power", _np.power, a, b)
        if b < 0 and out.kind == "i" and 0 not in _shape(a):  # numpy computes the empty case
            raise ValueError(f"tfn.numpy.power: integers to negative integer powers are not allowed "
                             f"({_describe(a)} ** {b})\n  at {user_line()}")
        if b == 2:
            x = asarray(a, dtype)
            return asarray(multiply(x, x), out)
    return _power(a, b)
_COMPARISONS = (("equal", "eq"), ("not_equal", "ne"), ("less", "lt"), ("less_equal", "le"),
                ("greater", "gt"), ("greater_equal", "ge"))
# direction -> (result against an int above every value of the array, the swapped direction)
_AGAINST_HUGE = {"eq": (False, "eq"), "ne": (True, "ne"), "lt": (True, "gt"), "le": (True, "ge"),
                 "gt": (False, "lt"), "ge": (False, "le")}


def _comparison(name: str, direction: str):
    """A comparison with numpy 2's rule for a Python int out of the array's integer range: it
    compares exactly (numpy does not raise there, unlike arithmetic)."""
    plain = _elementwise(name, getattr(_np, name), _compare_rule(direction))

    def compare(a, b):
        for k, (x, c) in enumerate(((a, b), (b, a))):
            if not (type(c) is int and _dtype(x).kind in "iu"):
                continue
            info = _np.iinfo(_dtype(x))
            if info.min <= c <= info.max:
                break
            d = direction if k == 0 else _AGAINST_HUGE[direction][1]   # as x <op> c
            if -(1 << 63) <= c < (1 << 63):
                wide = asarray(x, _np.int64)
                return plain(wide, c) if k == 0 else plain(c, wide)
            above = _AGAINST_HUGE[d][0]
            return full(_shape(x), above if c > 0 else (not above if d not in ("eq", "ne") else above), bool)
        return plain(a, b)
    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = plain.__doc__
    return _op(compare)


equal, not_equal, less, less_equal, greater, greater_equal = (
    _comparison(name, d) for name, d in _COMPARISONS)
logical_and = _elementwise("logical_and", _np.logical_and,
                           lambda out, a, b: wrap(ops.select(_bool_of(a), _bool_of(b), ops.full(shape_of(a), False, _np.bool_))))
logical_or = _elementwise("logical_or", _np.logical_or,
                          lambda out, a, b: wrap(ops.select(_bool_of(a), ops.full(shape_of(a), True, _np.bool_), _bool_of(b))))
logical_not = _elementwise("logical_not", _np.logical_not,
                           lambda out, v: wrap(ops.compare("eq", _bool_of(v), ops.full(shape_of(v), False, _np.bool_))))

negative = _elementwise("negative", _np.negative, _ir(ops.neg))
abs = _elementwise("abs", _np.absolute, lambda out, v: wrap(v if out == _np.bool_ else ops.abs(v)))
absolute = abs
sign = _elementwise("sign", _np.sign, _ir(ops.sign))
square = _elementwise("square", _np.square, _ir(lambda v: ops.mul(v, v)))
reciprocal = _elementwise("reciprocal", _np.reciprocal, lambda out, v: wrap(
    ops.div(ops.full(shape_of(v), 1, out), v) if out.kind == "f" else _int_reciprocal(v)))
exp, log, log1p, expm1, sin, cos, tanh, sqrt = (
    _elementwise(name, getattr(_np, name), _ir(getattr(ops, name)))
    for name in ("exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "sqrt"))
# erf and rsqrt are no numpy ufuncs: they take numpy's dtypes of sin and sqrt.
erf = _elementwise("erf", _np.sin, _ir(ops.erf))
rsqrt = _elementwise("rsqrt", _np.sqrt, _ir(ops.rsqrt))
floor = _elementwise("floor", _np.floor, _float_only(ops.floor))
ceil = _elementwise("ceil", _np.ceil, _float_only(ops.ceil))
rint = _elementwise("rint", _np.rint, _ir(ops.round))
trunc = _elementwise("trunc", _np.trunc, lambda out, v: _trunc(wrap(v)) if out.kind == "f" else wrap(v))
tan = _elementwise("tan", _np.tan, _via(lambda x: true_divide(sin(x), cos(x))))
log2 = _elementwise("log2", _np.log2, _via(lambda x: log(x) / x.dtype.type(_np.log(2.0))))
log10 = _elementwise("log10", _np.log10, _via(lambda x: log(x) / x.dtype.type(_np.log(10.0))))
exp2 = _elementwise("exp2", _np.exp2, _via(lambda x: exp(x * x.dtype.type(_np.log(2.0)))))
def _hyperbolic(small, odd: bool):
    """sinh or cosh: `small` for |x| <= 20; above, exp(-|x|) is negligible and the result is
    (exp(|x| / 2) / 2) * exp(|x| / 2), which does not overflow before the result does (exp(|x|)
    alone does, for 709.78 < |x| < 710.48). Each branch sees inputs it is finite on, so the
    unused one adds no nan to derivatives."""
    def compute(x):
        large = greater(abs(x), 20)
        half = exp(abs(where(large, x, 0)) * 0.5)
        big = half * 0.5 * half
        return where(large, sign(x) * big if odd else big, small(where(large, 0, x)))
    return compute


sinh = _elementwise("sinh", _np.sinh, _via(_hyperbolic(lambda x: (expm1(x) - expm1(-x)) * 0.5, True)))
cosh = _elementwise("cosh", _np.cosh, _via(_hyperbolic(lambda x: (exp(x) + exp(-x)) * 0.5, False)))
logaddexp = _elementwise("logaddexp", _np.logaddexp, _via(  # equal arguments: log 2 above them, also at +-inf
    lambda a, b: maximum(a, b) + log1p(exp(negative(abs(where(equal(a, b), 0, a - b)))))))
isnan, isinf, isfinite = (_elementwise(n, getattr(_np, n), _is_value(n)) for n in ("isnan", "isinf", "isfinite"))


def _two_product(a: Tracer, b: Tracer) -> tuple[Tracer, Tracer]:
    """(p, e) with p = fl(a * b) and a * b = p + e exactly (Dekker, with Veltkamp's split)."""
    factor = a.dtype.type(2.0 ** (27 if a.dtype == _np.float64 else 12) + 1)

    def split(x):
        c = x * factor
        hi = c - (c - x)
        return hi, x - hi

    p = a * b
    (ah, al), (bh, bl) = split(a), split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _float_mod(x: Tracer, y: Tracer) -> Tracer:
    """x mod y with the sign of y, exact like numpy's (fmod based): x - floor(x / y) * y with the
    product's rounding error accounted (1 % 0.001 is 0.000999..., not 0), then moved into y's sign.
    A second pass reduces what a quotient beyond the float's precision left (1e10 % 0.3 in float32)."""
    r = x
    for _ in range(2):
        p, e = _two_product(floor(r / y), y)
        r = (r - p) - e
    r = where(logical_and(not_equal(r, 0), not_equal(less(r, 0), less(y, 0))), r + y, r)
    # y = +-inf: the product above is inf * 0; numpy's x % inf is x, or y where the signs differ.
    return where(_finite_by_infinite(x, y), where(_same_sign(x, y), x, y), r)


def _finite_by_infinite(x: Tracer, y: Tracer) -> Tracer:
    return logical_and(isinf(y), isfinite(x))


def _same_sign(x: Tracer, y: Tracer) -> Tracer:
    return logical_or(equal(x, 0), equal(less(x, 0), less(y, 0)))


def _floor_divide(out, a, b):
    """a // b as numpy: floats from the exact remainder ((a - a % b) / b, rounded), integers
    through float64 (exact below 2**53), and x // 0 = 0 for integers."""
    x, y = wrap(a), wrap(b)
    if out.kind == "f":
        div = (x - _float_mod(x, y)) / y
        q = floor(div)
        q = where(greater(div - q, 0.5), q + 1, q)
        zero, minus_one = q.dtype.type(0), q.dtype.type(-1)
        q = where(_finite_by_infinite(x, y), where(_same_sign(x, y), zero, minus_one), q)  # -1 // inf is -1
        return where(equal(y, 0), x / y, q)
    q = asarray(floor(asarray(x, float64) / asarray(y, float64)), out)
    return where(equal(y, 0), 0, q)


def _remainder(out, a, b):
    x, y = wrap(a), wrap(b)
    if out.kind == "f":
        return _float_mod(x, y)
    return where(equal(y, 0), 0, x - _floor_divide(out, a, b) * y)


floor_divide = _elementwise("floor_divide", _np.floor_divide, _floor_divide)
remainder = _elementwise("remainder", _np.remainder, _remainder)  # the sign of b, as numpy's mod
mod = remainder


@_op
def round(x, decimals: int = 0):
    """numpy's round: halves to even, at `decimals` places; integers stay integers."""
    out = _numpy_result("round", _np.round, _np.zeros(1, _dtype(x)) if not _is_weak(x) else
                        {"b": False, "i": 0, "f": 0.0}[_dtype(x).kind])
    if out.kind != "f":
        if decimals >= 0:
            return asarray(x, out)
        scale = 10.0 ** -decimals  # to tens, hundreds, ...: halves to even, through float64 as numpy
        return asarray(rint(asarray(x, float64) / scale) * scale, out)
    x = asarray(x, out)
    if decimals == 0:
        return rint(x)
    scale = 10.0 ** decimals
    return rint(x * scale) / scale


around = round


@_op
def where(condition, x, y):
    """x where condition, else y (numpy's dtype of x and y, Python scalars weak)."""
    dtype = result_type(x, y)
    c, vx, vy = _operands("where", (condition, x, y), (_dtype(condition), dtype, dtype))
    return wrap(ops.select(_bool_of(c), vx, vy))


@_op
def clip(x, a_min=None, a_max=None):
    if a_min is not None:
        x = maximum(x, a_min)
    if a_max is not None:
        x = minimum(x, a_max)
    return x if a_min is not None or a_max is not None else asarray(x)


@_op
def stop_gradient(x) -> Tracer:
    """The identity whose derivative is zero."""
    return wrap(ops.stop_gradient(_as_value(x)))


# ---------------------------------------------------------------- reductions

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


def _keep(result, shape, axes, keepdims):
    if not keepdims:
        return result
    return reshape(result, tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _reduce(kind: str, name: str, x, axis, keepdims, dtype=None):
    """numpy's reduction `name` of x (its dtype rule: int64 sums of small ints, ...)."""
    x = _as_tracer(x)
    axes = _axes(axis, x.ndim, name)
    if kind in ("max", "min") and builtins.any(x.shape[a] == 0 for a in axes):
        _fail(name, f"zero-size array {x.shape} to reduction operation {kind}imum which has no identity")
    out = _numpy_result(name, getattr(_np, name), _np.zeros(1, x.dtype), dtype=dtype) if kind in ("sum", "prod") \
        else x.dtype
    r = ops.reduce(kind, ops.convert(value_of(x), out), axes)
    return _keep(wrap(r), x.shape, axes, keepdims)


@_op
def sum(x, axis=None, keepdims=False, dtype=None): return _reduce("sum", "sum", x, axis, keepdims, dtype)
@_op
def prod(x, axis=None, keepdims=False, dtype=None): return _reduce("prod", "prod", x, axis, keepdims, dtype)
@_op
def max(x, axis=None, keepdims=False): return _reduce("max", "max", x, axis, keepdims)
@_op
def min(x, axis=None, keepdims=False): return _reduce("min", "min", x, axis, keepdims)


amax, amin = max, min


def _sum_keeping_dtype(x: Tracer, axes) -> Tracer:
    """A sum in x's own dtype, as einsum and contractions do it (a bool sum is an any)."""
    if x.dtype == _np.bool_:
        return not_equal(sum(x, axis=axes), 0)
    return sum(x, axis=axes, dtype=x.dtype)


def _arg_extremum(kind: str, x, axis, keepdims):
    """The first index of the max (min) along `axis`: min over where(x == extremum, index, n)."""
    name = "arg" + kind
    x = _as_tracer(x)
    shape = x.shape
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(axis, x.ndim, name)
    n = x.shape[axis]
    if n == 0:
        _fail(name, f"attempt to get {name} of an empty sequence (shape {shape})")
    extremum = _reduce(kind, name, x, axis, True)
    index = wrap(ops.iota(x.shape, axis, _np.int64))
    # NaN is the extremum where present (numpy's rule): x != x marks it.
    hit = logical_or(equal(x, extremum), not_equal(x, x)) if x.dtype.kind == "f" else equal(x, extremum)
    out = min(where(hit, index, n), axis=axis, keepdims=keepdims)
    return reshape(out, (1,) * len(shape)) if keepdims and x.shape != shape else out


@_op
def argmax(x, axis=None, keepdims=False):
    return _arg_extremum("max", x, axis, keepdims)


@_op
def argmin(x, axis=None, keepdims=False):
    return _arg_extremum("min", x, axis, keepdims)


def _mean_dtype(name: str, x: Tracer, dtype) -> _np.dtype:
    return _numpy_result(name, _np.mean, _np.zeros(1, x.dtype), dtype=dtype)


@_op
def mean(x, axis=None, keepdims=False, dtype=None):
    x = _as_tracer(x)
    axes = _axes(axis, x.ndim, "mean")
    count = builtins.int(_np.prod([x.shape[a] for a in axes], dtype=_np.int64))
    out = _mean_dtype("mean", x, dtype)
    total = sum(asarray(x, out), axis=axes, keepdims=keepdims)
    return asarray(true_divide(total, count), out)


@_op
def var(x, axis=None, keepdims=False, ddof=0):
    x = _as_tracer(x)
    axes = _axes(axis, x.ndim, "var")
    count = builtins.int(_np.prod([x.shape[a] for a in axes], dtype=_np.int64))
    x = asarray(x, _mean_dtype("var", x, None))
    centered = subtract(x, mean(x, axis=axes, keepdims=True))
    return true_divide(sum(centered * centered, axis=axes, keepdims=keepdims), builtins.max(count - ddof, 0))


@_op
def std(x, axis=None, keepdims=False, ddof=0):
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))


# ---------------------------------------------------------------- shapes

@_op
def reshape(x, shape) -> Tracer:
    x = _as_tracer(x)
    shape = _ints(shape, "reshape")
    if shape.count(-1) > 1:
        _fail("reshape", f"can only specify one unknown dimension in {shape}")
    if -1 in shape:
        known = int(_np.prod([s for s in shape if s != -1], dtype=_np.int64))
        if known == 0 or x.size % known:
            _fail("reshape", f"cannot reshape array of shape {x.shape} into shape {shape}")
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    if int(_np.prod(shape, dtype=_np.int64)) != x.size:
        _fail("reshape", f"cannot reshape array of shape {x.shape} into shape {shape}")
    return wrap(ops.reshape(value_of(x), shape))


@_op
def transpose(x, axes=None) -> Tracer:
    x = _as_tracer(x)
    perm = tuple(reversed(range(x.ndim))) if axes is None else tuple(_axis(a, x.ndim, "transpose") for a in axes)
    if sorted(perm) != list(range(x.ndim)):
        _fail("transpose", f"axes {axes} don't match array of shape {x.shape}")
    if perm == tuple(range(x.ndim)):
        return x
    return wrap(ops.transpose(value_of(x), perm))


@_op
def swapaxes(x, axis1: int, axis2: int) -> Tracer:
    perm = list(range(len(_shape(x))))
    axis1, axis2 = _axis(axis1, len(perm), "swapaxes"), _axis(axis2, len(perm), "swapaxes")
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, perm)


@_op
def moveaxis(x, source: int, destination: int) -> Tracer:
    x = _as_tracer(x)
    source, destination = _axis(source, x.ndim, "moveaxis"), _axis(destination, x.ndim, "moveaxis")
    perm = [i for i in range(x.ndim) if i != source]
    perm.insert(destination, source)
    return transpose(x, perm)


@_op
def expand_dims(x, axis) -> Tracer:
    x = _as_tracer(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = _axes(axes, ndim, "expand_dims")
    dims = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(ndim)))


@_op
def squeeze(x, axis=None) -> Tracer:
    x = _as_tracer(x)
    axes = tuple(i for i, n in enumerate(x.shape) if n == 1) if axis is None else _axes(axis, x.ndim, "squeeze")
    if any(x.shape[a] != 1 for a in axes):
        _fail("squeeze", f"cannot select an axis to squeeze out which has size not equal to one (shape {x.shape})")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


@_op
def ravel(x) -> Tracer:
    return reshape(x, (-1,))


@_op
def broadcast_to(x, shape) -> Tracer:
    shape = _shape_arg(shape, "broadcast_to")
    src = _shape(x)
    if broadcast_shapes(src, shape, name="broadcast_to") != shape:
        _fail("broadcast_to", f"cannot broadcast shape {src} to {shape}")
    return wrap(_broadcast_value(_as_value(x), src, shape))


@_op
def concatenate(arrays: Sequence, axis: int = 0) -> Tracer:
    arrays = [_as_tracer(a) for a in arrays]
    if not arrays:
        _fail("concatenate", "need at least one array to concatenate")
    ndim = arrays[0].ndim
    if ndim == 0 or any(a.ndim != ndim for a in arrays):
        _fail("concatenate", f"arrays must have the same number of dimensions >= 1, got {[a.shape for a in arrays]}")
    axis = _axes(axis, ndim, "concatenate")[0]
    dtype = result_type(*arrays)
    out = _as_value(arrays[0], dtype)
    for a in arrays[1:]:
        if any(x != y for i, (x, y) in enumerate(zip(arrays[0].shape, a.shape)) if i != axis):
            _fail("concatenate", f"shapes {[b.shape for b in arrays]} differ off axis {axis}")
        out = ops.concatenate(out, _as_value(a, dtype), axis)
    return wrap(out)


@_op
def stack(arrays: Sequence, axis: int = 0) -> Tracer:
    arrays = [_as_tracer(a) for a in arrays]
    if not arrays or any(a.shape != arrays[0].shape for a in arrays):
        _fail("stack", f"all input arrays must have the same shape, got {[a.shape for a in arrays]}")
    axis = _axes(axis, arrays[0].ndim + 1, "stack")[0]
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


@_op
def pad(x, pad_width, constant_values=0) -> Tracer:
    x = _as_tracer(x)
    _static("pad", pad_width)
    widths = _np.asarray(pad_width)
    if widths.dtype.kind not in "iu" and widths.size:
        _fail("pad", f"pad_width must be integers, got {_describe(pad_width)}")
    if (widths < 0).any():
        _fail("pad", f"pad_width must be non-negative, got {pad_width!r}")
    try:
        widths = _np.broadcast_to(widths.astype(_np.int64), (x.ndim, 2))
    except ValueError:
        _fail("pad", f"pad_width {pad_width!r} does not fit an array of shape {x.shape}")
    if (widths < 0).any():
        _fail("pad", f"pad_width must be non-negative, got {pad_width!r}")
    value = _as_value(constant_values, x.dtype)
    return wrap(ops.pad(value_of(x), value, widths[:, 0], widths[:, 1]))


def _getitem(x, index) -> Tracer:
    x = _as_tracer(x)
    box = resolve(index, x.shape, "getitem")
    if box.empty:
        return zeros(box.result_shape, x.dtype)
    v = value_of(x)
    if (box.start, box.limit, box.strides) != ((0,) * x.ndim, x.shape, (1,) * x.ndim):
        v = ops.slice(v, box.start, box.limit, box.strides)
    return wrap(ops.reshape(v, box.result_shape))


@_op
def _getitem_op(x, index) -> Tracer:
    return _getitem(x, _thaw(index))


def getitem(x, index) -> Tracer:
    """x[index] for basic indices: ints, slices (positive steps), None, ..., bool scalars.

        >>> import numpy as np, tfn.numpy as tnp
        >>> tnp.getitem(np.arange(6).reshape(2, 3), (1, slice(None, None, 2)))
        array([3, 5])
    """
    return _getitem_op(x, _freeze(index))


def _update(kind: str, x, index, value) -> Tracer:
    """x with x[index] replaced by `kind`(x[index], value): the value is padded back into the
    box the index reads and selected there (pad and select are differentiable and batchable)."""
    x = _as_tracer(x)
    name = f"at[].{kind}"
    box = resolve(index, x.shape, name)
    v = _as_tracer(value)
    while v.ndim > len(box.result_shape) and v.shape[0] == 1:  # numpy drops leading 1s of a value
        v = reshape(v, v.shape[1:])
    if broadcast_shapes(v.shape, box.result_shape, name=name) != box.result_shape:
        _fail(name, f"cannot broadcast a value of shape {v.shape} to the indexed shape {box.result_shape} "
                    f"(array of shape {x.shape})")
    if box.empty or 0 in box.box_shape:
        return x
    v = reshape(broadcast_to(asarray(v, x.dtype), box.result_shape), box.box_shape)
    low, high, interior = box.padding(x.shape)
    placed = ops.pad(value_of(v), ops.full((), 0, x.dtype), low, high, interior)
    mask = ops.pad(ops.full(box.box_shape, True, _np.bool_), ops.full((), False, _np.bool_), low, high, interior)
    if kind == "add":
        return add(x, wrap(placed))
    combine = {"set": lambda a, b: b, "multiply": multiply, "min": minimum, "max": maximum}[kind]
    return where(wrap(mask), asarray(combine(x, wrap(placed)), x.dtype), x)


class _IndexUpdateRef:
    """`x.at[index]`: functional updates of the entries `x[index]` selects (JAX's API).

        >>> import numpy as np, tfn
        >>> tfn.jit(lambda x: x.at[1:].set(0.0))(np.ones(3))
        array([1., 0., 0.])
    """
    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def get(self) -> Tracer:
        """x[index]."""
        return _at(self.array, _freeze(self.index), None, kind="get")

    def set(self, value) -> Tracer:
        """A copy of x with x[index] = value (value broadcast and cast to x's dtype)."""
        return _at(self.array, _freeze(self.index), value, kind="set")

    def add(self, value) -> Tracer:
        """A copy of x with x[index] += value."""
        return _at(self.array, _freeze(self.index), value, kind="add")

    def multiply(self, value) -> Tracer:
        """A copy of x with x[index] *= value."""
        return _at(self.array, _freeze(self.index), value, kind="multiply")

    mul = multiply

    def min(self, value) -> Tracer:
        """A copy of x with x[index] = minimum(x[index], value)."""
        return _at(self.array, _freeze(self.index), value, kind="min")

    def max(self, value) -> Tracer:
        """A copy of x with x[index] = maximum(x[index], value)."""
        return _at(self.array, _freeze(self.index), value, kind="max")


class _IndexUpdateHelper:
    """`x.at`: indexing it gives an `_IndexUpdateRef`."""
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.array, index)


def _freeze(index):
    """The index with slices as tuples: eager calls key their cache on it (slices are unhashable)."""
    if isinstance(index, tuple):
        return tuple(_freeze(i) for i in index)
    return ("slice", index.start, index.stop, index.step) if isinstance(index, builtins.slice) else index


def _thaw(index):
    if isinstance(index, tuple) and index[:1] == ("slice",):
        return builtins.slice(*index[1:])
    return tuple(_thaw(i) for i in index) if isinstance(index, tuple) else index


@_op
def _at(x, index, value, kind: str = "set") -> Tracer:
    return _getitem(x, _thaw(index)) if kind == "get" else _update(kind, x, _thaw(index), value)


def at(x) -> _IndexUpdateHelper:
    """`x.at` for any array x (numpy arrays too): `tnp.at(x)[1:].add(2.0)`."""
    return _IndexUpdateHelper(x)


# ---------------------------------------------------------------- contractions

def _dot_general(a, b, batch, contract, name):
    """numpy's contraction dtype (result_type); bools count in int64, then any (numpy's bool dot)."""
    dtype = result_type(a, b)
    compute = _np.dtype(_np.int64) if dtype == _np.bool_ else dtype
    out = wrap(ops.dot_general(_as_value(a, compute), _as_value(b, compute), batch, contract))
    return not_equal(out, 0) if dtype == _np.bool_ else out


@_op
def matmul(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        _fail("matmul", f"matmul does not take 0-d operands (shapes {sa} and {sb})")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        _fail("matmul", f"contraction dimensions differ: lhs shape {sa} has {ka}, rhs shape {sb} has {kb}")
    if len(sb) <= 2:
        # rhs has no batch dims: contract directly, no broadcast of rhs.
        return _dot_general(a, b, ([], []), ([len(sa) - 1], [0]), "matmul")
    if len(sa) == 1:
        return _dot_general(a, b, ([], []), ([0], [len(sb) - 2]), "matmul")
    if len(sa) == 2:
        out = _dot_general(a, b, ([], []), ([1], [len(sb) - 2]), "matmul")  # [M, batch..., N]
        nb = len(sb) - 2
        return transpose(out, tuple(range(1, nb + 1)) + (0, nb + 1))
    batch = broadcast_shapes(sa[:-2], sb[:-2], name="matmul")
    a = broadcast_to(a, batch + tuple(sa[-2:]))
    b = broadcast_to(b, batch + tuple(sb[-2:]))
    nb = len(batch)
    return _dot_general(a, b, (list(range(nb)), list(range(nb))), ([nb + 1], [nb]), "matmul")


@_op
def dot(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return multiply(a, b)
    cb = 0 if len(sb) == 1 else len(sb) - 2
    if sa[-1] != sb[cb]:
        _fail("dot", f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != {sb[cb]} (dim {cb})")
    return _dot_general(a, b, ([], []), ([len(sa) - 1], [cb]), "dot")


@_op
def inner(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return multiply(a, b)
    if sa[-1] != sb[-1]:
        _fail("inner", f"shapes {sa} and {sb} not aligned on the last axis")
    return _dot_general(a, b, ([], []), ([len(sa) - 1], [len(sb) - 1]), "inner")


@_op
def vdot(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    return inner(ravel(a), ravel(b))


@_op
def outer(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


@_op
def tensordot(a, b, axes=2) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, int):
        ca, cb = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        ca, cb = [axes[0]] if isinstance(axes[0], int) else list(axes[0]), [axes[1]] if isinstance(axes[1], int) else list(axes[1])
    ca, cb = [_axis(c, len(sa), "tensordot") for c in ca], [_axis(c, len(sb), "tensordot") for c in cb]
    if len(ca) != len(cb) or [sa[i] for i in ca] != [sb[j] for j in cb]:
        _fail("tensordot", f"shape-mismatch for sum: {sa} axes {ca} vs {sb} axes {cb}")
    return _dot_general(a, b, ([], []), (ca, cb), "tensordot")


@_op
def einsum(subscripts: str, *operands) -> Tracer:
    """einsum of one or two operands (no repeated index within one operand)."""
    spec = subscripts.replace(" ", "")
    if "..." in spec:
        _fail("einsum", "ellipsis in subscripts is not supported")
    inputs, _, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands) or len(terms) not in (1, 2):
        _fail("einsum", f"{subscripts!r} needs one or two operands, got {len(operands)}")
    if "->" not in spec:
        counts = {c: inputs.count(c) for c in inputs if c in string.ascii_letters}
        output = "".join(sorted(c for c, k in counts.items() if k == 1))
    arrays = [_as_tracer(o) for o in operands]
    if len({a.dtype for a in arrays}) > 1:
        # Promote before the per-operand sums below: a bool operand summed on its own would
        # count as "any" instead of adding up in the result's dtype.
        common = result_type(*arrays)
        arrays = [asarray(a, common) for a in arrays]
    sizes: dict[str, int] = {}
    for term, arr in zip(terms, arrays):
        if len(term) != arr.ndim or len(set(term)) != len(term):
            _fail("einsum", f"term {term!r} does not fit operand of shape {arr.shape} (or repeats an index)")
        for c, n in zip(term, arr.shape):
            if sizes.setdefault(c, n) != n:
                _fail("einsum", f"index {c!r} has sizes {sizes[c]} and {n} in {subscripts!r}")
    # Indices in one operand only and not in the output are summed first.
    reduced = []
    for k, (term, arr) in enumerate(zip(terms, arrays)):
        others = "".join(t for j, t in enumerate(terms) if j != k) + output
        drop = [i for i, c in enumerate(term) if c not in others]
        reduced.append(("".join(c for c in term if c in others), _sum_keeping_dtype(arr, drop) if drop else arr))
    if len(reduced) == 1:
        term, arr = reduced[0]
    else:
        (ta, a), (tb, b) = reduced
        batch = [c for c in ta if c in tb and c in output]
        contract = [c for c in ta if c in tb and c not in output]
        res = _dot_general(a, b, ([ta.index(c) for c in batch], [tb.index(c) for c in batch]),
                           ([ta.index(c) for c in contract], [tb.index(c) for c in contract]), "einsum")
        term = "".join(batch) + "".join(c for c in ta if c not in tb) + "".join(c for c in tb if c not in ta)
        arr = res
    if set(term) != set(output):
        _fail("einsum", f"output {output!r} does not match the operands' indices in {subscripts!r}")
    return transpose(arr, [term.index(c) for c in output])


# ---------------------------------------------------------------- gathers by one-hot selection
# tfn has no gather op yet: an integer index selects through a one-hot mask, which
# costs O(len(indices) * n) but is differentiable and batchable like any other op. The
# mask *selects* (`where(mask, a, 0)`, then a sum along the mask's axis: one term is not
# zero) rather than multiplies, so an inf or nan elsewhere on the axis never meets a 0
# (0 * inf = nan), and the cotangent of an unselected element is an exact 0.

def _one_hot_along(name: str, indices, n: int, axis: int):
    """bool mask[..., k, ...] = (indices[...] == k), with the k axis inserted at `axis`."""
    indices = _as_tracer(indices)
    if indices.dtype.kind not in "iu":
        _fail(name, f"indices must be integers, got {indices.dtype}")
    k = wrap(ops.iota(indices.shape[:axis] + (n,) + indices.shape[axis:], axis, indices.dtype))
    return equal(expand_dims(indices, axis), k)


def _select_along(mask: Tracer, a: Tracer, axis: int) -> Tracer:
    """sum over `axis` of where(mask, a, 0) (broadcast): a's one selected entry, or 0 (False) for none.
    a bool's sum is an any, an integer's keeps a's dtype."""
    return _sum_keeping_dtype(where(mask, a, zeros((), a.dtype)), axis)


def _check_indices(name: str, indices, n: int, axis: int):
    """Indices known while tracing (not traced values) must lie in [-n, n), as numpy checks."""
    if isinstance(indices, Tracer) or _nested_tracers(indices):
        return
    values = _numpy_array(indices, name)
    if values.dtype.kind in "iu" and values.size and (values.min() < -n or values.max() >= n):
        bad = values[(values < -n) | (values >= n)].flat[0]
        raise IndexError(f"tfn.numpy.{name}: index {bad} is out of bounds for axis {axis} with size {n}"
                         f"\n  at {user_line()}")


@_op
def take_along_axis(a, indices, axis: int):
    """out[..., j, ...] = a[..., indices[..., j, ...], ...] along `axis` (numpy's rule; indices wrap
    negatively like numpy's for -n <= i < 0)."""
    a = _as_tracer(a)
    axis = _axes(axis, a.ndim, "take_along_axis")[0]
    _check_indices("take_along_axis", indices, a.shape[axis], axis)
    indices = _as_tracer(indices)
    if indices.ndim != a.ndim:
        _fail("take_along_axis", f"indices of shape {indices.shape} need the rank of a, shape {a.shape}")
    n = a.shape[axis]
    indices = where(less(indices, 0), add(indices, n), indices)
    mask = _one_hot_along("take_along_axis", indices, n, axis + 1)    # [..., j, k, ...]
    return _select_along(mask, expand_dims(a, axis), axis + 1)


@_op
def take(a, indices, axis: int | None = None):
    """a's entries at `indices` along `axis` (flattened when None), numpy's `take`.

    Indices in [-n, n) select as in numpy, negative ones counting from the end. Indices
    known while tracing must lie in that range (IndexError, as numpy). A traced index
    outside it matches no position and gives 0 (False for bool `a`), with a zero
    gradient; numpy raises and JAX's `jnp.take` fills with NaN by default. The same holds
    for `take_along_axis`.
    """
    a = _as_tracer(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axes(axis, a.ndim, "take")[0]
    n = a.shape[axis]
    _check_indices("take", indices, n, axis)
    indices = _as_tracer(indices)
    indices = where(less(indices, 0), add(indices, n), indices)
    nidx, before, after = indices.ndim, a.shape[:axis], a.shape[axis + 1:]
    mask = _one_hot_along("take", indices, n, nidx)                   # indices.shape + (n,)
    mask = reshape(mask, (1,) * len(before) + mask.shape + (1,) * len(after))
    a = reshape(a, before + (1,) * nidx + (n,) + after)               # before + indices.shape + (n,) + after
    return _select_along(mask, a, axis + nidx)

