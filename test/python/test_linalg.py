"""tfn.numpy.linalg and the ops under it (tfn.cholesky, tfn.triangular_solve, tfn.lu, tfn.qr, tfn.eigh).

Every function against numpy.linalg in float64 and float32 on well-conditioned random
matrices (n = 1, 2, 3, 5, 8 and a batch (4, 3, 3)); JVPs against finite differences; the
dot-product test for every vjp (so every transpose rule on the way); vmap against a loop;
gradients of slogdet, solve, inv and a Cholesky-based Gaussian log-likelihood against JAX;
a hessian through solve; errors and singular inputs.
"""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import ops
from tfn.frontend.tracer import value_of, wrap

from conftest import check_dot_product, loop_reference

pytestmark = pytest.mark.filterwarnings("ignore::tfn.RecompileWarning")
RNG = np.random.default_rng(0)
SHAPES = [(1, 1), (2, 2), (3, 3), (5, 5), (8, 8), (4, 3, 3)]


def _general(shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    n = shape[-1]
    return (rng.standard_normal(shape) + 2.0 * np.sqrt(n) * np.eye(n)).astype(dtype)   # well conditioned


def _spd(shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal(shape)
    return (m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def _tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)


def lu(a, part="factors"):
    return wrap(ops.lu(value_of(tnp.asarray(a)), part))


# ---------------------------------------------------------------- against numpy

FUNCTIONS = {  # name -> (tfn function, numpy function, input maker)
    "det": (tnp.linalg.det, np.linalg.det, _general),
    "slogdet": (lambda a: tnp.stack(tnp.linalg.slogdet(a)), lambda a: np.stack(np.linalg.slogdet(a)), _general),
    "inv": (tnp.linalg.inv, np.linalg.inv, _general),
    "solve matrix": (lambda a: tnp.linalg.solve(a, tnp.ones(a.shape[:-1] + (2,), a.dtype) * tnp.arange(2.0)
                                                .astype(a.dtype)),
                     lambda a: np.linalg.solve(a, np.ones(a.shape[:-1] + (2,), a.dtype) * np.arange(2.0)
                                               .astype(a.dtype)), _general),
    "solve vector": (lambda a: tnp.linalg.solve(a, tnp.arange(a.shape[-1]).astype(a.dtype)),
                     lambda a: np.linalg.solve(a, np.arange(a.shape[-1]).astype(a.dtype)), _general),
    "cholesky": (tnp.linalg.cholesky, np.linalg.cholesky, _spd),
    "norm": (tnp.linalg.norm, np.linalg.norm, _general),
    "norm fro": (lambda a: tnp.linalg.norm(a, "fro", axis=(-2, -1)),
                 lambda a: np.linalg.norm(a, "fro", axis=(-2, -1)), _general),
    "norm 1": (lambda a: tnp.linalg.norm(a, 1, axis=(-2, -1), keepdims=True),
               lambda a: np.linalg.norm(a, 1, axis=(-2, -1), keepdims=True), _general),
    "norm inf": (lambda a: tnp.linalg.norm(a, np.inf, axis=(-1, -2)),
                 lambda a: np.linalg.norm(a, np.inf, axis=(-1, -2)), _general),
    "norm vector": (lambda a: tnp.linalg.norm(a, axis=-1), lambda a: np.linalg.norm(a, axis=-1), _general),
    "norm vector 3": (lambda a: tnp.linalg.norm(a, 3, axis=0, keepdims=True),
                      lambda a: np.linalg.norm(a, 3, axis=0, keepdims=True), _general),
    "norm vector -inf": (lambda a: tnp.linalg.norm(a, -np.inf, axis=-2),
                         lambda a: np.linalg.norm(a, -np.inf, axis=-2), _general),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_against_numpy(name, shape, dtype):
    f, ref, make = FUNCTIONS[name]
    a = make(shape, dtype=dtype)
    out, expected = np.asarray(tfn.jit(f)(a)), ref(a)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **_tol(dtype))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_lu_parts_factor_the_permuted_matrix(shape):
    a = _general(shape) - 2.0 * np.sqrt(shape[-1]) * np.eye(shape[-1])   # pivoting does swap rows
    factors, pivots, perm = (np.asarray(x) for x in tfn.lax.linalg.lu(a))
    assert pivots.dtype == perm.dtype == np.int32
    n = shape[-1]
    low, up = np.tril(factors, -1) + np.eye(n), np.triu(factors)
    np.testing.assert_allclose(low @ up, np.take_along_axis(a, perm[..., None].astype(np.int64), -2), atol=1e-12)
    assert np.all(np.abs(np.tril(factors, -1)) <= 1.0 + 1e-12)      # partial pivoting: |L| <= 1
    swapped = np.broadcast_to(np.arange(n), perm.shape).copy()       # the pivots replayed give the permutation
    for k in range(n):
        i = pivots[..., k]
        for b in np.ndindex(perm.shape[:-1]):
            swapped[b + (k,)], swapped[b + (i[b],)] = swapped[b + (i[b],)], swapped[b + (k,)]
    np.testing.assert_array_equal(swapped, perm)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES + [(5, 3), (2, 8, 5)], ids=str)
def test_qr_against_numpy_up_to_signs(shape, dtype):
    a = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    q, r = (np.asarray(x) for x in tnp.linalg.qr(a))
    qn, rn = np.linalg.qr(a)
    assert q.dtype == r.dtype == dtype and q.shape == qn.shape and r.shape == rn.shape
    tol = _tol(dtype)
    np.testing.assert_allclose(q @ r, a, **tol)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(shape[-1]), r.shape), **tol)
    assert np.all(np.tril(r, -1) == 0) and np.all(np.diagonal(r, 0, -2, -1) >= 0)
    signs = np.sign(np.diagonal(rn, 0, -2, -1))[..., None]     # numpy's R = diag(signs) R
    np.testing.assert_allclose(signs * r, rn, **tol)
    np.testing.assert_allclose(np.asarray(tnp.linalg.qr(a, mode="r")), r, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_eigh_against_numpy(shape, dtype):
    m = np.random.default_rng(4).standard_normal(shape)
    a = (m + np.swapaxes(m, -1, -2)).astype(dtype)
    a_lower = (np.tril(a) + 7.0 * np.triu(np.ones(shape[-2:]), 1)).astype(dtype)   # only the lower triangle is read
    w, v = (np.asarray(x) for x in tnp.linalg.eigh(a_lower))
    wn, vn = np.linalg.eigh(a)
    assert w.dtype == v.dtype == dtype and w.shape == wn.shape and v.shape == vn.shape
    tol = _tol(dtype)
    np.testing.assert_allclose(w, wn, **tol)
    np.testing.assert_allclose(np.asarray(tnp.linalg.eigvalsh(a_lower)), w, rtol=0, atol=0)
    np.testing.assert_allclose(a @ v, v * w[..., None, :], **{**tol, "atol": 10 * tol["atol"]})
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(shape[-1]), v.shape), **tol)
    np.testing.assert_allclose(np.abs(v), np.abs(vn), **{**tol, "atol": 10 * tol["atol"]})
    w_upper, _ = tnp.linalg.eigh(np.swapaxes(a_lower, -1, -2), UPLO="U")
    np.testing.assert_allclose(w_upper, w, rtol=0, atol=0)


@pytest.mark.parametrize("left_side", [True, False])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("transpose_a", [True, False])
@pytest.mark.parametrize("unit_diagonal", [True, False])
def test_triangular_solve_against_numpy(left_side, lower, transpose_a, unit_diagonal):
    a = _general((4, 5, 5), seed=1)
    b = RNG.standard_normal((4, 5, 3) if left_side else (4, 3, 5))
    x = tfn.lax.linalg.triangular_solve(a, b, left_side=left_side, lower=lower, transpose_a=transpose_a,
                                        unit_diagonal=unit_diagonal)
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = t - np.eye(5) * t + np.eye(5)
    op = np.swapaxes(t, -1, -2) if transpose_a else t
    np.testing.assert_allclose(op @ x if left_side else x @ op, b, atol=1e-12)


def test_solve_triangular_helper_and_broadcasting():
    a = _general((5, 5), seed=2)
    b = RNG.standard_normal((3, 5))
    x = tnp.linalg.solve_triangular(a, b[0], lower=True)
    np.testing.assert_allclose(np.tril(a) @ x, b[0], atol=1e-12)
    x = tnp.linalg.solve_triangular(a, np.swapaxes(b, 0, 1), trans="T")
    np.testing.assert_allclose(np.triu(a).T @ x, b.T, atol=1e-12)
    # batch dims broadcast as numpy's solve
    a3 = _general((2, 1, 3, 3), seed=3)
    b3 = RNG.standard_normal((4, 3, 2))
    np.testing.assert_allclose(tnp.linalg.solve(a3, b3), np.linalg.solve(a3, b3), rtol=1e-10, atol=1e-12)
    # integer inputs compute in float64
    ai = np.array([[3, 1], [1, 2]])
    assert tnp.linalg.det(ai).dtype == np.float64
    np.testing.assert_allclose(tnp.linalg.inv(ai), np.linalg.inv(ai), rtol=1e-12)


# ---------------------------------------------------------------- derivatives

def _fd(f, args, tangents, eps=1e-6):
    fj = tfn.jit(f)
    plus = fj(*[a + eps * t for a, t in zip(args, tangents)])
    minus = fj(*[a - eps * t for a, t in zip(args, tangents)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


def _trisolve(lower, trans, unit):
    return lambda a, b: wrap(ops.triangular_solve(value_of(tnp.asarray(a)), value_of(tnp.asarray(b)),
                                                  lower, trans, unit))


DERIVATIVES = {  # name -> (f, argument makers); float64
    "cholesky": (lambda a: tnp.linalg.cholesky(a), [lambda: _spd((4, 4), 1)]),
    "cholesky batched": (lambda a: tnp.linalg.cholesky(a) ** 2, [lambda: _spd((2, 3, 3), 2)]),
    "triangular_solve lower": (_trisolve(True, False, False), [lambda: _general((4, 4), 3),
                                                               lambda: RNG.standard_normal((4, 2))]),
    "triangular_solve upper trans": (_trisolve(False, True, False), [lambda: _general((4, 4), 4),
                                                                     lambda: RNG.standard_normal((4, 3))]),
    "triangular_solve unit": (_trisolve(True, True, True), [lambda: _general((2, 3, 3), 5),
                                                            lambda: RNG.standard_normal((2, 3, 2))]),
    "triangular_solve upper unit": (_trisolve(False, False, True), [lambda: _general((3, 3), 6),
                                                                    lambda: RNG.standard_normal((3, 1))]),
    "lu factors": (lambda a: lu(a), [lambda: _general((4, 4), 7) - 4 * np.eye(4)]),
    "solve": (lambda a, b: tnp.linalg.solve(a, b), [lambda: _general((4, 4), 8), lambda: RNG.standard_normal((4, 2))]),
    "solve vector batched": (lambda a, b: tnp.linalg.solve(a, b), [lambda: _general((2, 3, 3), 9),
                                                                    lambda: RNG.standard_normal(3)]),
    "inv": (lambda a: tnp.linalg.inv(a), [lambda: _general((3, 3), 10) - 3 * np.eye(3)]),
    "det": (lambda a: tnp.linalg.det(a), [lambda: _general((4, 4), 11)]),
    "slogdet": (lambda a: tnp.linalg.slogdet(a)[1], [lambda: _general((2, 3, 3), 12) - 3 * np.eye(3)]),
    "qr q": (lambda a: tnp.linalg.qr(a)[0], [lambda: RNG.standard_normal((5, 3))]),
    "qr r": (lambda a: tnp.linalg.qr(a)[1], [lambda: RNG.standard_normal((2, 4, 4))]),
    "eigh": (lambda a: tnp.linalg.eigvalsh(a) * 2 + tnp.sum(tnp.linalg.eigh(a)[1] ** 2 * tnp.arange(4.0), axis=-1),
             [lambda: RNG.standard_normal((2, 4, 4))]),
    "norm": (lambda a: tnp.linalg.norm(a, axis=-1), [lambda: _general((4, 4), 13)[:3]]),
    "norm fro": (lambda a: tnp.linalg.norm(a, "fro", axis=(0, 1)), [lambda: _general((3, 3), 14)]),
}


def _derivative_args(name):
    return [make() for make in DERIVATIVES[name][1]]


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_jvp_matches_finite_differences(name):
    f = DERIVATIVES[name][0]
    args = _derivative_args(name)
    tangents = [RNG.standard_normal(np.shape(a)) for a in args]
    out, tout = tfn.jvp(f, tuple(args), tuple(tangents))
    np.testing.assert_allclose(out, tfn.jit(f)(*args), rtol=1e-12)
    np.testing.assert_allclose(tout, _fd(f, args, tangents), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_vjp_dot_product_test(name):
    check_dot_product(DERIVATIVES[name][0], _derivative_args(name), RNG)


def test_triangular_solve_transpose_in_b_is_the_flipped_solve():
    a, b = _general((4, 4), 15), RNG.standard_normal((4, 2))
    w = RNG.standard_normal((4, 2))
    for lower, trans, unit in [(True, False, False), (False, True, True)]:
        f = _trisolve(lower, trans, unit)
        _, vjp_fn = tfn.vjp(lambda b: f(a, b), b)
        (ct,) = vjp_fn(w)
        np.testing.assert_allclose(ct, np.asarray(tfn.jit(_trisolve(lower, not trans, unit))(a, w)), rtol=1e-12)
        text = tfn.jit(lambda b, w: tfn.vjp(lambda b: f(a, b), b)[1](w)).lower(b, w).as_text("tfn")
        assert '"tfn.lu"' not in text and '"tfn.dot_general"' not in text


jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


@pytest.mark.parametrize("name,f,jf", [
    ("slogdet", lambda a: tnp.linalg.slogdet(a)[1], lambda a: jnp.linalg.slogdet(a)[1]),
    ("inv", lambda a: tnp.sum(tnp.sin(tnp.linalg.inv(a))), lambda a: jnp.sum(jnp.sin(jnp.linalg.inv(a)))),
    ("det", lambda a: tnp.linalg.det(a) ** 2, lambda a: jnp.linalg.det(a) ** 2),
    # sign-invariant functions of eigenvectors, Q and R (their signs may differ from JAX's); eigh reads
    # a's lower triangle
    ("eigh", lambda a: tnp.sum(tnp.linalg.eigh(a)[1] ** 2 * tnp.arange(5.0)) + tnp.sum(tnp.linalg.eigvalsh(a) ** 3),
     lambda a: jnp.sum(jnp.linalg.eigh(jnp.tril(a) + jnp.tril(a, -1).T, symmetrize_input=False)[1] ** 2
                       * jnp.arange(5.0))
     + jnp.sum(jnp.linalg.eigvalsh(jnp.tril(a) + jnp.tril(a, -1).T) ** 3)),
    ("qr", lambda a: tnp.sum(tnp.linalg.qr(a)[1] ** 2 * tnp.arange(5.0)) + tnp.sum(
        tnp.sin(tnp.linalg.qr(a)[0] @ tnp.linalg.qr(a)[0].T)),
     lambda a: jnp.sum(jnp.linalg.qr(a)[1] ** 2 * jnp.arange(5.0)) + jnp.sum(
         jnp.sin(jnp.linalg.qr(a)[0] @ jnp.linalg.qr(a)[0].T))),
])
def test_grad_against_jax(name, f, jf):
    a = _general((5, 5), 16) - 4.0 * np.eye(5)
    np.testing.assert_allclose(tfn.grad(f)(a), jax.grad(jf)(a), rtol=1e-9, atol=1e-12)
    if name == "slogdet":
        np.testing.assert_allclose(tfn.grad(f)(a), np.linalg.inv(a).T, rtol=1e-10)


def test_grad_of_solve_in_a_and_b_against_jax():
    a, b = _general((2, 4, 4), 17), RNG.standard_normal((2, 4, 3))

    def loss(xp, solve):
        return lambda a, b: xp.sum(xp.tanh(solve(a, b)) * xp.arange(3.0))
    g = tfn.grad(loss(tnp, tnp.linalg.solve), argnums=(0, 1))(a, b)
    ref = jax.grad(loss(jnp, jnp.linalg.solve), argnums=(0, 1))(a, b)
    for x, r in zip(g, ref):
        np.testing.assert_allclose(x, r, rtol=1e-9, atol=1e-12)


def test_grad_of_a_gaussian_log_likelihood_against_jax():
    m, x = RNG.standard_normal((4, 4)), RNG.standard_normal((6, 4))

    def nll(xp, cholesky, solve_lower):
        def f(m, x):
            sigma = m @ m.T + 0.5 * xp.eye(4)
            low = cholesky(sigma)
            z = solve_lower(low, x.T)
            logdet = 2.0 * xp.sum(xp.log(xp.sum(low * xp.eye(4), axis=-1)))
            return 0.5 * xp.sum(z * z) + 0.5 * x.shape[0] * (logdet + 4 * np.log(2 * np.pi))
        return f
    ours = nll(tnp, tnp.linalg.cholesky, lambda l, b: tnp.linalg.solve_triangular(l, b, lower=True))
    theirs = nll(jnp, jnp.linalg.cholesky, lambda l, b: jax.scipy.linalg.solve_triangular(l, b, lower=True))
    np.testing.assert_allclose(tfn.jit(ours)(m, x), theirs(m, x), rtol=1e-12)
    for argnums in (0, 1):
        np.testing.assert_allclose(tfn.grad(ours, argnums=argnums)(m, x), jax.grad(theirs, argnums=argnums)(m, x),
                                   rtol=1e-9, atol=1e-12)


def test_hessian_through_solve_against_jax():
    a = _general((3, 3), 18)

    def f(xp):
        return lambda b: xp.sum(xp.linalg.solve(a + xp.outer(b, b), b) ** 2)
    b = RNG.standard_normal(3)
    np.testing.assert_allclose(tfn.hessian(f(tnp))(b), jax.hessian(f(jnp))(b), rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------- vmap against a loop

VMAPS = {  # name -> (f, in_dims, args)
    "cholesky": (tnp.linalg.cholesky, (1,), (np.moveaxis(_spd((3, 4, 4), 19), 0, 1),)),
    "triangular_solve batched a": (_trisolve(True, False, False), (0, None),
                                   (_general((3, 4, 4), 20), RNG.standard_normal((4, 2)))),
    "triangular_solve batched b": (_trisolve(False, True, False), (None, 2),
                                   (_general((4, 4), 21), RNG.standard_normal((4, 2, 3)))),
    "triangular_solve both": (_trisolve(False, False, True), (0, 0),
                              (_general((3, 2, 4, 4), 22), RNG.standard_normal((3, 2, 4, 1)))),
    "lu": (lambda a: lu(a), (2,), (np.moveaxis(_general((3, 4, 4), 23) - 4 * np.eye(4), 0, 2),)),
    "lu permutation": (lambda a: lu(a, "permutation"), (0,), (_general((3, 4, 4), 24) - 4 * np.eye(4),)),
    "det": (tnp.linalg.det, (0,), (_general((3, 2, 4, 4), 25),)),
    "qr": (lambda a: tnp.linalg.qr(a)[0], (1,), (RNG.standard_normal((5, 3, 4)),)),
    "eigvalsh": (tnp.linalg.eigvalsh, (2,), (RNG.standard_normal((4, 4, 3)),)),
    "solve a": (tnp.linalg.solve, (0, None), (_general((3, 4, 4), 26), RNG.standard_normal(4))),
    "solve b": (tnp.linalg.solve, (None, 1), (_general((4, 4), 27), RNG.standard_normal((4, 3, 2)))),
    "grad slogdet": (tfn.grad(lambda a: tnp.linalg.slogdet(a)[1]), (0,), (_general((3, 4, 4), 28),)),
}


@pytest.mark.parametrize("name", sorted(VMAPS))
def test_vmap_against_loop(name):
    f, in_dims, args = VMAPS[name]
    ref = loop_reference(tfn.jit(f), args, in_dims)
    out = np.asarray(tfn.vmap(f, in_dims=in_dims)(*args))
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14)


def test_vmap_moves_the_batch_dim_to_the_front_without_a_loop():
    text = tfn.jit(tfn.vmap(tnp.linalg.det, in_dims=1)).lower(np.ones((4, 3, 4))).as_text("tfn")
    assert text.count('"tfn.lu"') == 2 and "tensor<3x4x4xf64>" in text


# ---------------------------------------------------------------- errors and singular matrices

@pytest.mark.parametrize("name", ["det", "slogdet", "inv", "cholesky", "qr", "eigh"])
def test_non_square_input_names_the_function_and_shape(name):
    with pytest.raises(tfn.ShapeError, match=rf"linalg\.{name}.*\(2, 3\)"):
        getattr(tnp.linalg, name)(np.ones((2, 3)))


def test_other_errors_name_the_op_and_shapes():
    with pytest.raises(tfn.ShapeError, match=r"linalg\.solve.*\(4,\)"):
        tnp.linalg.solve(np.eye(3), np.ones(4))
    with pytest.raises(tfn.ShapeError, match=r"tfn\.cholesky.*\[2, 3\]"):
        tfn.jit(lambda x: wrap(ops.cholesky(value_of(x))))(np.ones((2, 3), np.float32))
    with pytest.raises(tfn.ShapeError, match=r"tfn\.triangular_solve.*b must have shape"):
        tfn.jit(lambda a, b: _trisolve(True, False, False)(a, b))(np.eye(3), np.ones((2, 1)))
    with pytest.raises(tfn.ShapeError, match=r"tfn\.lu.*int"):
        tfn.jit(lambda x: wrap(ops.lu(value_of(x), "factors")))(np.ones((2, 2), np.int32))
    with pytest.raises(tfn.ShapeError, match=r"lax\.linalg\.triangular_solve.*\(3, 3\).*\(2, 3\)"):
        tfn.lax.linalg.triangular_solve(np.eye(3), np.ones((2, 3)), left_side=True)
    with pytest.raises(tfn.ShapeError, match=r"linalg\.norm.*'nuc'"):
        tnp.linalg.norm(np.eye(3), "nuc")


def test_singular_matrices():
    s = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert float(tnp.linalg.det(s)) == 0.0 == np.linalg.det(s)
    sign, logdet = tnp.linalg.slogdet(np.stack([s, np.zeros((2, 2))]))
    np.testing.assert_array_equal(sign, [0.0, 0.0])
    np.testing.assert_array_equal(logdet, [-np.inf, -np.inf])
    # numpy raises LinAlgError; tfn divides by the zero pivot (documented)
    assert not np.all(np.isfinite(tnp.linalg.solve(s, np.ones(2))))
    assert not np.all(np.isfinite(tnp.linalg.inv(np.zeros((3, 3)))))
    assert np.isnan(tnp.linalg.cholesky(-np.eye(2))).any()
