"""`tfn.lax.linalg`: JAX's names and arguments for the linear algebra ops (`tfn/ops/linalg.py`).

    >>> import numpy as np, tfn
    >>> a = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> tfn.lax.linalg.triangular_solve(a, np.array([[2.0], [3.0]]), left_side=True, lower=True).tolist()
    [[1.0], [2.0]]
"""
from __future__ import annotations

import numpy as np

from tfn import ops
from tfn import numpy as tnp
from tfn.dialect.types import is_float_dtype
from tfn.frontend.tracer import wrap
from tfn.numpy._core import _as_value, _fail, _op, _shape

__all__ = ["triangular_solve", "cholesky", "lu"]


@_op
def triangular_solve(a, b, left_side: bool = False, lower: bool = False, transpose_a: bool = False,
                     conjugate_a: bool = False, unit_diagonal: bool = False):
    """x with op(a) x = b (left_side) or x op(a) = b, op(a) = a^T if transpose_a (real: conjugate_a
    changes nothing); a (..., m, m) triangular, b (..., m, n) (left) or (..., n, m), same batch dims."""
    del conjugate_a
    a, b = tnp.asarray(a), tnp.asarray(b)
    dtype = np.result_type(a.dtype, b.dtype, np.float32)
    a, b = tnp.asarray(a, dtype), tnp.asarray(b, dtype)
    sa, sb = _shape(a), _shape(b)
    if len(sa) < 2 or sa[-1] != sa[-2] or len(sb) != len(sa) or sb[:-2] != sa[:-2] \
            or (sb[-2] if left_side else sb[-1]) != sa[-1]:
        _fail("lax.linalg.triangular_solve", f"a must be (..., m, m) and b (..., m, n) (left_side) or (..., n, m) "
                                             f"with the same batch dims; got shapes {sa} and {sb}")
    if left_side:
        return wrap(ops.triangular_solve(_as_value(a), _as_value(b), bool(lower), bool(transpose_a),
                                         bool(unit_diagonal)))
    # x op(a) = b  <=>  op(a)^T x^T = b^T
    x = ops.triangular_solve(_as_value(a), _as_value(tnp.swapaxes(b, -1, -2)), bool(lower), not transpose_a,
                             bool(unit_diagonal))
    return tnp.swapaxes(wrap(x), -1, -2)


@_op
def cholesky(x, symmetrize_input: bool = True):
    """Lower Cholesky factor; symmetrize_input uses (x + x^T) / 2, as JAX's."""
    x = tnp.asarray(x)
    if symmetrize_input:
        x = (x + tnp.swapaxes(x, -1, -2)) / 2
    return tnp.linalg.cholesky(x)


@_op
def lu(a):
    """(lu, pivots, permutation) of a square (..., n, n) a, as jax.lax.linalg.lu: lu packs L (unit lower)
    and U, row k was swapped with pivots[k], and a[permutation] = L U."""
    a = tnp.asarray(a)
    if not is_float_dtype(a.dtype):
        a = tnp.asarray(a, np.float64)
    v = _as_value(a)
    return tuple(wrap(ops.lu(v, part)) for part in ops.LU_PARTS)
