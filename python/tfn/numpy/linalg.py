"""`tfn.numpy.linalg`: numpy's linear algebra over traced arrays, batched over leading dims.

Five tfn ops do the O(n^3) work (`tfn/ops/linalg.py`): `cholesky`, `triangular_solve`,
`lu` (partial pivoting), `qr` and `eigh`; everything else is a composite, so its derivatives and batching
rules are those of the ops it is made of:

- `solve(a, b)`: P a = L U, then two triangular solves of P b; `inv(a)` is `solve(a, I)`;
- `qr(a)`: one op (`tfn.qr`, modified Gram-Schmidt) per factor;
- `eigh(a)`, `eigvalsh(a)`: `tfn.eigh` (cyclic Jacobi) of the symmetric matrix of a's triangle;
- `det(a)`: the product of U's diagonal times the sign of the pivots' permutation;
  `slogdet(a)`: (sign, sum of log |U_ii|);
- `norm`: vector norms (None/2, 1, inf, -inf, 0, any p) and matrix norms (None/'fro', 1, -1,
  inf, -inf) as reductions; 2-norm and 'nuc' of matrices need singular values (not yet).

Integer and bool inputs compute in float64 (numpy's rule); float32 stays float32. Where numpy
raises `LinAlgError`, tfn computes on: `det` of an exactly singular matrix is 0 and `slogdet`
gives (0, -inf), as numpy's; `solve` and `inv` of a singular matrix divide by U's zero pivot
and give inf/nan; `cholesky` of a matrix that is not positive definite gives nan.

    >>> import numpy as np, tfn.numpy as tnp
    >>> float(tnp.linalg.det(np.array([[2.0, 1.0], [1.0, 3.0]])))
    5.0
"""
from __future__ import annotations

import numpy as _np

from tfn import ops
from tfn.dialect.types import is_float_dtype
from tfn.frontend.tracer import Tracer, wrap
from tfn.numpy._core import _as_tracer, _as_value, _axes, _fail, _op, _shape, asarray, broadcast_shapes
from tfn.numpy._creation import eye
from tfn.numpy._elementwise import abs, equal, log, multiply, not_equal, power, sign, sqrt
from tfn.numpy._reductions import amax, amin, prod, sum
from tfn.numpy._shapes import broadcast_to, expand_dims, squeeze, swapaxes

__all__ = ["cholesky", "qr", "eigh", "eigvalsh", "solve", "inv", "det", "slogdet", "norm", "solve_triangular"]


def _float(name: str, a) -> Tracer:
    """a as a float tracer (integers and bools as float64)."""
    a = _as_tracer(a)
    if not is_float_dtype(a.dtype):
        a = asarray(a, _np.float64)
    return a


def _square(name: str, a) -> Tracer:
    a = _float(name, a)
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        _fail(f"linalg.{name}", f"expects square matrices in the last two dims (..., n, n), got shape {s}")
    return a


def _lu(a: Tracer, part: str) -> Tracer:
    return wrap(ops.lu(_as_value(a), part))


def _diagonal(x: Tracer) -> Tracer:
    """The diagonal of each matrix (..., n, n) -> (..., n)."""
    n = _shape(x)[-1]
    return sum(multiply(x, eye(n, dtype=x.dtype)), axis=-1)


def _triangular_solve(a: Tracer, b: Tracer, lower: bool, transpose_a: bool, unit_diagonal: bool) -> Tracer:
    return wrap(ops.triangular_solve(_as_value(a), _as_value(b), lower, transpose_a, unit_diagonal))


@_op
def cholesky(a) -> Tracer:
    """The lower Cholesky factor L of each matrix (a = L L^T), read from a's lower triangle."""
    a = _square("cholesky", a)
    return wrap(ops.cholesky(_as_value(a)))


@_op
def qr(a, mode="reduced"):
    """(Q, R) of each (..., m, n) matrix with m >= n (mode 'reduced', or 'complete' when m == n), or R
    alone (mode 'r'). R's diagonal is nonnegative (Gram-Schmidt: the unique QR of a full-rank a), so
    the signs of Q's columns and R's rows may differ from numpy's (LAPACK's Householder)."""
    a = _float("qr", a)
    s = _shape(a)
    if len(s) < 2 or s[-2] < s[-1]:
        _fail("linalg.qr", f"expects (..., m, n) matrices with m >= n, got shape {s}")
    if mode not in ("reduced", "r") and not (mode == "complete" and s[-2] == s[-1]):
        _fail("linalg.qr", f"mode {mode!r} is not supported for shape {s} ('reduced', 'r'; 'complete' when m == n)")
    v = _as_value(a)
    r = wrap(ops.qr(v, "r"))
    return r if mode == "r" else (wrap(ops.qr(v, "q")), r)


def _symmetric(name: str, a, UPLO: str) -> Tracer:
    """The symmetric matrix of a's lower (UPLO 'L') or upper ('U') triangle, as numpy's eigh reads it."""
    a = _square(name, a)
    if UPLO not in ("L", "U"):
        _fail(f"linalg.{name}", f"UPLO must be 'L' or 'U', got {UPLO!r}")
    n = _shape(a)[-1]
    keep = _np.tril(_np.ones((n, n)), -1) if UPLO == "L" else _np.triu(_np.ones((n, n)), 1)
    half = multiply(a, keep.astype(a.dtype))
    return half + multiply(a, _np.eye(n, dtype=a.dtype)) + swapaxes(half, -1, -2)


@_op
def eigh(a, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix, read from its lower
    (or upper) triangle; cyclic Jacobi. An eigenvector's sign is arbitrary (may differ from numpy's),
    and derivatives of eigenvectors are undefined where eigenvalues repeat (as in JAX)."""
    v = _as_value(_symmetric("eigh", a, UPLO))
    return wrap(ops.eigh(v, "eigenvalues")), wrap(ops.eigh(v, "eigenvectors"))


@_op
def eigvalsh(a, UPLO="L") -> Tracer:
    """The eigenvalues of each symmetric matrix, ascending."""
    return wrap(ops.eigh(_as_value(_symmetric("eigvalsh", a, UPLO)), "eigenvalues"))


@_op
def solve(a, b) -> Tracer:
    """x with a @ x = b; b is (..., n) only when it is 1-d (numpy 2), else (..., n, k).
    Batch dims broadcast. A singular a gives inf/nan (numpy raises LinAlgError)."""
    a = _square("solve", a)
    b = _as_tracer(b)
    dtype = _np.result_type(a.dtype, _float("solve", b).dtype)
    a, b = asarray(a, dtype), asarray(b, dtype)
    sa, sb = _shape(a), _shape(b)
    n = sa[-1]
    vector = len(sb) == 1
    if vector:
        b = expand_dims(b, -1)
        sb = _shape(b)
    if len(sb) < 2 or sb[-2] != n:
        _fail("linalg.solve", f"b must be (n,) or (..., n, k) with n = {n} (a's shape {sa}), got shape "
                              f"{(sb[0],) if vector else sb}")
    batch = broadcast_shapes(sa[:-2], sb[:-2], name="linalg.solve")
    a = broadcast_to(a, batch + sa[-2:])
    b = broadcast_to(b, batch + sb[-2:])
    x = _lu_solve(_lu(a, "factors"), _lu(a, "permutation"), b)
    return squeeze(x, -1) if vector else x


def _lu_solve(factors: Tracer, perm: Tracer, b: Tracer) -> Tracer:
    """x with P^T L U x = b: U^-1 L^-1 (P b), P b gathered as a one-hot product."""
    n = _shape(factors)[-1]
    onehot = asarray(equal(expand_dims(perm, -1), _np.arange(n, dtype=_np.int32)), b.dtype)
    pb = onehot @ b
    y = _triangular_solve(factors, pb, True, False, True)
    return _triangular_solve(factors, y, False, False, False)


@_op
def inv(a) -> Tracer:
    """The inverse of each matrix, solve(a, I) (inf/nan for a singular one; numpy raises)."""
    a = _square("inv", a)
    n = _shape(a)[-1]
    return solve(a, broadcast_to(eye(n, dtype=a.dtype), _shape(a)))


def _sign_and_diagonal(a: Tracer):
    factors = _lu(a, "factors")
    pivots = _lu(a, "pivots")
    n = _shape(a)[-1]
    swaps = sum(not_equal(pivots, _np.arange(n, dtype=_np.int32)), axis=-1)
    parity = asarray(1 - 2 * (swaps % 2), a.dtype)
    return parity, _diagonal(factors)


@_op
def det(a) -> Tracer:
    """The determinant of each matrix: prod(diag(U)) times the sign of the row permutation."""
    a = _square("det", a)
    parity, d = _sign_and_diagonal(a)
    return multiply(parity, prod(d, axis=-1))


@_op
def slogdet(a) -> tuple[Tracer, Tracer]:
    """(sign, log|det|) of each matrix; a singular one gives (0, -inf) as numpy's."""
    a = _square("slogdet", a)
    parity, d = _sign_and_diagonal(a)
    return multiply(parity, prod(sign(d), axis=-1)), sum(log(abs(d)), axis=-1)


@_op
def norm(x, ord=None, axis=None, keepdims=False) -> Tracer:
    """numpy.linalg.norm: the 2-norm of the flattened x (ord None, axis None); vector norms over
    one axis; matrix norms None/'fro', 1, -1, inf, -inf over two axes."""
    x = _float("norm", x)
    nd = len(_shape(x))
    if axis is None:
        if ord is None:
            r = sqrt(sum(multiply(x, x), axis=None))
            return broadcast_to(r, (1,) * nd) if keepdims else r
        axis = tuple(range(nd))
        if nd not in (1, 2):
            _fail("linalg.norm", f"ord={ord!r} with axis=None needs a 1-d or 2-d array, got shape {_shape(x)}")
    axes = _axes(axis, nd, "linalg.norm")         # checked (and sorted)
    if len(axes) == 2:                            # numpy's order: (row axis, column axis)
        axes = tuple(int(a) % nd for a in axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) != 2 or axes[0] == axes[1]:
        _fail("linalg.norm", f"axis must name one or two distinct dims, got {axis!r}")
    return _matrix_norm(x, ord, axes, keepdims)


def _vector_norm(x, ord, axis, keepdims):
    a = abs(x)
    if ord is None or ord == 2:
        return sqrt(sum(multiply(x, x), axis=axis, keepdims=keepdims))
    if ord == _np.inf:
        return amax(a, axis=axis, keepdims=keepdims)
    if ord == -_np.inf:
        return amin(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return sum(asarray(not_equal(x, 0), x.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(a, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        _fail("linalg.norm", f"invalid norm order {ord!r} for vectors")
    return power(sum(power(a, float(ord)), axis=axis, keepdims=keepdims), 1.0 / float(ord))


def _matrix_norm(x, ord, axes, keepdims):
    r, c = axes
    a = abs(x)
    if ord is None or ord == "fro":
        out = sqrt(sum(multiply(x, x), axis=axes, keepdims=True))
    elif ord in (1, -1):        # max/min column sum
        out = (amax if ord == 1 else amin)(sum(a, axis=r, keepdims=True), axis=c, keepdims=True)
    elif ord in (_np.inf, -_np.inf):   # max/min row sum
        out = (amax if ord > 0 else amin)(sum(a, axis=c, keepdims=True), axis=r, keepdims=True)
    else:
        _fail("linalg.norm", f"matrix norm ord={ord!r} is not supported (None, 'fro', 1, -1, inf, -inf; "
                             "2, -2 and 'nuc' need singular values)")
    return out if keepdims else squeeze(out, axis=tuple(sorted(axes)))


@_op
def solve_triangular(a, b, lower=False, trans=0, unit_diagonal=False) -> Tracer:
    """x with op(a) x = b for triangular a (scipy.linalg.solve_triangular's arguments: trans 0/'N',
    1/'T'); b (..., n) or (..., n, k), batch dims broadcast. Reads only a's triangle."""
    transpose_a = trans in (1, 2, "T", "C")
    if trans not in (0, 1, 2, "N", "T", "C"):
        _fail("linalg.solve_triangular", f"trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return _solve_left(a, b, lower, transpose_a, unit_diagonal, "solve_triangular", vector_if_1d=True)


def _solve_left(a, b, lower, transpose_a, unit_diagonal, name, vector_if_1d=False):
    a = _square(name, a)
    b = _as_tracer(b)
    dtype = _np.result_type(a.dtype, _float(name, b).dtype)
    a, b = asarray(a, dtype), asarray(b, dtype)
    vector = vector_if_1d and len(_shape(b)) == 1
    if vector:
        b = expand_dims(b, -1)
    sa, sb = _shape(a), _shape(b)
    if len(sb) < 2 or sb[-2] != sa[-1]:
        _fail(f"linalg.{name}", f"b must be (..., {sa[-1]}, k) for a of shape {sa}, got shape {sb}")
    batch = broadcast_shapes(sa[:-2], sb[:-2], name=f"linalg.{name}")
    x = _triangular_solve(broadcast_to(a, batch + sa[-2:]), broadcast_to(b, batch + sb[-2:]),
                          bool(lower), bool(transpose_a), bool(unit_diagonal))
    return squeeze(x, -1) if vector else x
