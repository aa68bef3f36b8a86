"""tfn.numpy as a package: its public names (the same as the single module it was split
from), modules of a readable size, and numpy's array API installed on `Tracer`."""
from __future__ import annotations

import ast
import operator
from pathlib import Path

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn.frontend.tracer import Tracer

PACKAGE = Path(tnp.__file__).parent

FUNCTIONS = """
    abs absolute add amax amin arange argmax argmin around array asarray at broadcast_shapes broadcast_to ceil clip
    concatenate cos cosh divide dot einsum equal erf exp exp2 expand_dims expm1 eye floor floor_divide full full_like
    getitem greater greater_equal inner isfinite isinf isnan less less_equal linspace log log10 log1p log2 logaddexp
    logical_and logical_not logical_or matmul max maximum mean min minimum mod moveaxis multiply negative not_equal
    ones ones_like outer pad power prod ravel reciprocal remainder reshape result_type rint round rsqrt sign sin sinh
    sqrt square squeeze stack std stop_gradient subtract sum swapaxes take take_along_axis tan tanh tensordot
    transpose true_divide trunc var vdot where zeros zeros_like
    bitwise_and bitwise_or bitwise_xor invert bitwise_not bitwise_invert left_shift right_shift bitwise_left_shift
    bitwise_right_shift any all cumsum cumprod flip roll tile repeat tril triu diag diagonal trace meshgrid sort
    argsort""".split()
VALUES = "ndarray float16 bfloat16 float32 float64 int32 int64 bool_ pi e inf nan newaxis DtypeError TraceError Tracer".split()
TRACER_API = """T at argmax argmin astype clip dot flatten max mean min prod ravel reshape squeeze std sum transpose var
    __getitem__ __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __floordiv__
    __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __matmul__ __rmatmul__ __neg__ __pos__ __abs__ __invert__
    __and__ __rand__ __or__ __ror__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__
    any all trace diagonal repeat cumsum cumprod argsort __xor__ __rxor__ __lshift__ __rlshift__ __rshift__
    __rrshift__""".split()


def test_public_names():
    assert sorted(tnp.__all__) == sorted(FUNCTIONS + VALUES)
    for name in FUNCTIONS:
        assert getattr(tnp, name).__module__ == "tfn.numpy", name   # wherever in the package it is written
    assert tnp.ndarray is Tracer and tnp.float32 is np.float32 and tnp.newaxis is None


def test_modules_are_small_and_documented():
    for path in sorted(PACKAGE.glob("*.py")):
        text = path.read_text()
        assert len(text.splitlines()) <= 600, path.name
        assert ast.get_docstring(ast.parse(text)), f"{path.name} has no docstring"


def test_the_tracer_has_numpy_api():
    for name in TRACER_API:
        assert name in vars(Tracer), name
    out = tfn.jit(lambda x: (x.T @ x, x[0] + 1, -x.sum(axis=0), x.at[0].set(2.0), x.reshape(4).max(), abs(x) ** 2))(
        np.arange(4.0).reshape(2, 2))
    x = np.arange(4.0).reshape(2, 2)
    expected = (x.T @ x, x[0] + 1, -x.sum(axis=0), np.array([[2.0, 2.0], [2.0, 3.0]]), 3.0, abs(x) ** 2)
    for got, want in zip(out, expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op", [operator.add, operator.mul, operator.truediv, operator.pow])
def test_operators_on_python_scalars_stay_weak(op):
    out = tfn.jit(lambda a, b: op(a, b) * np.ones(2, np.float32))(3.0, 2.0)
    assert out.dtype == np.float32


def test_an_eager_call_without_the_compiler_says_so(monkeypatch):
    from tfn.frontend import dispatch
    monkeypatch.setattr(dispatch, "_eager_call", None)
    with pytest.raises(RuntimeError, match="sin was called outside a trace.*import tfn"):
        tnp.sin(np.ones(2))
