"""Functions at infinities and nan, against numpy (both float dtypes)."""
import numpy as np
import pytest

import tfn
import tfn.numpy as tnp

_SPECIAL = [np.inf, -np.inf, np.nan, -0.0, 0.0, 3.0, -2.5, 710.0, -710.0, 89.0, -89.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sign_sinh_cosh_tanh_at_special_values(dtype):
    x = np.array(_SPECIAL, dtype)
    got = tfn.jit(lambda x: (tnp.sign(x), tnp.sinh(x), tnp.cosh(x), tnp.tanh(x)))(x)
    with np.errstate(over="ignore"):
        want = (np.sign(x), np.sinh(x), np.cosh(x), np.tanh(x))
    for name, g, w in zip(("sign", "sinh", "cosh", "tanh"), got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-5 if dtype == np.float32 else 1e-12, err_msg=name)
