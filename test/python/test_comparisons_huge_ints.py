"""Comparisons with Python ints outside the array's integer range are exact, as in numpy 2."""
import operator

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp

_NAMES = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
_OPERATORS = (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("c", [3_000_000_000, -3_000_000_000, 2**70, -2**70, 5])
def test_comparison_with_out_of_range_python_int(dtype, c):
    x = np.array([-5, 0, 7, np.iinfo(dtype).max, np.iinfo(dtype).min], dtype)

    def every_comparison(a):
        functions = [getattr(tnp, n)(a, c) for n in _NAMES] + [getattr(tnp, n)(c, a) for n in _NAMES]
        operators = [op(a, c) for op in _OPERATORS] + [op(c, a) for op in _OPERATORS]
        return tuple(functions + operators)

    want = [getattr(np, n)(x, c) for n in _NAMES] + [getattr(np, n)(c, x) for n in _NAMES]
    got = tfn.jit(every_comparison)(x)
    for k, w in enumerate(want + want):
        assert got[k].dtype == np.bool_
        np.testing.assert_array_equal(got[k], w, err_msg=f"case {k}")


def test_arithmetic_with_out_of_range_python_int_still_raises():
    with pytest.raises(OverflowError):
        tfn.jit(lambda a: a + 3_000_000_000)(np.ones(2, np.int32))
