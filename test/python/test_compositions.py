"""Compositions of transforms, all expanded in the IR: batched Jacobians and Hessians,
and a MAML meta-gradient (grad of vmap of an inner grad step)."""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn.frontend import pytree

RNG = np.random.default_rng(7)


def _net(w, x):
    return tnp.tanh(w @ x) * 0.5 + tnp.sin(x[:3])


def test_vmap_of_jacrev_and_jacfwd_match_a_loop():
    w = RNG.standard_normal((3, 5))
    xs = RNG.standard_normal((4, 5))
    f = lambda x: _net(w, x)
    batched_rev = tfn.vmap(tfn.jacrev(f))(xs)
    batched_fwd = tfn.vmap(tfn.jacfwd(f))(xs)
    loop = np.stack([tfn.jacrev(f)(x) for x in xs])
    assert batched_rev.shape == (4, 3, 5)
    np.testing.assert_allclose(batched_rev, loop, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(batched_fwd, loop, rtol=1e-12, atol=1e-14)


def test_vmap_of_hessian_matches_a_loop_and_the_closed_form():
    w = RNG.standard_normal((6, 4))
    xs = RNG.standard_normal((5, 4))
    f = lambda x: tnp.sum(tnp.tanh(w @ x))
    batched = tfn.jit(tfn.vmap(tfn.hessian(f)))(xs)
    for x, h in zip(xs, batched):
        t = np.tanh(w @ x)
        np.testing.assert_allclose(h, w.T @ np.diag(-2 * t * (1 - t ** 2)) @ w, rtol=1e-10, atol=1e-12)


def test_jacrev_with_respect_to_a_batched_weight_argument():
    # vmap over the weights (an ensemble of Jacobians): in_dims picks the argument.
    ws = RNG.standard_normal((3, 2, 4))
    x = RNG.standard_normal(4)
    jac = tfn.vmap(tfn.jacrev(lambda w, x: tnp.tanh(w @ x), argnums=0), in_dims=(0, None))(ws, x)
    for w, j in zip(ws, jac):
        t = np.tanh(w @ x)
        expected = np.einsum("i,ij,k->ijk", 1 - t ** 2, np.eye(2), x)
        np.testing.assert_allclose(j, expected, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- MAML

def _mlp(params, x):
    (w1, b1), (w2, b2) = params
    return tnp.tanh(x @ w1 + b1) @ w2 + b2


def _mse(params, x, y):
    return tnp.mean((_mlp(params, x) - y) ** 2)


def _adapted(params, x, y, lr=0.1):
    grads = tfn.grad(_mse)(params, x, y)
    return tfn.tree_map(lambda p, g: p - lr * g, params, grads)


def _meta_loss(params, xs, ys, xq, yq):
    def task_loss(xs, ys, xq, yq):
        return _mse(_adapted(params, xs, ys), xq, yq)
    return tnp.mean(tfn.vmap(task_loss)(xs, ys, xq, yq))


def _maml_problem(tasks=4, shots=5, hidden=6):
    params = ((RNG.standard_normal((1, hidden)) * 0.5, RNG.standard_normal(hidden) * 0.1),
              (RNG.standard_normal((hidden, 1)) * 0.5, RNG.standard_normal(1) * 0.1))
    amp, phase = RNG.uniform(0.5, 2, tasks), RNG.uniform(0, np.pi, tasks)
    xs, xq = RNG.uniform(-3, 3, (tasks, shots, 1)), RNG.uniform(-3, 3, (tasks, shots, 1))
    ys = amp[:, None, None] * np.sin(xs + phase[:, None, None])
    yq = amp[:, None, None] * np.sin(xq + phase[:, None, None])
    return params, xs, ys, xq, yq


def test_maml_meta_gradient_matches_finite_differences():
    params, xs, ys, xq, yq = _maml_problem()
    meta_grad = tfn.jit(tfn.grad(_meta_loss))(params, xs, ys, xq, yq)
    loss = tfn.jit(_meta_loss)
    leaves, tree = pytree.flatten(params)
    grads = pytree.tree_leaves(meta_grad)
    eps = 1e-6
    for k, leaf in enumerate(leaves):
        fd = np.zeros_like(leaf)
        for i in np.ndindex(leaf.shape):
            plus = [l.copy() for l in leaves]
            minus = [l.copy() for l in leaves]
            plus[k][i] += eps
            minus[k][i] -= eps
            fd[i] = (float(loss(pytree.unflatten(tree, plus), xs, ys, xq, yq))
                     - float(loss(pytree.unflatten(tree, minus), xs, ys, xq, yq))) / (2 * eps)
        np.testing.assert_allclose(grads[k], fd, rtol=1e-6, atol=1e-8)


def test_maml_meta_gradient_matches_a_loop_over_tasks():
    params, xs, ys, xq, yq = _maml_problem(tasks=3)
    batched = tfn.grad(_meta_loss)(params, xs, ys, xq, yq)

    def looped(params):
        total = 0.0
        for t in range(3):
            total = total + _mse(_adapted(params, xs[t], ys[t]), xq[t], yq[t])
        return total / 3
    loop = tfn.grad(looped)(params)
    for a, b in zip(tfn.tree_leaves(batched), tfn.tree_leaves(loop)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_maml_ir_has_no_transform_ops_left():
    params, xs, ys, xq, yq = _maml_problem(tasks=2)
    text = tfn.jit(tfn.grad(_meta_loss)).lower(params, xs, ys, xq, yq).as_text("tfn")
    for op in ("tfn.grad", "tfn.vmap", "tfn.vjp", "tfn.jvp", "call_indirect"):
        assert op not in text


# ---------------------------------------------------------------- every op through the compositions

from test_autodiff import OP_SPECS  # noqa: E402 - the per-op table of the autodiff tests


@pytest.mark.parametrize("name", sorted(OP_SPECS))
def test_forward_and_reverse_jacobians_agree_and_vmap_of_grad_is_a_loop(name):
    f, makers = OP_SPECS[name]
    args = [make() for make in makers]
    # Through float32 the tangent and the cotangent are rounded differently.
    rtol = 1e-6 if name == "convert" else 1e-9
    for k in range(len(args)):
        np.testing.assert_allclose(tfn.jacfwd(f, argnums=k)(*args), tfn.jacrev(f, argnums=k)(*args),
                                   rtol=rtol, atol=1e-12)
    g = tfn.grad(lambda *a: tnp.sum(f(*a)))
    batch = np.stack([args[0] * (1 + 0.1 * i) for i in range(3)])
    batched = tfn.vmap(g, in_dims=(0,) + (None,) * (len(args) - 1))(batch, *args[1:])
    np.testing.assert_allclose(batched, np.stack([g(b, *args[1:]) for b in batch]), rtol=1e-10, atol=1e-12)
    if args[0].size <= 12:
        h = np.asarray(tfn.hessian(lambda a: tnp.sum(f(a, *args[1:])))(args[0])).reshape(args[0].size, -1)
        np.testing.assert_allclose(h, h.T, rtol=1e-8, atol=1e-10)
