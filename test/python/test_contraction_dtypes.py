"""Contractions over mixed dtypes (bool, int32, int64, float32, float64) against numpy."""
import itertools

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp

_RNG = np.random.default_rng(0)
_MAKE = {
    "bool": lambda s: _RNG.random(s) > 0.5,
    "int32": lambda s: _RNG.integers(-3, 4, s).astype(np.int32),
    "int64": lambda s: _RNG.integers(-3, 4, s),
    "float32": lambda s: _RNG.standard_normal(s).astype(np.float32),
    "float64": lambda s: _RNG.standard_normal(s),
}
_SPECS = [("ij,->", (3, 4), ()), ("ij,jk->ik", (3, 4), (4, 2)), ("ij,k->i", (3, 4), (5,)),
          ("ij,ij->", (3, 4), (3, 4)), ("i,j->ij", (3,), (2,))]


@pytest.mark.parametrize("spec,sa,sb", _SPECS)
def test_einsum_mixed_dtypes_match_numpy(spec, sa, sb):
    # Operands summed on their own before the contraction must first be promoted: a bool
    # summed alone would be "any" instead of a count.
    for ta, tb in itertools.product(_MAKE, _MAKE):
        a, b = _MAKE[ta](sa), _MAKE[tb](sb)
        want = np.einsum(spec, a, b)
        got = tfn.jit(lambda x, y: tnp.einsum(spec, x, y))(a, b)
        assert got.dtype == want.dtype, (spec, ta, tb)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{spec} {ta} {tb}")
