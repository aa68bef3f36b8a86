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
numpy: `tnp.abs(1)` is a strong int64 like `np.abs(1)`. float16 and bfloat16 (ml_dtypes',
`tnp.bfloat16`) compute transcendentals, sums and contractions in float32 and round back.
Integer dtypes tfn lacks widen: int8 is int32 here. Traced arrays are immutable; `x.at[i]`
gives updated copies (`x.at[1:].set(0.0)`, `.add`, `.multiply`, `.min`, `.max`).

The package is split by family, each module building only on those before it:
`_core` (tracing or eager dispatch, errors, dtypes, `asarray`), `_shapes`, `_creation`,
`_elementwise`, `_reductions`, `_indexing`, `_manipulation` (flip, roll, tile, repeat,
triangles, diagonals, any/all), `_scans` (cumsum, cumprod), `_sorting` (sort, argsort),
`_contractions`, `linalg` (public, as numpy's); `_array_methods` puts the
operators and methods on `Tracer` when this package is imported.
"""
from __future__ import annotations

from tfn.dialect.types import DtypeError, bfloat16 as _bfloat16
from tfn.frontend.tracer import TraceError, Tracer
from tfn.numpy import _array_methods, linalg
from tfn.numpy._contractions import dot, einsum, inner, matmul, outer, tensordot, vdot
from tfn.numpy._core import (array, asarray, bool_, broadcast_shapes, e, float16, float32, float64, inf, int32, int64, nan,
                             ndarray, newaxis, pi, result_type)
from tfn.numpy._creation import arange, eye, full, full_like, linspace, ones, ones_like, zeros, zeros_like
from tfn.numpy._elementwise import (abs, absolute, add, around, bitwise_and, bitwise_invert, bitwise_left_shift,
                                    bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor, invert, left_shift,
                                    right_shift, ceil, clip, cos, cosh, divide, equal, erf, exp, exp2,
                                    expm1, floor, floor_divide, greater, greater_equal, isfinite, isinf, isnan, less,
                                    less_equal, log, log1p, log2, log10, logaddexp, logical_and, logical_not,
                                    logical_or, maximum, minimum, mod, multiply, negative, not_equal, power,
                                    reciprocal, remainder, rint, round, rsqrt, sign, sin, sinh, sqrt, square,
                                    stop_gradient, subtract, tan, tanh, true_divide, trunc, where)
from tfn.numpy._indexing import at, getitem, take, take_along_axis
from tfn.numpy._manipulation import (all, any, diag, diagonal, flip, meshgrid, repeat, roll, tile, trace, tril,
                                     triu)
from tfn.numpy._reductions import amax, amin, argmax, argmin, max, mean, min, prod, std, sum, var
from tfn.numpy._scans import cumprod, cumsum
from tfn.numpy._shapes import (broadcast_to, concatenate, expand_dims, moveaxis, pad, ravel, reshape, squeeze, stack,
                               swapaxes, transpose)
from tfn.numpy._sorting import argsort, sort

__all__ = [
    # arrays, dtypes and constants
    "ndarray", "array", "asarray", "result_type", "broadcast_shapes",
    "float16", "bfloat16", "float32", "float64", "int32", "int64", "bool_", "pi", "e", "inf", "nan", "newaxis",
    # creation
    "full", "zeros", "ones", "full_like", "zeros_like", "ones_like", "arange", "eye", "linspace",
    # elementwise
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "mod", "power",
    "negative", "abs", "absolute", "sign", "square", "reciprocal", "sqrt", "rsqrt", "exp", "exp2", "expm1",
    "log", "log1p", "log2", "log10", "logaddexp", "sin", "cos", "tan", "tanh", "sinh", "cosh", "erf",
    "floor", "ceil", "rint", "trunc", "round", "around", "maximum", "minimum", "clip", "where",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_not", "isnan", "isinf", "isfinite", "stop_gradient",
    "bitwise_and", "bitwise_or", "bitwise_xor", "invert", "bitwise_not", "bitwise_invert", "left_shift",
    "right_shift", "bitwise_left_shift", "bitwise_right_shift",
    # reductions
    "sum", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "mean", "var", "std", "any", "all",
    "cumsum", "cumprod",
    # rearranging
    "flip", "roll", "tile", "repeat", "tril", "triu", "diag", "diagonal", "trace", "meshgrid",
    # sorting
    "sort", "argsort",
    # shapes
    "reshape", "ravel", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "broadcast_to",
    "concatenate", "stack", "pad",
    # indexing
    "getitem", "at", "take", "take_along_axis",
    # contractions
    "matmul", "dot", "inner", "vdot", "outer", "tensordot", "einsum",
    # errors
    "DtypeError", "TraceError", "Tracer",
]

# The public functions are tfn.numpy's, wherever in the package they are written (their
# docstrings and doctests are found here, and `sum.__module__` reads as numpy's own).
for _name in __all__:
    if getattr(globals().get(_name), "__module__", "").startswith(__name__ + "."):
        globals()[_name].__module__ = __name__
del _name


def __getattr__(name: str):
    """`tnp.bfloat16`, ml_dtypes' scalar type as in `jax.numpy`, imported when first used
    (its extension takes ~0.7 s to load, which `import tfn` need not pay for)."""
    if name == "bfloat16":
        return _bfloat16().type
    raise AttributeError(f"module 'tfn.numpy' has no attribute {name!r}")

_array_methods.install(Tracer)
