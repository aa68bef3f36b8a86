"""numpy's array API on `Tracer`: operators (`x + y`, `x @ w`, `x[i]`, ...), methods
(`x.sum()`, `x.reshape(...)`, ...) and properties (`x.T`, `x.at`), installed on the class
when `tfn.numpy` is imported (`install`), as JAX's `jax.numpy` does for its tracers.

The tracer lies below `tfn.numpy` and never imports it: it defines what a traced value is
(its shape, dtype and the misuses it refuses), and this module what one can do with it.
"""
from __future__ import annotations

import operator

import numpy as np

from tfn.dialect.types import canonical_dtype
from tfn.frontend.source import user_line
from tfn.frontend.tracer import Tracer
from tfn.numpy import _contractions as contract, _core as core, _elementwise as ew, _indexing as index
from tfn.numpy import _manipulation as manip, _reductions as reduce, _scans as scans, _shapes as shapes
from tfn.numpy import _sorting as sorting

# ---------------------------------------------------------------- methods


def reshape(self, *shape, order="C"):
    return shapes.reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)


def astype(self, dtype):
    return core.asarray(self, dtype=dtype)


def transpose(self, *axes):
    return shapes.transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))


def sum(self, axis=None, keepdims=False, dtype=None):
    return reduce.sum(self, axis=axis, keepdims=keepdims, dtype=dtype)


def mean(self, axis=None, keepdims=False):
    return reduce.mean(self, axis=axis, keepdims=keepdims)


def max(self, axis=None, keepdims=False):
    return reduce.max(self, axis=axis, keepdims=keepdims)


def min(self, axis=None, keepdims=False):
    return reduce.min(self, axis=axis, keepdims=keepdims)


def prod(self, axis=None, keepdims=False):
    return reduce.prod(self, axis=axis, keepdims=keepdims)


def var(self, axis=None, keepdims=False, ddof=0):
    return reduce.var(self, axis=axis, keepdims=keepdims, ddof=ddof)


def std(self, axis=None, keepdims=False, ddof=0):
    return reduce.std(self, axis=axis, keepdims=keepdims, ddof=ddof)


def argmax(self, axis=None, keepdims=False):
    return reduce.argmax(self, axis=axis, keepdims=keepdims)


def argmin(self, axis=None, keepdims=False):
    return reduce.argmin(self, axis=axis, keepdims=keepdims)


def squeeze(self, axis=None):
    return shapes.squeeze(self, axis)


def flatten(self):
    return shapes.reshape(self, (-1,))


def dot(self, other):
    return contract.dot(self, other)


def clip(self, min=None, max=None):
    return ew.clip(self, min, max)


def _any(self, axis=None, keepdims=False):
    return manip.any(self, axis=axis, keepdims=keepdims)


def _all(self, axis=None, keepdims=False):
    return manip.all(self, axis=axis, keepdims=keepdims)


def trace(self, offset=0, axis1=0, axis2=1, dtype=None):
    return manip.trace(self, offset, axis1, axis2, dtype)


def diagonal(self, offset=0, axis1=0, axis2=1):
    return manip.diagonal(self, offset, axis1, axis2)


def repeat(self, repeats, axis=None):
    return manip.repeat(self, repeats, axis)


def cumsum(self, axis=None, dtype=None):
    return scans.cumsum(self, axis, dtype)


def cumprod(self, axis=None, dtype=None):
    return scans.cumprod(self, axis, dtype)


def argsort(self, axis=-1, kind=None, order=None, *, stable=None):
    return sorting.argsort(self, axis, kind, order, stable=stable)


def T(self):
    return shapes.transpose(self)


def at(self):
    """Functional updates: `x.at[index].set(v)`, `.add(v)`, `.multiply(v)`, `.min(v)`, `.max(v)`, `.get()`.

        >>> import numpy as np, tfn
        >>> tfn.jit(lambda x: x.at[0, ::2].add(1.0))(np.zeros((2, 3)))
        array([[1., 0., 1.],
               [0., 0., 0.]])
    """
    return index.at(self)


METHODS = {f.__name__: f for f in (reshape, astype, transpose, sum, mean, max, min, prod, var, std, argmax,
                                   argmin, squeeze, flatten, dot, clip, trace, diagonal, repeat, cumsum,
                                   cumprod, argsort)}
METHODS.update(ravel=flatten, any=_any, all=_all)  # not named any/all here: the builtins stay
PROPERTIES = {"T": T, "at": at}

# ---------------------------------------------------------------- operators

_PYTHON_SAMPLE = {"b": True, "i": 1, "f": 1.0}


def _operator(function, python_op, *operands):
    """An operator: the tnp `function`, except that on Python scalars only (weak tracers of a
    jitted function's scalar arguments, and Python numbers) it is Python's arithmetic, whose
    result is again a weak Python scalar: `x * 2` for a float argument x promotes like a float."""
    weak = all(isinstance(o, Tracer) and o.weak or _is_python_scalar(o) for o in operands)
    if not weak:
        return function(*operands)
    samples = [_PYTHON_SAMPLE[o.dtype.kind] if isinstance(o, Tracer) else o for o in operands]
    try:
        dtype = canonical_dtype(np.asarray(python_op(*samples)).dtype)  # Python's result type: True + True is 2
    except ZeroDivisionError:
        dtype = np.dtype(np.float64)
    except TypeError as error:  # 2 & 1.5: Python has no such operator for these types
        raise TypeError(f"tfn.numpy: {error} (as in Python)\n  at {user_line()}") from None
    if dtype.kind != "b":  # computed in Python's result type: True + True is 2, 2 ** -1 is 0.5
        operands = [core.asarray(o, dtype) for o in operands]
    out = function(*operands)
    if out.dtype != dtype:
        out = core.asarray(out, dtype)
    return Tracer(out.value, out.scope, True)


def _is_python_scalar(x) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def _positive(x):
    """Unary +: a copy, as numpy's `positive`, which refuses bools."""
    if x.dtype == np.bool_:
        raise TypeError(f"unary + of a bool array {x!r} is not supported, as in numpy\n  at {user_line()}")
    return core.asarray(x)


def _binary(function, python_op):
    """`__op__` and `__rop__` of a binary operator."""
    return (lambda self, o: _operator(function, python_op, self, o),
            lambda self, o: _operator(function, python_op, o, self))


def _pow(self, o):
    if type(o) is int and o == 2 and self.dtype == np.bool_ and not self.weak:
        return ew.square(self)  # numpy's `**` squares for an exponent of 2: int8 (int32 here) for bools
    return _operator(ew.power, operator.pow, self, o)


OPERATORS = {
    "__pow__": _pow,
    "__rpow__": lambda self, o: _operator(ew.power, operator.pow, o, self),
    "__matmul__": lambda self, o: contract.matmul(self, o),
    "__rmatmul__": lambda self, o: contract.matmul(o, self),
    "__neg__": lambda self: _operator(ew.negative, operator.neg, self),
    "__pos__": lambda self: _operator(_positive, operator.pos, self),
    "__abs__": lambda self: _operator(ew.abs, abs, self),
    "__invert__": lambda self: _operator(ew.invert, operator.invert, self),
    "__getitem__": lambda self, i: index.getitem(self, i),
}
for _name, _function, _python_op in (
        ("add", ew.add, operator.add), ("sub", ew.subtract, operator.sub), ("mul", ew.multiply, operator.mul),
        ("truediv", ew.true_divide, operator.truediv), ("floordiv", ew.floor_divide, operator.floordiv),
        ("mod", ew.remainder, operator.mod), ("and", ew.bitwise_and, operator.and_),
        ("or", ew.bitwise_or, operator.or_), ("xor", ew.bitwise_xor, operator.xor),
        ("lshift", ew.left_shift, operator.lshift), ("rshift", ew.right_shift, operator.rshift)):
    OPERATORS[f"__{_name}__"], OPERATORS[f"__r{_name}__"] = _binary(_function, _python_op)
for _name, _function, _python_op in (
        ("eq", ew.equal, operator.eq), ("ne", ew.not_equal, operator.ne), ("lt", ew.less, operator.lt),
        ("le", ew.less_equal, operator.le), ("gt", ew.greater, operator.gt), ("ge", ew.greater_equal, operator.ge)):
    OPERATORS[f"__{_name}__"] = _binary(_function, _python_op)[0]
del _name, _function, _python_op


def install(cls: type = Tracer) -> None:
    """Puts the methods, properties and operators above on `cls`."""
    for name, function in {**METHODS, **OPERATORS}.items():
        if function.__name__ == "<lambda>" or function.__name__.startswith("_"):
            function.__name__, function.__qualname__ = name, f"{cls.__name__}.{name}"
        setattr(cls, name, function)
    for name, getter in PROPERTIES.items():
        setattr(cls, name, property(getter, doc=getter.__doc__))
