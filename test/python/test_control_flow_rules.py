"""Control flow, custom derivatives and checkpoint through every transform.

Against JAX in float64 where JAX can compute the same thing (cond, switch, scan,
fori_loop under jvp, vjp, grad, jacfwd, jacrev, hessian, vmap and vmap of grad); against
central finite differences where it cannot (reverse mode through while_loop, which JAX
refuses), and against loops of single examples under vmap.
"""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import lax

RNG = np.random.default_rng(11)


def central_difference(f, x, eps=1e-6):
    x = np.asarray(x, np.float64)
    g = np.zeros(x.shape + np.shape(f(x)))
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
    return g


# ---------------------------------------------------------------- programs, written once for tfn and JAX

def cond_program(np_, lax_, x):
    return lax_.cond(np_.sum(x) > 0, lambda v: np_.sin(v) * v, lambda v: v ** 3 - v, x)


def switch_program(np_, lax_, x):
    index = np_.clip(np_.floor(np_.sum(x) * 2.0), -1, 3).astype(np_.int32)
    branches = [lambda v: np_.sin(v), lambda v: v * v * 0.5, lambda v: np_.exp(v * 0.3) - v]
    return lax_.switch(index, branches, x)


def scan_program(np_, lax_, x):
    w = np_.cos(x) * 0.5    # closed over by the body: a const of the scan, differentiated too

    def step(carry, xi):
        c, s = carry
        c = np_.tanh(c * xi + np_.sum(w) * 0.2 + 0.3)
        return (c, s + c * c), c * xi
    (c, s), ys = lax_.scan(step, (x[0], x[1] * 0.0), x)
    return ys + c + s


def reverse_scan_program(np_, lax_, x):
    c, ys = lax_.scan(lambda c, xi: (np_.sin(c + xi), c * xi), x[2], x, reverse=True)
    return ys * c


def fori_program(np_, lax_, x):
    return lax_.fori_loop(0, 4, lambda i, v: v * np_.cos(v) + i * 0.1, x)


PROGRAMS = {"cond": cond_program, "switch": switch_program, "scan": scan_program,
            "reverse_scan": reverse_scan_program, "fori_loop": fori_program}


class numpy_lax:
    """The control-flow constructs as Python loops and branches on numpy values: the reference
    the programs above are checked against where JAX is not installed."""

    @staticmethod
    def cond(pred, true_fun, false_fun, *operands):
        return true_fun(*operands) if bool(pred) else false_fun(*operands)

    @staticmethod
    def switch(index, branches, *operands):
        return branches[int(np.clip(index, 0, len(branches) - 1))](*operands)

    @staticmethod
    def scan(f, init, xs, reverse=False):
        carry, ys = init, []
        for x in (xs[::-1] if reverse else xs):
            carry, y = f(carry, x)
            ys.append(y)
        ys = ys[::-1] if reverse else ys
        return carry, (None if ys and ys[0] is None else np.stack(ys))

    @staticmethod
    def fori_loop(lower, upper, body, init):
        for i in range(lower, upper):
            init = body(i, init)
        return init


@pytest.mark.parametrize("name", PROGRAMS)
def test_values_and_derivatives_match_python_loops_and_finite_differences(name):
    """What the JAX comparisons check, without JAX: numpy's loops and branches for the values,
    central differences for jvp and grad, a loop of single examples for vmap."""
    program = PROGRAMS[name]
    f = lambda x: program(tnp, lax, x)  # noqa: E731
    ref = lambda x: program(np, numpy_lax, np.asarray(x))  # noqa: E731
    t = np.array([0.5, -1.0, 2.0])
    for x in _inputs():
        np.testing.assert_allclose(tfn.jit(f)(x), ref(x), rtol=1e-12, atol=1e-12)
        jac = central_difference(ref, x)                       # [input, output]
        np.testing.assert_allclose(tfn.jvp(f, (x,), (t,))[1], t @ jac, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(tfn.jacrev(f)(x), jac.T, rtol=1e-6, atol=1e-8)
        loss = lambda x: tnp.sum(f(x) ** 2)  # noqa: E731
        np.testing.assert_allclose(tfn.grad(loss)(x), central_difference(lambda v: np.sum(ref(v) ** 2), x),
                                   rtol=1e-6, atol=1e-8)
    xs = np.stack(_inputs())
    np.testing.assert_allclose(tfn.vmap(f)(xs), np.stack([ref(x) for x in xs]), rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def jax_pair():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax, jax.numpy


def _inputs():
    return [np.array([0.3, -0.2, 0.5]), np.array([-0.7, -0.1, 0.2]), np.array([0.9, 0.4, 0.8])]


@pytest.mark.parametrize("name", PROGRAMS)
def test_values_jvp_vjp_and_jacobians_match_jax(name, jax_pair):
    jax, jnp = jax_pair
    program = PROGRAMS[name]
    f = lambda x: program(tnp, lax, x)  # noqa: E731
    g = lambda x: program(jnp, jax.lax, x)  # noqa: E731
    t = np.array([0.5, -1.0, 2.0])
    for x in _inputs():
        np.testing.assert_allclose(tfn.jit(f)(x), g(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tfn.jvp(f, (x,), (t,))[1], jax.jvp(g, (x,), (t,))[1], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(tfn.vjp(f, x)[1](t)[0], jax.vjp(g, x)[1](t)[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(tfn.jacrev(f)(x), jax.jacfwd(g)(x), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(tfn.jacfwd(f)(x), jax.jacfwd(g)(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", PROGRAMS)
def test_grad_hessian_and_vmap_match_jax(name, jax_pair):
    jax, jnp = jax_pair
    program = PROGRAMS[name]
    f = lambda x: tnp.sum(program(tnp, lax, x) ** 2)  # noqa: E731
    g = lambda x: jnp.sum(program(jnp, jax.lax, x) ** 2)  # noqa: E731
    xs = np.stack(_inputs())   # the predicates and indices differ per lane
    for x in xs:
        np.testing.assert_allclose(tfn.grad(f)(x), jax.grad(g)(x), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(tfn.hessian(f)(x), jax.hessian(g)(x), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(tfn.vmap(f)(xs), jax.vmap(g)(xs), rtol=1e-12)
    np.testing.assert_allclose(tfn.vmap(tfn.grad(f))(xs), jax.vmap(jax.grad(g))(xs), rtol=1e-10, atol=1e-12)
    # reverse over reverse: the transposed loops are themselves transposed
    np.testing.assert_allclose(tfn.jacrev(tfn.grad(f))(xs[0]), jax.hessian(g)(xs[0]), rtol=1e-9, atol=1e-11)


def test_an_unbatched_predicate_with_batched_operands_keeps_one_branch(jax_pair):
    jax, jnp = jax_pair

    def f(p, x):
        return lax.cond(p > 0, lambda v: tnp.sin(v), lambda v: tnp.cos(v) * v, x)

    def g(p, x):
        return jax.lax.cond(p > 0, lambda v: jnp.sin(v), lambda v: jnp.cos(v) * v, x)
    xs = RNG.standard_normal((4, 3))
    for p in (1.0, -1.0):
        np.testing.assert_allclose(tfn.vmap(f, in_dims=(None, 0))(p, xs), jax.vmap(g, in_axes=(None, 0))(p, xs))
        lowered = tfn.jit(tfn.vmap(f, in_dims=(None, 0))).lower(p, xs).as_text("tfn")
        assert '"tfn.switch"' in lowered     # not both branches and a select


# ---------------------------------------------------------------- while_loop in reverse mode

def newton_sqrt(a, y0):
    """sqrt(a) by Newton's method from y0: the trip count depends on a and y0."""
    return lax.while_loop(lambda y: tnp.abs(y * y - a) > 1e-13 * a, lambda y: y - (y * y - a) / (2.0 * y), y0)


def test_reverse_mode_through_a_newton_solver_matches_finite_differences():
    for a, y0 in [(2.0, 1.0), (50.0, 3.0), (0.3, 2.0)]:
        grads = tfn.grad(newton_sqrt, argnums=(0, 1))(a, y0)
        fd_a = central_difference(lambda v: tfn.jit(newton_sqrt)(float(v), y0), np.array(a))
        fd_y0 = central_difference(lambda v: tfn.jit(newton_sqrt)(a, float(v)), np.array(y0))
        np.testing.assert_allclose(grads[0], fd_a, rtol=1e-6)
        np.testing.assert_allclose(grads[1], fd_y0, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(grads[0], 0.5 / np.sqrt(a), rtol=1e-6)


def test_grad_of_grad_through_a_while_loop():
    f = lambda a: newton_sqrt(a, 1.0)  # noqa: E731
    for a in (2.0, 7.0):
        np.testing.assert_allclose(tfn.grad(tfn.grad(f))(a), -0.25 * a ** -1.5, rtol=1e-6)
        np.testing.assert_allclose(tfn.jvp(tfn.grad(f), (a,), (1.0,))[1], -0.25 * a ** -1.5, rtol=1e-6)


def adaptive_ode(k, y0, t_end=2.0):
    """y' = -k y + sin(t) by Heun's method with an embedded Euler error estimate: each step is
    accepted or rejected, and the next step size chosen, at run time."""
    def cond(state):
        t, y, h = state
        return t < t_end

    def body(state):
        t, y, h = state
        h = tnp.minimum(h, t_end - t)
        f0 = -k * y + tnp.sin(t)
        euler = y + h * f0
        f1 = -k * euler + tnp.sin(t + h)
        heun = y + 0.5 * h * (f0 + f1)
        err = tnp.abs(heun - euler) + 1e-12
        accept = err < 1e-4
        factor = tnp.clip(0.9 * tnp.sqrt(1e-4 / err), 0.3, 2.0)
        return (tnp.where(accept, t + h, t), tnp.where(accept, heun, y), h * factor)
    t, y, h = lax.while_loop(cond, body, (tnp.asarray(0.0), y0, tnp.asarray(0.1)))
    return y


def test_reverse_mode_through_an_adaptive_ode_integrator_matches_finite_differences():
    for k, y0 in [(1.5, 1.0), (4.0, -0.5)]:
        dk, dy0 = tfn.grad(adaptive_ode, argnums=(0, 1))(k, y0)
        fd_k = central_difference(lambda v: tfn.jit(adaptive_ode)(float(v), y0), np.array(k))
        fd_y0 = central_difference(lambda v: tfn.jit(adaptive_ode)(k, float(v)), np.array(y0))
        np.testing.assert_allclose(dk, fd_k, rtol=1e-6)
        np.testing.assert_allclose(dy0, fd_y0, rtol=1e-6)


def test_vmap_of_reverse_mode_while_with_a_trip_count_per_lane():
    a = np.array([2.0, 9.0, 1e4, 0.01])      # from y0 = 1: 4 to 14 Newton steps
    grads = tfn.vmap(tfn.grad(newton_sqrt), in_dims=(0, None))(a, 1.0)
    loop = [tfn.grad(newton_sqrt)(float(v), 1.0) for v in a]
    np.testing.assert_allclose(grads, loop, rtol=1e-12)
    np.testing.assert_allclose(grads, 0.5 / np.sqrt(a), rtol=1e-6)
    np.testing.assert_allclose(tfn.vmap(newton_sqrt, in_dims=(0, None))(a, 1.0), np.sqrt(a), rtol=1e-12)


def test_while_loop_beyond_its_checkpoint_slots_recomputes_and_stays_exact():
    from tfn.ops import control_flow
    n = 3 * control_flow.WHILE_CHECKPOINT_SLOTS + 7   # every carry cannot be recorded

    def f(x):
        i, y = lax.while_loop(lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] + 0.002 * tnp.cos(s[1] * x)), (0, x))
        return y
    np.testing.assert_allclose(tfn.grad(f)(0.4), central_difference(lambda v: tfn.jit(f)(float(v)), np.array(0.4)),
                               rtol=1e-6)


# ---------------------------------------------------------------- custom derivatives

def test_custom_vjp_gives_a_finite_gradient_where_the_plain_function_does_not():
    @tfn.custom_vjp
    def softplus(x):
        return tnp.log1p(tnp.exp(x))

    def fwd(x):
        return softplus(x), x

    def bwd(x, g):
        return (g * tnp.where(x > 0, 1.0 / (1.0 + tnp.exp(-x)), tnp.exp(x) / (1.0 + tnp.exp(x))),)
    softplus.defvjp(fwd, bwd)
    x = np.array([1000.0, 0.0, -3.0])
    plain = tfn.grad(lambda x: tnp.sum(tnp.log1p(tnp.exp(x))))(x)
    assert np.isnan(plain[0])
    safe = tfn.grad(lambda x: tnp.sum(softplus(x)))(x)
    np.testing.assert_allclose(safe, 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50))), rtol=1e-12)
    np.testing.assert_allclose(tfn.vmap(tfn.grad(softplus))(x), safe, rtol=1e-12)
    with pytest.raises(Exception, match="softplus.*forward-mode"):
        tfn.jvp(softplus, (x,), (np.ones(3),))


def test_implicit_differentiation_of_a_fixed_point_solver():
    """x* = cos(a x*): the solver's iterations are not differentiated; the backward pass
    solves the adjoint fixed point (1 - a sin(a x*)... ) by the implicit function theorem."""
    def solve(a):
        return lax.while_loop(lambda s: tnp.abs(tnp.cos(a * s[0]) - s[0]) > 1e-14,
                              lambda s: (tnp.cos(a * s[0]),), (tnp.asarray(0.5),))[0]

    @tfn.custom_vjp
    def fixed_point(a):
        return solve(a)

    def fwd(a):
        x = solve(a)
        return x, (a, x)

    def bwd(res, g):
        a, x = res
        # F(x, a) = cos(a x) - x = 0: dx/da = -F_a / F_x
        f_a, f_x = -x * tnp.sin(a * x), -a * tnp.sin(a * x) - 1.0
        return (g * (-f_a / f_x),)
    fixed_point.defvjp(fwd, bwd)
    for a in (0.5, 1.0):
        fd = central_difference(lambda v: tfn.jit(solve)(float(v)), np.array(a), eps=1e-6)
        np.testing.assert_allclose(tfn.grad(fixed_point)(a), fd, rtol=1e-6)


def test_custom_jvp_under_grad_jvp_and_vmap():
    @tfn.custom_jvp
    def f(x):
        return tnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return tnp.sin(x), 2.0 * tnp.cos(x) * t      # deliberately not sin's derivative
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(tfn.jvp(f, (x,), (np.ones(3),))[1], 2 * np.cos(x))
    np.testing.assert_allclose(tfn.grad(lambda v: tnp.sum(f(v)))(x), 2 * np.cos(x))
    np.testing.assert_allclose(tfn.vmap(tfn.grad(f))(x), 2 * np.cos(x))
    np.testing.assert_allclose(tfn.jacrev(f)(x), np.diag(2 * np.cos(x)))


# ---------------------------------------------------------------- checkpoint

def test_checkpointed_layers_halve_the_workspace_and_keep_the_gradient():
    depth, batch, width = 32, 256, 32
    ws = [(RNG.standard_normal((width, 4 * width)) / np.sqrt(width),
           RNG.standard_normal((4 * width, width)) / np.sqrt(4 * width)) for _ in range(depth)]
    x = RNG.standard_normal((batch, width))

    def layer(w, h):
        return h + tfn.nn.gelu(h @ w[0]) @ w[1]

    def loss(ws, x, remat):
        h = x
        for w in ws:
            h = (tfn.checkpoint(layer) if remat else layer)(w, h)
        return tnp.sum(h * h)
    plain, remat = (tfn.jit(tfn.grad(lambda ws, x, r=r: loss(ws, x, r))) for r in (False, True))
    plain_bytes = plain.lower(ws, x).stages["host_workspace_bytes"]
    remat_bytes = remat.lower(ws, x).stages["host_workspace_bytes"]
    assert remat_bytes <= plain_bytes / 2, (remat_bytes, plain_bytes)
    for a, b in zip(plain(ws, x), remat(ws, x)):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-12)


def test_per_sample_gradients_of_an_rnn_scan_match_jax(jax_pair):
    """A scan of matmuls under vmap(grad): the per-sample weight gradients are summed over the
    steps in the scan's carry (`tfn-accumulate-into-matmuls` makes that a gemm with beta = 1)."""
    jax, jnp = jax_pair
    hidden, features, steps, batch = 16, 8, 12, 5
    params = {"W": RNG.standard_normal((hidden, hidden)) / 4, "U": RNG.standard_normal((features, hidden)) / 3}
    xs = RNG.standard_normal((batch, steps, features))

    def loss(np_, scan, p, x):
        def body(h, xt):
            h = np_.tanh(h @ p["W"] + xt @ p["U"])
            return h, np_.sum(h * h)
        _, e = scan(body, np_.zeros(hidden), x)
        return np_.sum(e)
    got = tfn.vmap(tfn.grad(lambda p, x: loss(tnp, lax.scan, p, x)), in_dims=(None, 0))(params, xs)
    want = jax.vmap(jax.grad(lambda p, x: loss(jnp, jax.lax.scan, p, x)), in_axes=(None, 0))(params, xs)
    for k in params:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-12)
    loop = [tfn.grad(lambda p, x: loss(tnp, lax.scan, p, x))(params, x) for x in xs]
    np.testing.assert_allclose(got["W"], np.stack([g["W"] for g in loop]), rtol=1e-12)


def test_nested_loops_closures_and_integer_carries_match_jax(jax_pair):
    """Programs the way users write them: a scan inside a scan, a while loop with an integer
    counter, a switch whose branches close over batched values, scans over integer xs."""
    jax, jnp = jax_pair
    x = np.array([0.3, -0.4, 0.8])

    def nested(np_, lax_, x):
        def outer(c, xi):
            d, ys = lax_.scan(lambda d, xj: (np_.sin(d * xj + xi), d), c, x)
            return d + xi, ys.sum()
        c, ys = lax_.scan(outer, 0.1, x)
        return c * ys.sum()
    np.testing.assert_allclose(tfn.hessian(lambda x: nested(tnp, lax, x))(x),
                               jax.hessian(lambda x: nested(jnp, jax.lax, x))(x), rtol=1e-9, atol=1e-12)

    def counted(np_, lax_, x):
        i, y = lax_.while_loop(lambda s: s[1] < 3.0, lambda s: (s[0] + 1, s[1] * 1.7 + 0.1), (0, x))
        return y * i
    xs = np.array([0.1, 0.5, 2.9, 3.5])       # 0 to 6 steps per lane
    np.testing.assert_allclose(tfn.vmap(tfn.grad(lambda x: counted(tnp, lax, x)))(xs),
                               jax.vmap(jax.jacfwd(lambda x: counted(jnp, jax.lax, x)))(xs), rtol=1e-12)

    def switched(np_, lax_, x, k):
        return lax_.switch(k, [lambda v: v * x.sum(), lambda v: np_.cos(v), lambda v: v ** 2], x)
    X, ks = RNG.standard_normal((4, 3)), np.array([0, 2, 1, 5])
    np.testing.assert_allclose(tfn.vmap(tfn.grad(lambda x, k: tnp.sum(switched(tnp, lax, x, k))))(X, ks),
                               jax.vmap(jax.grad(lambda x, k: jnp.sum(switched(jnp, jax.lax, x, k))))(X, ks),
                               rtol=1e-12)

    def over_indices(np_, lax_, x):
        c, _ = lax_.scan(lambda c, i: (c * x[i] + i, None), 1.0, np_.arange(3))
        return c
    np.testing.assert_allclose(tfn.grad(lambda x: over_indices(tnp, lax, x))(x),
                               jax.grad(lambda x: over_indices(jnp, jax.lax, x))(x), rtol=1e-12)


def test_lax_map_is_a_scan_without_carry(jax_pair):
    jax, jnp = jax_pair
    xs = RNG.standard_normal((5, 3))
    f = lambda np_, lax_, w: lax_.map(lambda x: {"s": np_.sin(x * w).sum(), "x": x}, xs)  # noqa: E731
    got, want = f(tnp, lax, 0.7), f(jnp, jax.lax, 0.7)
    np.testing.assert_allclose(got["s"], want["s"], rtol=1e-12)
    np.testing.assert_allclose(tfn.grad(lambda w: tnp.sum(f(tnp, lax, w)["s"]))(0.7),
                               jax.grad(lambda w: jnp.sum(f(jnp, jax.lax, w)["s"]))(0.7), rtol=1e-12)
