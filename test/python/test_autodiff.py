"""Autodiff: per-op JVPs against finite differences, VJPs by the dot-product test,
the torch.func API, higher order, and models against f64 finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import nn
from tfn import ops
from tfn.autodiff import JVP_RULES, NO_DERIVATIVE, TRANSPOSE_RULES

RNG = np.random.default_rng(0)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def normal(*shape):
    return RNG.standard_normal(shape)


def distinct(*shape):
    # Values far apart, so max/min/sort-like ops have no ties near the point.
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.37 + 0.1).reshape(shape)


# name -> (function of float64 arrays, argument factories); covers every tfn op family.
OP_SPECS = {
    "neg": (lambda x: -x, [lambda: normal(3, 2)]),
    "exp": (tnp.exp, [lambda: normal(4)]),
    "log": (tnp.log, [lambda: positive(4)]),
    "log1p": (tnp.log1p, [lambda: positive(4)]),
    "expm1": (tnp.expm1, [lambda: normal(4)]),
    "sin": (tnp.sin, [lambda: normal(2, 3)]),
    "cos": (tnp.cos, [lambda: normal(2, 3)]),
    "tanh": (tnp.tanh, [lambda: normal(5)]),
    "erf": (tnp.erf, [lambda: normal(5)]),
    "gelu": (nn.gelu, [lambda: normal(5)]),
    "logistic": (nn.sigmoid, [lambda: normal(5)]),
    "sqrt": (tnp.sqrt, [lambda: positive(5)]),
    "rsqrt": (tnp.rsqrt, [lambda: positive(5)]),
    "abs": (tnp.abs, [lambda: distinct(5) - 1.0]),
    "sign": (lambda x: tnp.sign(x) * x, [lambda: distinct(5) - 1.0]),
    # Finite differences see through stop_gradient, so its input must not matter.
    "stop_gradient": (lambda x: tnp.stop_gradient(tnp.sin(x)) * 0.0 + x * 3.0, [lambda: normal(3)]),
    "add": (lambda a, b: a + b, [lambda: normal(2, 3), lambda: normal(3)]),
    "sub": (lambda a, b: a - b, [lambda: normal(2, 3), lambda: normal(2, 1)]),
    "mul": (lambda a, b: a * b, [lambda: normal(2, 3), lambda: normal(2, 3)]),
    "div": (lambda a, b: a / b, [lambda: normal(4), lambda: positive(4)]),
    "pow": (lambda a, b: a ** b, [lambda: positive(4), lambda: normal(4)]),
    "max": (tnp.maximum, [lambda: distinct(4), lambda: distinct(4) + 0.05]),
    "min": (tnp.minimum, [lambda: distinct(4), lambda: distinct(4) + 0.05]),
    "select": (lambda a, b: tnp.where(a > b, a * b, a - b), [lambda: distinct(6), lambda: distinct(6) + 0.05]),
    "convert": (lambda x: tnp.asarray(tnp.asarray(x, np.float32), np.float64) * x, [lambda: normal(3)]),
    "broadcast_in_dim": (lambda x: tnp.broadcast_to(x, (3, 2, 4)) * 1.5, [lambda: normal(2, 1)]),
    "reshape": (lambda x: tnp.reshape(x, (3, 2)) ** 2, [lambda: normal(2, 3)]),
    "transpose": (lambda x: tnp.transpose(x, (2, 0, 1)) * tnp.arange(2.0), [lambda: normal(3, 2, 4)[:, :, :2]]),
    "slice": (lambda x: x[1:5:2, ::3] ** 2, [lambda: normal(6, 7)]),
    "concatenate": (lambda a, b: tnp.concatenate([a, b * b, a], axis=1), [lambda: normal(2, 3), lambda: normal(2, 2)]),
    "pad": (lambda x: tnp.pad(x * x, ((1, 2), (0, 1)), constant_values=0.5), [lambda: normal(2, 3)]),
    "dot_general": (lambda a, b: tnp.einsum("bij,bjk->bik", a, b), [lambda: normal(2, 3, 4), lambda: normal(2, 4, 5)]),
    "matmul": (lambda a, b: tnp.tanh(a @ b), [lambda: normal(3, 4), lambda: normal(4, 2)]),
    "conv_general_dilated": (lambda x, w: tfn.lax.conv_general_dilated(
        x, w, (2, 1), [(1, 0), (0, 1)], rhs_dilation=(1, 2), feature_group_count=2),
        [lambda: normal(2, 4, 5, 6), lambda: normal(4, 2, 2, 2)]),
    "reduce_sum": (lambda x: tnp.sum(x * x, axis=(0, 2)), [lambda: normal(2, 3, 4)]),
    "reduce_max": (lambda x: tnp.max(x, axis=1), [lambda: distinct(3, 4)]),
    "reduce_min": (lambda x: tnp.min(x, axis=0), [lambda: distinct(3, 4)]),
    "reduce_prod": (lambda x: tnp.prod(x, axis=-1), [lambda: positive(3, 4)]),
    "compare": (lambda x: tnp.where(x > 0.0, x, 0.0) * tnp.asarray(x > 0.5, np.float64), [lambda: distinct(5) - 1.0]),
    "iota_constant": (lambda x: x * tnp.arange(4.0) + tnp.ones(4), [lambda: normal(4)]),
    "logsumexp": (lambda x: nn.logsumexp(x, axis=-1), [lambda: normal(3, 5)]),
    "softmax": (lambda x: nn.softmax(x), [lambda: normal(2, 5)]),
    "var": (lambda x: tnp.var(x, axis=0), [lambda: normal(4, 3)]),
    "gather": (lambda x: tnp.sin(x[np.array([2, 0, 2, -1])]), [lambda: normal(4, 3)]),
    "scatter": (lambda x, v: x.at[np.array([1, 3, 1])].add(v * v).at[np.array([0, 0])].set(v[:2] * 2.0),
                [lambda: normal(4, 3), lambda: normal(3, 3)]),
    # composites of the ops above (tfn.numpy's flip, roll, tile, repeat, triangles, diagonals,
    # scans, sorting network, einsum with diagonals and three operands)
    "flip_roll": (lambda x: tnp.flip(x, 0) * tnp.roll(x, (1, -2), (0, 1)), [lambda: normal(3, 4)]),
    "tile_repeat": (lambda x: tnp.tile(x, (1, 2)) ** 2 * tnp.repeat(x, 2, 1) + tnp.repeat(x, [2, 0, 1, 1], 1).sum(),
                    [lambda: normal(3, 4)]),
    "tril_triu": (lambda x: tnp.tril(x * x, 1) - tnp.triu(x, -1), [lambda: normal(2, 4, 3)]),
    "diagonal_trace": (lambda x: tnp.diagonal(x, 1, 0, 2) * tnp.trace(x * x, axis1=0, axis2=2).sum(), [lambda: normal(3, 2, 4)]),
    "diag": (lambda v: tnp.diag(tnp.sin(v), -1)[1:, :4] @ tnp.diag(tnp.diag(v[:, None] * v)), [lambda: normal(4)]),
    "cumsum": (lambda x: tnp.cumsum(x * x, 1) + tfn.lax.cumsum(x, 0, reverse=True), [lambda: normal(3, 7)]),
    "cumprod": (lambda x: tnp.cumprod(x, 1), [lambda: normal(2, 6)]),
    "cumprod_zero": (lambda x: tnp.cumprod(x * np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0]), 0)
                     + tfn.lax.cumprod(x * (x > 10.0), 0, reverse=True), [lambda: normal(6)]),
    "cummax_cummin": (lambda x: tfn.lax.cummax(x, 1) * tfn.lax.cummin(x, 0, reverse=True),
                      [lambda: distinct(3, 5)]),
    "sort": (lambda x: tnp.sort(x, 0) * tnp.arange(1.0, 6.0)[:, None] + tnp.sort(x, axis=None)[:3].sum(),
             [lambda: distinct(5, 3)]),
    "top_k": (lambda x: tfn.lax.top_k(tnp.tanh(x), 3)[0], [lambda: distinct(2, 7)]),
    "einsum_diagonal": (lambda a, b, c: tnp.einsum("iij,jk,k...->i...", a, b, c) + tnp.einsum("ii", a[..., 0]),
                        [lambda: normal(3, 3, 2), lambda: normal(2, 4), lambda: normal(4, 2)]),
}


def _inputs(spec):
    return [make() for make in spec[1]]


def _finite_difference(f, args, tangents, eps=1e-6):
    fj = tfn.jit(f)
    plus = fj(*[a + eps * t for a, t in zip(args, tangents)])
    minus = fj(*[a - eps * t for a, t in zip(args, tangents)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


# A round trip through float32 is only differentiable by finite differences with a
# step far above float32's rounding; the function is quadratic, so the step costs nothing.
FD_STEP = {"convert": (1e-3, 1e-3)}


@pytest.mark.parametrize("name", sorted(OP_SPECS))
def test_jvp_matches_finite_differences(name):
    f, _ = OP_SPECS[name]
    args = _inputs(OP_SPECS[name])
    tangents = [normal(*np.shape(a)) for a in args]
    out, tout = tfn.jvp(f, tuple(args), tuple(tangents))
    np.testing.assert_allclose(out, tfn.jit(f)(*args), rtol=1e-12, atol=1e-12)
    eps, rtol = FD_STEP.get(name, (1e-6, 1e-6))
    np.testing.assert_allclose(tout, _finite_difference(f, args, tangents, eps), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("name", sorted(OP_SPECS))
def test_vjp_dot_product_test(name):
    # <J v, w> = <v, J^T w> ties reverse mode to forward mode exactly (up to rounding).
    f, _ = OP_SPECS[name]
    args = _inputs(OP_SPECS[name])
    v = [normal(*np.shape(a)) for a in args]
    out, jv = tfn.jvp(f, tuple(args), tuple(v))
    w = normal(*np.shape(out))
    out2, vjp_fn = tfn.vjp(f, *args)
    jtw = vjp_fn(w)
    np.testing.assert_allclose(out2, out, rtol=1e-12)
    lhs = float(np.sum(np.asarray(jv) * w))
    rhs = sum(float(np.sum(vi * ji)) for vi, ji in zip(v, jtw))
    # Through float32 the tangent and the cotangent are rounded differently: each product is off
    # by ~1e-7 of itself, so the bound scales with the sum of their magnitudes (the sums may cancel).
    scale = float(np.sum(np.abs(np.asarray(jv) * w)))
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-6 * scale if name == "convert" else 1e-12)


def test_every_op_has_a_derivative_rule_or_a_reasoned_exemption():
    missing = [f"tfn.{n}" for n in ops.ALL_OPS if f"tfn.{n}" not in JVP_RULES and f"tfn.{n}" not in NO_DERIVATIVE]
    assert missing == []
    for name, reason in NO_DERIVATIVE.items():
        assert len(reason) > 10, name


def test_every_op_a_jvp_rule_emits_on_tangents_can_be_transposed():
    # Tangent programs are made of these ops (see the JVP rules); all are linear.
    linear_ops = ["add", "sub", "neg", "mul", "div", "select", "convert", "broadcast_in_dim", "reshape",
                  "transpose", "slice", "concatenate", "pad", "reduce_sum", "dot_general", "conv_general_dilated"]
    assert [n for n in linear_ops if f"tfn.{n}" not in TRANSPOSE_RULES] == []


# ---------------------------------------------------------------- API


def test_grad_argnums_tuple_and_pytrees():
    def f(params, x, scale):
        return tnp.sum(tnp.tanh(params["w"] @ x + params["b"])) * scale

    params = {"w": normal(3, 4), "b": normal(3)}
    x = normal(4)
    g_params, g_x = tfn.grad(f, argnums=(0, 1))(params, x, 2.0)
    assert set(g_params) == {"w", "b"}
    pre = params["w"] @ x + params["b"]
    d = 2.0 * (1 - np.tanh(pre) ** 2)
    np.testing.assert_allclose(g_params["b"], d, rtol=1e-12)
    np.testing.assert_allclose(g_params["w"], np.outer(d, x), rtol=1e-12)
    np.testing.assert_allclose(g_x, params["w"].T @ d, rtol=1e-12)
    g_neg = tfn.grad(f, argnums=-2)(params, x, 2.0)
    np.testing.assert_allclose(g_neg, g_x, rtol=1e-12)


def test_grad_and_value_with_aux():
    def f(x):
        return tnp.sum(x ** 2), {"mean": tnp.mean(x)}

    g, (value, aux) = tfn.grad_and_value(f, has_aux=True)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0])
    assert float(value) == 14.0 and float(aux["mean"]) == 2.0
    g2, aux2 = tfn.grad(f, has_aux=True)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g2, g)
    assert float(aux2["mean"]) == 2.0


def test_vjp_and_jvp_with_pytrees_and_aux():
    def f(p):
        return {"y": p[0] * p[1], "z": tnp.sin(p[0])}, p[1] * 10.0

    p = (np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    out, vjp_fn, aux = tfn.vjp(f, p, has_aux=True)
    np.testing.assert_allclose(aux, [30.0, 40.0])
    (ct,) = vjp_fn({"y": np.ones(2), "z": np.ones(2)})
    np.testing.assert_allclose(ct[0], p[1] + np.cos(p[0]))
    np.testing.assert_allclose(ct[1], p[0])
    t = (np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    out2, tout, aux2 = tfn.jvp(f, (p,), (t,), has_aux=True)
    np.testing.assert_allclose(tout["y"], [3.0, 2.0])
    np.testing.assert_allclose(tout["z"], [np.cos(1.0), 0.0])
    np.testing.assert_allclose(out2["y"], out["y"])


def test_linearize_reuses_the_point():
    out, jvp_fn = tfn.linearize(lambda x: tnp.exp(x) * 2.0, np.array([0.0, 1.0]))
    np.testing.assert_allclose(out, 2 * np.exp([0.0, 1.0]))
    np.testing.assert_allclose(jvp_fn(np.array([1.0, 1.0])), 2 * np.exp([0.0, 1.0]))
    np.testing.assert_allclose(jvp_fn(np.array([0.0, 3.0])), [0.0, 6 * np.e])


def test_stop_gradient_blocks_the_gradient():
    g = tfn.grad(lambda x: tnp.sum(x * tfn.stop_gradient(x)))(np.array([2.0, 3.0]))
    np.testing.assert_allclose(g, [2.0, 3.0])


def test_transforms_inside_jit_with_closures():
    @tfn.jit
    def step(w, x):
        loss = lambda w: tnp.sum((x @ w) ** 2)
        return w - 0.1 * tfn.grad(loss)(w)

    w, x = normal(3, 2), normal(4, 3)
    expected = w - 0.1 * (2 * x.T @ (x @ w))
    np.testing.assert_allclose(step(w, x), expected, rtol=1e-12)
    text = step.lower(w, x).as_text("tfn")
    assert "tfn.grad" not in text and "tfn.dot_general" in text


# ---------------------------------------------------------------- higher order


def test_sort_and_scan_jacobians_forward_equal_reverse():
    """jacfwd and jacrev of the composites agree (tangent programs transposed exactly)."""
    x = distinct(6) - 1.0
    x[2] = 0.0
    for f in (lambda v: tnp.cumprod(v), lambda v: tnp.sort(v * v), lambda v: tfn.lax.top_k(v, 4)[0],
              lambda v: tnp.einsum("ii->i", tnp.outer(v, tnp.cumsum(v))), lambda v: tfn.lax.cummax(v)):
        np.testing.assert_allclose(tfn.jacfwd(f)(x), tfn.jacrev(f)(x), rtol=1e-12, atol=1e-12)


def test_cumprod_gradient_with_zeros_is_the_product_of_the_others():
    x = np.array([2.0, 0.0, 3.0, 0.5, 4.0])
    g = tfn.grad(lambda v: tnp.sum(tnp.cumprod(v)))(x)
    expected = [sum(np.prod(np.delete(x[:k + 1], i)) for k in range(i, len(x))) for i in range(len(x))]
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    assert np.all(np.isfinite(tfn.hessian(lambda v: tnp.cumprod(v)[-1])(x)))


def test_third_derivative():
    d3 = tfn.grad(tfn.grad(tfn.grad(lambda x: tnp.sin(x) * x)))
    x = 0.7
    expected = -3 * np.sin(x) - x * np.cos(x)
    assert float(d3(np.array(x))) == pytest.approx(expected, rel=1e-12)


def test_jvp_of_vjp():
    f = lambda x: tnp.tanh(x) * x
    x, v, w = normal(3), normal(3), normal(3)

    def vjp_w(x):
        return tfn.vjp(f, x)[1](w)[0]

    _, hvp = tfn.jvp(vjp_w, (x,), (v,))
    t = np.tanh(x)
    second = 2 * (1 - t ** 2) - 2 * x * t * (1 - t ** 2)
    np.testing.assert_allclose(hvp, w * second * v, rtol=1e-10)


def test_hessian_is_jacfwd_of_jacrev():
    a = normal(4, 4)
    f = lambda x: tnp.sum(tnp.tanh(a @ x))
    x = normal(4)
    h = tfn.hessian(f)(x)
    t = np.tanh(a @ x)
    expected = a.T @ np.diag(-2 * t * (1 - t ** 2)) @ a
    np.testing.assert_allclose(h, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tfn.jacrev(tfn.jacrev(f))(x), expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- models against finite differences


def _fd_gradient(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def _mlp_loss(w1, b1, w2, b2, x, y):
    h = tnp.tanh(x @ w1 + b1)
    return -tnp.mean(tnp.sum(nn.log_softmax(h @ w2 + b2) * y, axis=-1))


def test_mlp_softmax_cross_entropy_gradients():
    w1, b1, w2, b2 = normal(5, 4), normal(4), normal(4, 3), normal(3)
    x, y = normal(6, 5), np.eye(3)[RNG.integers(0, 3, 6)]
    grads = tfn.grad(_mlp_loss, argnums=(0, 1, 2, 3))(w1, b1, w2, b2, x, y)
    loss = tfn.jit(_mlp_loss)
    for k, (arg, g) in enumerate(zip((w1, b1, w2, b2), grads)):
        def f(v, k=k):
            args = [w1, b1, w2, b2]
            args[k] = v
            return float(loss(*args, x, y))
        np.testing.assert_allclose(g, _fd_gradient(f, arg), rtol=1e-6, atol=1e-8)


def test_logsumexp_jacobians_and_hessian():
    x = normal(5)
    p = np.exp(x - x.max())
    p /= p.sum()
    lse = lambda x: nn.logsumexp(x)
    np.testing.assert_allclose(tfn.grad(lse)(x), p, rtol=1e-12)
    np.testing.assert_allclose(tfn.jacfwd(lse)(x), p, rtol=1e-12)
    np.testing.assert_allclose(tfn.jacrev(lse)(x), p, rtol=1e-12)
    np.testing.assert_allclose(tfn.hessian(lse)(x), np.diag(p) - np.outer(p, p), rtol=1e-9, atol=1e-12)


def test_tanh_network_jacobians_against_finite_differences():
    w1, w2 = normal(6, 3), normal(2, 6)
    net = lambda x: w2 @ tnp.tanh(w1 @ x)
    x = normal(3)
    f = tfn.jit(net)
    fd = np.stack([_fd_gradient(lambda v: float(f(v)[i]), x) for i in range(2)])
    np.testing.assert_allclose(tfn.jacrev(net)(x), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tfn.jacfwd(net)(x), fd, rtol=1e-6, atol=1e-8)
    scalar = lambda x: tnp.sum(net(x) ** 2)
    g = tfn.jit(tfn.grad(scalar))
    fd_h = np.stack([_fd_gradient(lambda v: float(g(v)[i]), x) for i in range(3)])
    np.testing.assert_allclose(tfn.hessian(scalar)(x), fd_h, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- errors


def test_grad_of_integer_input_names_the_function():
    def count(x):
        return tnp.sum(x * 1.0)
    with pytest.raises(TypeError, match=r"(?s)grad\(count\).*int64.*test_autodiff.py"):
        tfn.grad(count)(np.arange(3))


def test_grad_of_non_scalar_output():
    def vector_valued(x):
        return x * 2.0
    with pytest.raises(TypeError, match=r"(?s)grad\(vector_valued\).*0-d.*test_autodiff.py:\d+"):
        tfn.grad(vector_valued)(np.ones(3))


def test_has_aux_needs_a_pair():
    def no_pair(x):
        return tnp.sum(x)
    with pytest.raises(TypeError, match=r"has_aux=True needs f to return a pair"):
        tfn.grad(no_pair, has_aux=True)(np.ones(3))


def test_missing_rule_is_a_clear_error(monkeypatch):
    monkeypatch.delitem(JVP_RULES, "tfn.tanh")
    def uses_tanh(x):
        return tnp.sum(tnp.tanh(x))
    with pytest.raises(NotImplementedError,
                       match=r"JVP rule for 'tfn.tanh' not implemented \(differentiating @uses_tanh, at .*test_autodiff.py"):
        tfn.grad(uses_tanh)(np.ones(2))


def test_cross_entropy_with_integer_labels():
    # take_along_axis selects through a one-hot mask, so it has a gradient and a batching rule for free.
    logits, labels = normal(6, 4), RNG.integers(0, 4, 6)
    ce = lambda z, y: -tnp.mean(tnp.take_along_axis(nn.log_softmax(z), y[:, None], 1))
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(tfn.grad(ce)(logits, labels), (p - np.eye(4)[labels]) / 6, rtol=1e-12, atol=1e-15)
    per_example = tfn.vmap(lambda z, y: -tnp.take(nn.log_softmax(z), y))(logits, labels)
    np.testing.assert_allclose(per_example, -np.log(p[np.arange(6), labels]), rtol=1e-12)


def test_jacobians_with_aux():
    x = normal(3)
    f = lambda a: (tnp.sin(a) * 2.0, {"total": tnp.sum(a)})
    for jac in (tfn.jacfwd, tfn.jacrev):
        j, aux = jac(f, has_aux=True)(x)
        np.testing.assert_allclose(j, np.diag(2 * np.cos(x)), rtol=1e-12, atol=1e-15)
        assert float(aux["total"]) == pytest.approx(x.sum(), rel=1e-12)


def test_missing_transpose_rule_names_the_function(monkeypatch):
    monkeypatch.delitem(TRANSPOSE_RULES, "tfn.mul")

    def scaled(x):
        return tnp.sum(x * 3.0)
    with pytest.raises(NotImplementedError,
                       match=r"transpose rule for 'tfn.mul' not implemented \(differentiating @scaled, at .*test_autodiff.py"):
        tfn.grad(scaled)(np.ones(2))
