"""Elementwise functions: numpy's ufuncs (arithmetic, comparisons, logic, exp/log,
trigonometric and rounding functions) with numpy's dtypes, and `where`, `clip`,
`stop_gradient`.
"""
from __future__ import annotations

import numpy as _np

from tfn import ops
from tfn.dialect.types import canonical_dtype, dtype_of, is_float_dtype, shape_of
from tfn.frontend.source import user_line
from tfn.frontend.tracer import Tracer, wrap
from tfn.numpy._core import (_as_value, _describe, _dtype, _is_scalar, _is_weak, _numpy_result,
                             _op, _operands, _shape, _ufunc_dtypes, asarray, float64, result_type)
from tfn.numpy._creation import full


# One rule per function: the numpy ufunc that decides dtypes, and how to compute it on
# operands already converted to numpy's loop dtypes and broadcast (ir.Values in, Tracer out).

def _elementwise(name: str, ufunc, compute, sample=_np.float32):
    """The public tnp function `name`: numpy's `ufunc` dtypes, computed by compute(out_dtype, *values)."""
    def function(*xs):
        in_dtypes, out = _ufunc_dtypes(name, ufunc, *xs)
        return compute(out, *_operands(name, xs, in_dtypes))
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"Elementwise {name}, as numpy.{ufunc.__name__}: numpy's dtypes (NEP 50).\n\n"
                        f"    >>> import numpy as np, tfn.numpy as tnp\n"
                        f"    >>> tnp.{name}({', '.join([f'np.ones(2, np.{_np.dtype(sample).name})'] * ufunc.nin)}).dtype\n"
                        f"    dtype('{_np.dtype(canonical_dtype(ufunc.resolve_dtypes((_np.dtype(sample),) * ufunc.nin + (None,))[-1])).name}')\n")
    return _op(function)


def _ir(build):
    """compute from an ir builder of the values."""
    return lambda out, *vs: wrap(build(*vs))


def _via(fn):
    """compute from tnp functions of tracers (already in the loop dtype)."""
    return lambda out, *vs: asarray(fn(*map(wrap, vs)), out)


def _float_only(build):
    """compute for functions numpy defines on floats that leave integers as they are (floor of an int)."""
    return lambda out, v: wrap(build(v) if is_float_dtype(_np.dtype(out)) else ops.convert(v, out))


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
        if not is_float_dtype(x.dtype):
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
    ops.div(ops.full(shape_of(v), 1, out), v) if is_float_dtype(out) else _int_reciprocal(v)))
exp, log, log1p, expm1, sin, cos, tanh, sqrt = (
    _elementwise(name, getattr(_np, name), _ir(getattr(ops, name)))
    for name in ("exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "sqrt"))
# erf and rsqrt are no numpy ufuncs: they take numpy's dtypes of sin and sqrt.
erf = _elementwise("erf", _np.sin, _ir(ops.erf))
rsqrt = _elementwise("rsqrt", _np.sqrt, _ir(ops.rsqrt))
floor = _elementwise("floor", _np.floor, _float_only(ops.floor))
ceil = _elementwise("ceil", _np.ceil, _float_only(ops.ceil))
rint = _elementwise("rint", _np.rint, _ir(ops.round))
trunc = _elementwise("trunc", _np.trunc, lambda out, v: _trunc(wrap(v)) if is_float_dtype(out) else wrap(v))
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
    # A zero remainder has y's sign too (numpy: -0.5 % -0.5 is -0.0, so 1 // (x % x) is -inf).
    r = where(equal(r, 0), where(less(y, 0), r.dtype.type(-0.0), r.dtype.type(0.0)), r)
    # y = +-inf: the product above is inf * 0; numpy's x % inf is x, or y where the signs differ.
    return where(_finite_by_infinite(x, y), where(_same_sign(x, y), x, y), r)


def _finite_by_infinite(x: Tracer, y: Tracer) -> Tracer:
    return logical_and(isinf(y), isfinite(x))


def _same_sign(x: Tracer, y: Tracer) -> Tracer:
    return logical_or(equal(x, 0), equal(less(x, 0), less(y, 0)))


def _half_in_float32(rule):
    """`rule(out, a, b)` computed in float32 for the 16-bit floats, the result rounded back, as
    numpy's float16 loops do (the exact remainder of two of them is one of them: exact there too)."""
    def wide(out, a, b):
        if is_float_dtype(out) and _np.dtype(out).itemsize == 2:
            f32 = _np.dtype(_np.float32)
            return asarray(rule(f32, ops.convert(a, f32), ops.convert(b, f32)), out)
        return rule(out, a, b)
    return wide


@_half_in_float32
def _floor_divide(out, a, b):
    """a // b as numpy: floats from the exact remainder ((a - a % b) / b, rounded), integers
    through float64 (exact below 2**53), and x // 0 = 0 for integers."""
    x, y = wrap(a), wrap(b)
    if is_float_dtype(out):
        div = (x - _float_mod(x, y)) / y
        q = floor(div)
        q = where(greater(div - q, 0.5), q + 1, q)
        zero, minus_one = q.dtype.type(0), q.dtype.type(-1)
        q = where(_finite_by_infinite(x, y), where(_same_sign(x, y), zero, minus_one), q)  # -1 // inf is -1
        return where(equal(y, 0), x / y, q)
    q = asarray(floor(asarray(x, float64) / asarray(y, float64)), out)
    return where(equal(y, 0), 0, q)


@_half_in_float32
def _remainder(out, a, b):
    x, y = wrap(a), wrap(b)
    if is_float_dtype(out):
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
    if not is_float_dtype(out):
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



# ---------------------------------------------------------------- bitwise: integers and bools
# numpy's loops: on bools `&`, `|`, `^`, `~` are logical (bool results); shifts of bools are
# int8 (int32 here); floats have no loop (a TypeError, as numpy).

bitwise_and = _elementwise("bitwise_and", _np.bitwise_and, _ir(ops.bitwise_and), _np.int32)
bitwise_or = _elementwise("bitwise_or", _np.bitwise_or, _ir(ops.bitwise_or), _np.int32)
bitwise_xor = _elementwise("bitwise_xor", _np.bitwise_xor, _ir(ops.bitwise_xor), _np.int32)
invert = _elementwise("invert", _np.invert, _ir(ops.bitwise_not), _np.int32)
bitwise_not = bitwise_invert = invert
left_shift = _elementwise("left_shift", _np.left_shift, _ir(ops.shift_left), _np.int32)
right_shift = _elementwise("right_shift", _np.right_shift, _ir(ops.shift_right_arithmetic), _np.int32)
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift
