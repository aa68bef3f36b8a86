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

Semantics follow numpy 2: broadcasting, NEP 50 promotion (Python scalars are
weak), `axis`/`keepdims`, float64 defaults for creation functions.
"""
from __future__ import annotations

import builtins
import functools
import string
from typing import Sequence

import numpy as _np

from tfn.dialect import ops
from tfn.dialect.types import canonical_dtype
from tfn.frontend.source import user_line, user_location
from tfn.frontend.tracer import Tracer, current_scope, value_of, wrap

ndarray = Tracer
float32, float64, int32, int64, bool_ = _np.float32, _np.float64, _np.int32, _np.int64, _np.bool_
pi, e, inf, nan, newaxis = _np.pi, _np.e, _np.inf, _np.nan, None

_NESTING = [0]


def _op(fn):
    """Public tnp function: sets the user's source line as location; runs eagerly outside a trace."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _NESTING[0]:
            return fn(*args, **kwargs)
        if current_scope() is None:
            from tfn.api.eager import call_eagerly
            return call_eagerly(wrapper, args, kwargs)
        _NESTING[0] += 1
        try:
            with user_location():
                return fn(*args, **kwargs)
        finally:
            _NESTING[0] -= 1
    return wrapper


def _fail(name: str, message: str):
    raise ops.ShapeError(f"tfn.numpy.{name}: {message}\n  at {user_line()}")


# ---------------------------------------------------------------- dtypes and broadcasting

def _is_scalar(x) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, _np.generic)


def _weak_dtype_key(x):
    """What numpy's result_type should see for x: a Python scalar stays weak (NEP 50)."""
    if isinstance(x, Tracer):
        if x.weak:
            return {"b": False, "i": 0, "f": 0.0}[x.dtype.kind]
        return x.dtype
    if _is_scalar(x):
        return x
    return _np.asarray(x).dtype


def _dtype(x):
    if isinstance(x, Tracer):
        return x.dtype
    return canonical_dtype(_np.asarray(x).dtype)


def result_type(*xs) -> _np.dtype:
    """numpy's promotion over tfn's dtypes (Python scalars are weak)."""
    return canonical_dtype(_np.result_type(*[_weak_dtype_key(x) for x in xs]))


def _shape(x) -> tuple:
    return x.shape if isinstance(x, Tracer) else _np.shape(x)


def broadcast_shapes(*shapes, name="broadcast") -> tuple:
    try:
        return tuple(_np.broadcast_shapes(*shapes))
    except ValueError:
        _fail(name, f"shapes {', '.join(str(tuple(s)) for s in shapes)} do not broadcast")


def _as_value(x, dtype=None):
    """ir.Value for x converted to dtype (constants are made directly in dtype)."""
    if isinstance(x, Tracer) or current_scope() is None:
        v = value_of(x)
        return ops.convert(v, dtype) if dtype is not None else v
    data = _np.asarray(x, dtype=None if dtype is None else dtype)
    return ops.constant(data, canonical_dtype(data.dtype) if dtype is None else dtype)


def _broadcast_value(v, src_shape, shape):
    if tuple(src_shape) == tuple(shape):
        return v
    offset = len(shape) - len(src_shape)
    return ops.broadcast_in_dim(v, shape, range(offset, len(shape)))


def _promote(*xs, dtype=None, name="op"):
    """Values of xs converted to one dtype and broadcast to one shape."""
    dtype = result_type(*xs) if dtype is None else canonical_dtype(dtype)
    shapes = [_shape(x) for x in xs]
    shape = broadcast_shapes(*shapes, name=name)
    return [_broadcast_value(_as_value(x, dtype), s, shape) for x, s in zip(xs, shapes)], dtype


def _all_weak(*xs) -> bool:
    return all(_is_scalar(x) or (isinstance(x, Tracer) and x.weak) for x in xs)


def _float_dtype(x) -> _np.dtype:
    d = _dtype(x)
    return d if d.kind == "f" else _np.dtype(_np.float64)


# ---------------------------------------------------------------- creation

@_op
def asarray(x, dtype=None) -> Tracer:
    if isinstance(x, Tracer):
        return wrap(ops.convert(value_of(x), dtype), x.weak and dtype is None) if dtype is not None else x
    data = _np.asarray(x, dtype=dtype)
    return wrap(ops.constant(data), _is_scalar(x) and dtype is None)


array = asarray


@_op
def full(shape, fill_value, dtype=None) -> Tracer:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if isinstance(fill_value, Tracer):
        return broadcast_to(asarray(fill_value, dtype), shape)
    dtype = canonical_dtype(dtype if dtype is not None else _np.asarray(fill_value).dtype)
    return wrap(ops.full(shape, fill_value, dtype))


@_op
def zeros(shape, dtype=float64) -> Tracer:
    return full(shape, 0, dtype)


@_op
def ones(shape, dtype=float64) -> Tracer:
    return full(shape, 1, dtype)


@_op
def full_like(x, fill_value, dtype=None) -> Tracer:
    return full(_shape(x), fill_value, dtype or _dtype(x))


@_op
def zeros_like(x, dtype=None) -> Tracer:
    return full(_shape(x), 0, dtype or _dtype(x))


@_op
def ones_like(x, dtype=None) -> Tracer:
    return full(_shape(x), 1, dtype or _dtype(x))


@_op
def arange(start, stop=None, step=1, dtype=None) -> Tracer:
    data = _np.arange(start, stop, step) if stop is not None else _np.arange(start)
    return asarray(data, dtype=dtype)


@_op
def eye(n: int, m: int | None = None, k: int = 0, dtype=float64) -> Tracer:
    return asarray(_np.eye(n, m, k, dtype=canonical_dtype(dtype)))


@_op
def linspace(start, stop, num=50, endpoint=True, dtype=None) -> Tracer:
    return asarray(_np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype))


# ---------------------------------------------------------------- elementwise

def _binary(op_name: str, name: str, a, b, dtype=None) -> Tracer:
    (va, vb), _ = _promote(a, b, dtype=dtype, name=name)
    return wrap(getattr(ops, op_name)(va, vb), _all_weak(a, b))


def _unary_float(op_name: str, x) -> Tracer:
    v = _as_value(x, _float_dtype(x))
    return wrap(getattr(ops, op_name)(v), _all_weak(x))


@_op
def add(a, b): return _binary("add", "add", a, b)
@_op
def subtract(a, b):
    if result_type(a, b) == _np.bool_:
        _no_bool("subtract", a, b)
    return _binary("sub", "subtract", a, b)
@_op
def multiply(a, b): return _binary("mul", "multiply", a, b)
@_op
def maximum(a, b): return _binary("max", "maximum", a, b)
@_op
def minimum(a, b): return _binary("min", "minimum", a, b)


@_op
def true_divide(a, b):
    dtype = result_type(a, b)
    return _binary("div", "true_divide", a, b, dtype if dtype.kind == "f" else _np.float64)


divide = true_divide


@_op
def power(a, b):
    if _is_scalar(b) and b == 2 and result_type(a, b) == _dtype(a):
        return multiply(a, a)
    return _binary("pow", "power", a, b)


def _no_bool(name: str, *xs):
    if builtins.any(_dtype(x) == _np.bool_ for x in xs):
        raise TypeError(f"tfn.numpy.{name}: not supported for bool operands (as in numpy; use logical_not, "
                        f"logical_xor or not_equal)\n  at {user_line()}")


@_op
def negative(x):
    _no_bool("negative", x)
    return wrap(ops.neg(_as_value(x)), _all_weak(x))
@_op
def square(x): return multiply(x, x)
@_op
def reciprocal(x): return true_divide(1.0, x)
@_op
def abs(x): return asarray(x) if _dtype(x) == _np.bool_ else wrap(ops.abs(_as_value(x)), _all_weak(x))
@_op
def sign(x):
    _no_bool("sign", x)
    return wrap(ops.sign(_as_value(x)), _all_weak(x))
def _float_unary(name: str, op_name: str):
    """The public tnp function `name`: elementwise `tfn.<op_name>`, integers promoted to float64."""
    def function(x):
        return _unary_float(op_name, x)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"Elementwise {name}, as numpy.{name}; integer and bool inputs give float64.\n\n"
                        f"    >>> import numpy as np, tfn.numpy as tnp\n"
                        f"    >>> tnp.{name}(np.zeros(2, np.float32)).dtype\n"
                        f"    dtype('float32')\n")
    return _op(function)


exp, log, log1p, expm1, sin, cos, tanh, erf, floor, ceil = (
    _float_unary(n, n) for n in ("exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "erf", "floor", "ceil"))
rint = _float_unary("rint", "round")


@_op
def tan(x): return true_divide(sin(x), cos(x))
@_op
def trunc(x): return where(less(x, 0), ceil(x), floor(x))
@_op
def log2(x): return true_divide(log(x), float(_np.log(2.0)))
@_op
def log10(x): return true_divide(log(x), float(_np.log(10.0)))
@_op
def exp2(x): return exp(multiply(x, float(_np.log(2.0))))


@_op
def round(x, decimals: int = 0):
    """numpy's round: halves to even, at `decimals` places."""
    if decimals == 0:
        return rint(x) if _dtype(x).kind == "f" else asarray(x)
    scale = 10.0 ** decimals
    return true_divide(rint(multiply(x, scale)), scale)


around = round


@_op
def floor_divide(a, b):
    """a // b, rounding toward minus infinity (integers go through float64: exact below 2**53)."""
    dtype = result_type(a, b)
    if dtype.kind == "f":
        return floor(true_divide(a, b))
    return asarray(floor(true_divide(asarray(a, _np.float64), asarray(b, _np.float64))), dtype)


@_op
def remainder(a, b):
    """a % b with the sign of b (numpy's mod)."""
    return subtract(a, multiply(floor_divide(a, b), b))


mod = remainder


@_op
def isnan(x):
    return not_equal(x, x) if _dtype(x).kind == "f" else full_like(x, False, _np.bool_)


@_op
def isinf(x):
    return equal(abs(x), _np.inf) if _dtype(x).kind == "f" else full_like(x, False, _np.bool_)


@_op
def isfinite(x):
    return less(abs(x), _np.inf) if _dtype(x).kind == "f" else full_like(x, True, _np.bool_)
@_op
def sqrt(x): return _unary_float("sqrt", x)
@_op
def rsqrt(x): return _unary_float("rsqrt", x)
@_op
def sinh(x): return (expm1(x) - expm1(negative(x))) * 0.5  # no cancellation near 0
@_op
def cosh(x): return (exp(x) + exp(negative(x))) * 0.5
@_op
def logaddexp(a, b):
    m = maximum(a, b)
    return m + log1p(exp(negative(abs(subtract(a, b)))))


absolute = abs


def _compare(direction: str, name: str, a, b) -> Tracer:
    (va, vb), _ = _promote(a, b, name=name)
    return wrap(ops.compare(direction, va, vb))


@_op
def equal(a, b): return _compare("eq", "equal", a, b)
@_op
def not_equal(a, b): return _compare("ne", "not_equal", a, b)
@_op
def less(a, b): return _compare("lt", "less", a, b)
@_op
def less_equal(a, b): return _compare("le", "less_equal", a, b)
@_op
def greater(a, b): return _compare("gt", "greater", a, b)
@_op
def greater_equal(a, b): return _compare("ge", "greater_equal", a, b)


def _as_bool(x):
    return _as_value(x) if _dtype(x) == _np.bool_ else ops.convert(_as_value(x), _np.bool_)


@_op
def logical_not(x):
    v = _as_bool(x)
    return wrap(ops.compare("eq", v, ops.full(_shape(x), False, _np.bool_)))


@_op
def logical_and(a, b):
    return where(asarray(a, _np.bool_), asarray(b, _np.bool_), False)


@_op
def logical_or(a, b):
    return where(asarray(a, _np.bool_), True, asarray(b, _np.bool_))


@_op
def where(condition, x, y):
    dtype = result_type(x, y)
    shape = broadcast_shapes(_shape(condition), _shape(x), _shape(y), name="where")
    c = _broadcast_value(_as_bool(condition), _shape(condition), shape)
    vx = _broadcast_value(_as_value(x, dtype), _shape(x), shape)
    vy = _broadcast_value(_as_value(y, dtype), _shape(y), shape)
    return wrap(ops.select(c, vx, vy), _all_weak(x, y))


@_op
def clip(x, a_min=None, a_max=None):
    if a_min is not None:
        x = maximum(x, a_min)
    if a_max is not None:
        x = minimum(x, a_max)
    return x


@_op
def stop_gradient(x) -> Tracer:
    """The identity whose derivative is zero."""
    return wrap(ops.stop_gradient(_as_value(x)), _all_weak(x))


# ---------------------------------------------------------------- reductions

def _axes(axis, ndim: int, name: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            _fail(name, f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        _fail(name, f"repeated axis in {axis}")
    return tuple(sorted(out))


def _axis(axis: int, ndim: int, name: str) -> int:
    if not -ndim <= axis < ndim:
        _fail(name, f"axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def _keep(result, shape, axes, keepdims):
    if not keepdims:
        return result
    return reshape(result, tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _reduce(kind: str, name: str, x, axis, keepdims, dtype=None):
    x = asarray(x) if not isinstance(x, Tracer) else x
    axes = _axes(axis, x.ndim, name)
    if kind in ("max", "min") and any(x.shape[a] == 0 for a in axes):
        _fail(name, f"zero-size array {x.shape} to reduction operation {kind} which has no identity")
    v = value_of(x)
    if dtype is not None:
        v = ops.convert(v, dtype)
    elif kind in ("sum", "prod") and x.dtype.kind in "bi":
        v = ops.convert(v, _np.int64)
    return _keep(wrap(ops.reduce(kind, v, axes)), x.shape, axes, keepdims)


@_op
def sum(x, axis=None, keepdims=False, dtype=None): return _reduce("sum", "sum", x, axis, keepdims, dtype)
@_op
def prod(x, axis=None, keepdims=False, dtype=None): return _reduce("prod", "prod", x, axis, keepdims, dtype)
@_op
def max(x, axis=None, keepdims=False): return _reduce("max", "max", x, axis, keepdims)
@_op
def min(x, axis=None, keepdims=False): return _reduce("min", "min", x, axis, keepdims)


amax, amin = max, min


def _arg_extremum(kind: str, x, axis, keepdims):
    """The first index of the max (min) along `axis`: min over where(x == extremum, index, n)."""
    x = asarray(x) if not isinstance(x, Tracer) else x
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axes(axis, x.ndim, "arg" + kind)[0]
    n = x.shape[axis]
    if n == 0:
        _fail("arg" + kind, f"attempt to get arg{kind} of an empty sequence (shape {x.shape})")
    extremum = _reduce(kind, "arg" + kind, x, axis, True)
    index = wrap(ops.iota(x.shape, axis, _np.int64))
    # NaN is the extremum where present (numpy's rule): x != x marks it.
    hit = logical_or(equal(x, extremum), not_equal(x, x)) if x.dtype.kind == "f" else equal(x, extremum)
    return min(where(hit, index, n), axis=axis, keepdims=keepdims)


@_op
def argmax(x, axis=None, keepdims=False):
    return _arg_extremum("max", x, axis, keepdims)


@_op
def argmin(x, axis=None, keepdims=False):
    return _arg_extremum("min", x, axis, keepdims)


@_op
def mean(x, axis=None, keepdims=False):
    x = asarray(x) if not isinstance(x, Tracer) else x
    axes = _axes(axis, x.ndim, "mean")
    count = int(_np.prod([x.shape[a] for a in axes], dtype=_np.int64))
    total = sum(asarray(x, _float_dtype(x)), axis=axes, keepdims=keepdims)
    return true_divide(total, count)


@_op
def var(x, axis=None, keepdims=False, ddof=0):
    x = asarray(x) if not isinstance(x, Tracer) else x
    axes = _axes(axis, x.ndim, "var")
    count = int(_np.prod([x.shape[a] for a in axes], dtype=_np.int64))
    centered = subtract(x, mean(x, axis=axes, keepdims=True))
    return true_divide(sum(centered * centered, axis=axes, keepdims=keepdims), count - ddof)


@_op
def std(x, axis=None, keepdims=False, ddof=0):
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))


# ---------------------------------------------------------------- shapes

@_op
def reshape(x, shape) -> Tracer:
    x = asarray(x) if not isinstance(x, Tracer) else x
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        _fail("reshape", f"can only specify one unknown dimension in {shape}")
    if -1 in shape:
        known = int(_np.prod([s for s in shape if s != -1], dtype=_np.int64))
        if known == 0 or x.size % known:
            _fail("reshape", f"cannot reshape array of shape {x.shape} into shape {shape}")
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    if int(_np.prod(shape, dtype=_np.int64)) != x.size:
        _fail("reshape", f"cannot reshape array of shape {x.shape} into shape {shape}")
    return wrap(ops.reshape(value_of(x), shape), x.weak)


@_op
def transpose(x, axes=None) -> Tracer:
    x = asarray(x) if not isinstance(x, Tracer) else x
    perm = tuple(reversed(range(x.ndim))) if axes is None else tuple(_axis(a, x.ndim, "transpose") for a in axes)
    if sorted(perm) != list(range(x.ndim)):
        _fail("transpose", f"axes {axes} don't match array of shape {x.shape}")
    if perm == tuple(range(x.ndim)):
        return x
    return wrap(ops.transpose(value_of(x), perm), x.weak)


@_op
def swapaxes(x, axis1: int, axis2: int) -> Tracer:
    perm = list(range(len(_shape(x))))
    axis1, axis2 = _axis(axis1, len(perm), "swapaxes"), _axis(axis2, len(perm), "swapaxes")
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, perm)


@_op
def moveaxis(x, source: int, destination: int) -> Tracer:
    x = asarray(x) if not isinstance(x, Tracer) else x
    source, destination = _axis(source, x.ndim, "moveaxis"), _axis(destination, x.ndim, "moveaxis")
    perm = [i for i in range(x.ndim) if i != source]
    perm.insert(destination, source)
    return transpose(x, perm)


@_op
def expand_dims(x, axis) -> Tracer:
    x = asarray(x) if not isinstance(x, Tracer) else x
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = _axes(axes, ndim, "expand_dims")
    dims = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(ndim)))


@_op
def squeeze(x, axis=None) -> Tracer:
    x = asarray(x) if not isinstance(x, Tracer) else x
    axes = tuple(i for i, n in enumerate(x.shape) if n == 1) if axis is None else _axes(axis, x.ndim, "squeeze")
    if any(x.shape[a] != 1 for a in axes):
        _fail("squeeze", f"cannot select an axis to squeeze out which has size not equal to one (shape {x.shape})")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


@_op
def ravel(x) -> Tracer:
    return reshape(x, (-1,))


@_op
def broadcast_to(x, shape) -> Tracer:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    src = _shape(x)
    if broadcast_shapes(src, shape, name="broadcast_to") != shape:
        _fail("broadcast_to", f"cannot broadcast shape {src} to {shape}")
    return wrap(_broadcast_value(_as_value(x), src, shape), _all_weak(x))


@_op
def concatenate(arrays: Sequence, axis: int = 0) -> Tracer:
    arrays = [asarray(a) if not isinstance(a, Tracer) else a for a in arrays]
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
    arrays = [asarray(a) if not isinstance(a, Tracer) else a for a in arrays]
    if not arrays or any(a.shape != arrays[0].shape for a in arrays):
        _fail("stack", f"all input arrays must have the same shape, got {[a.shape for a in arrays]}")
    axis = _axes(axis, arrays[0].ndim + 1, "stack")[0]
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


@_op
def pad(x, pad_width, constant_values=0) -> Tracer:
    x = asarray(x) if not isinstance(x, Tracer) else x
    widths = _np.broadcast_to(_np.asarray(pad_width, dtype=_np.int64), (x.ndim, 2))
    value = _as_value(constant_values, x.dtype)
    return wrap(ops.pad(value_of(x), value, widths[:, 0], widths[:, 1]))


def _getitem(x: Tracer, index) -> Tracer:
    index = index if isinstance(index, tuple) else (index,)
    if builtins.any(isinstance(i, (Tracer, _np.ndarray, list, bool, _np.bool_)) for i in index):
        _fail("getitem", "indexing with arrays is not supported (use ints, slices, None and ..., "
                         "or tfn.numpy.take / take_along_axis)")
    n_real = builtins.sum(1 for i in index if i is not None and i is not Ellipsis)
    if n_real > x.ndim:
        _fail("getitem", f"too many indices for array of shape {x.shape}")
    ellipses = [k for k, i in enumerate(index) if i is Ellipsis]
    if len(ellipses) > 1:
        _fail("getitem", "an index can only have a single ellipsis ('...')")
    at = ellipses[0] if ellipses else len(index)
    index = index[:at] + (builtins.slice(None),) * (x.ndim - n_real) + index[at + 1:]
    start, limit, strides, final_shape = [], [], [], []
    dim = 0
    for i in index:
        if i is None:
            final_shape.append(1)
            continue
        n = x.shape[dim]
        if isinstance(i, builtins.slice):
            b, e, s = i.indices(n)
            if s < 0:
                _fail("getitem", f"negative slice steps are not supported (index {i} on shape {x.shape})")
            e = builtins.max(e, b)
            if e == b:
                b = e = 0  # an empty slice reads nothing; keep its (unused) offset in bounds
            start.append(b), limit.append(e), strides.append(s)
            final_shape.append(len(range(b, e, s)))
        else:
            k = int(i)
            if not -n <= k < n:
                raise IndexError(f"tfn.numpy.getitem: index {k} is out of bounds for axis {dim} with size {n}"
                                 f"\n  at {user_line()}")
            k %= n
            start.append(k), limit.append(k + 1), strides.append(1)
        dim += 1
    v = value_of(x)
    if (start, limit, strides) != ([0] * x.ndim, list(x.shape), [1] * x.ndim):
        v = ops.slice(v, start, limit, strides)
    return wrap(ops.reshape(v, final_shape), x.weak)


getitem = _op(_getitem)


# ---------------------------------------------------------------- contractions

def _dot_general(a, b, batch, contract, name):
    dtype = result_type(a, b)
    va, vb = _as_value(a, dtype), _as_value(b, dtype)
    return wrap(ops.dot_general(va, vb, batch, contract))


@_op
def matmul(a, b) -> Tracer:
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
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return multiply(a, b)
    cb = 0 if len(sb) == 1 else len(sb) - 2
    if sa[-1] != sb[cb]:
        _fail("dot", f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != {sb[cb]} (dim {cb})")
    return _dot_general(a, b, ([], []), ([len(sa) - 1], [cb]), "dot")


@_op
def inner(a, b) -> Tracer:
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return multiply(a, b)
    if sa[-1] != sb[-1]:
        _fail("inner", f"shapes {sa} and {sb} not aligned on the last axis")
    return _dot_general(a, b, ([], []), ([len(sa) - 1], [len(sb) - 1]), "inner")


@_op
def vdot(a, b) -> Tracer:
    return inner(ravel(a), ravel(b))


@_op
def outer(a, b) -> Tracer:
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


@_op
def tensordot(a, b, axes=2) -> Tracer:
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, int):
        ca, cb = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        ca, cb = [axes[0]] if isinstance(axes[0], int) else list(axes[0]), [axes[1]] if isinstance(axes[1], int) else list(axes[1])
    ca, cb = [c % len(sa) for c in ca], [c % len(sb) for c in cb]
    if [sa[i] for i in ca] != [sb[j] for j in cb]:
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
    arrays = [asarray(o) if not isinstance(o, Tracer) else o for o in operands]
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
        reduced.append(("".join(c for c in term if c in others), sum(arr, axis=drop) if drop else arr))
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


# ---------------------------------------------------------------- gathers by one-hot contraction
# tfn has no gather op yet: an integer index selects through a one-hot mask, which
# costs O(len(indices) * n) but is differentiable and batchable like any other op.

def _one_hot_along(indices, n: int, axis: int, dtype):
    """mask[..., k, ...] = (indices[...] == k), with the k axis inserted at `axis`."""
    indices = asarray(indices) if not isinstance(indices, Tracer) else indices
    if indices.dtype.kind not in "iu":
        _fail("take", f"indices must be integers, got {indices.dtype}")
    k = wrap(ops.iota(indices.shape[:axis] + (n,) + indices.shape[axis:], axis, indices.dtype))
    return asarray(equal(expand_dims(indices, axis), k), dtype)


@_op
def take_along_axis(a, indices, axis: int):
    """out[..., j, ...] = a[..., indices[..., j, ...], ...] along `axis` (numpy's rule; indices wrap
    negatively like numpy's for -n <= i < 0)."""
    a = asarray(a) if not isinstance(a, Tracer) else a
    indices = asarray(indices) if not isinstance(indices, Tracer) else indices
    axis = _axes(axis, a.ndim, "take_along_axis")[0]
    if indices.ndim != a.ndim:
        _fail("take_along_axis", f"indices of shape {indices.shape} need the rank of a, shape {a.shape}")
    n = a.shape[axis]
    indices = where(less(indices, 0), add(indices, n), indices)
    mask = _one_hot_along(indices, n, axis + 1, a.dtype)          # [..., j, k, ...]
    return sum(multiply(expand_dims(a, axis), mask), axis=axis + 1, dtype=a.dtype)


@_op
def take(a, indices, axis: int | None = None):
    """a's entries at `indices` along `axis` (flattened when None), numpy's `take`."""
    a = asarray(a) if not isinstance(a, Tracer) else a
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axes(axis, a.ndim, "take")[0]
    indices = asarray(indices) if not isinstance(indices, Tracer) else indices
    n = a.shape[axis]
    indices = where(less(indices, 0), add(indices, n), indices)
    mask = _one_hot_along(indices, n, indices.ndim, a.dtype)      # indices.shape + (n,)
    picked = tensordot(mask, moveaxis(a, axis, 0), axes=1)         # indices.shape + rest
    nidx = indices.ndim
    order = tuple(range(nidx, nidx + axis)) + tuple(range(nidx)) + tuple(range(nidx + axis, picked.ndim))
    return transpose(picked, order)

