"""A whirlwind tour of the transforms (torch.func's whirlwind tour), each checked by hand.

grad, grad of grad, grad over a parameter dict, vjp, jvp, vmap, vmap of grad (per-sample
gradients), jacrev, jacfwd, hessian and jacrev(jacrev).

    python examples/whirlwind_tour.py [--small]
"""
from __future__ import annotations

import argparse

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn


def _check(name, got, want):
    err = float(np.abs(np.asarray(got) - np.asarray(want)).max())
    print(f"  {name:44s} max difference {err:.2e}")
    return err


def main(small: bool = False, dtype=None):
    """Returns the inputs and every transform's result, by name."""
    dtype = dtype or np.float64
    rng = np.random.default_rng(0)
    n, batch = (5, 3) if small else (64, 32)
    out = {}

    print("grad: the gradient of a function of one 0-d array")
    x = dtype(rng.standard_normal())
    out["x0"] = x
    out["cos_x"] = tfn.grad(tnp.sin)(x)
    out["neg_sin_x"] = tfn.grad(tfn.grad(tnp.sin))(x)
    _check("grad(sin)(x) vs cos(x)", out["cos_x"], np.cos(x))
    _check("grad(grad(sin))(x) vs -sin(x)", out["neg_sin_x"], -np.sin(x))

    print("grad over a parameter dict: mse loss of a linear layer")
    params = {"weight": rng.standard_normal((3, 3)).astype(dtype), "bias": rng.standard_normal(3).astype(dtype)}
    xs, ts = rng.standard_normal((n, 3)).astype(dtype), rng.standard_normal((n, 3)).astype(dtype)

    def compute_loss(params, x, t):
        y = tfn.functional_call(lambda p, x: nn.linear(x, p["weight"], p["bias"]), params, (x,))
        return nn.mse_loss(y, t)
    out["linear_params"], out["linear_x"], out["linear_t"] = params, xs, ts
    out["grad_params"] = g = tfn.grad(compute_loss)(params, xs, ts)
    r = xs @ params["weight"].T + params["bias"] - ts          # d mean(r^2) = 2 r / r.size
    _check("grad weight vs 2 r^T x / size", g["weight"], 2 * r.T @ xs / r.size)
    _check("grad bias vs 2 sum(r) / size", g["bias"], 2 * r.sum(0) / r.size)

    print("vjp: a vector-Jacobian product, the function bound at the primals")
    v = rng.standard_normal(n).astype(dtype)
    xv = rng.standard_normal(n).astype(dtype)
    out["vjp_x"], out["vjp_v"] = xv, v
    y, vjp_fn = tfn.vjp(tnp.sin, xv)
    (out["vjp"],) = vjp_fn(v)
    _check("vjp(sin)(v) vs cos(x) * v", out["vjp"], np.cos(xv) * v)

    print("jvp: a Jacobian-vector product, pushed forward with the primals")
    a, b = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    _, out["jvp"] = tfn.jvp(lambda a, b: a * b, (a, b), (np.ones(n, dtype), np.ones(n, dtype)))
    _check("jvp(a*b) along (1, 1) vs a + b", out["jvp"], a + b)

    print("vmap: a model of one vector, mapped over a batch")
    weights = rng.standard_normal(n).astype(dtype)
    examples = rng.standard_normal((batch, n)).astype(dtype)
    out["vmap_weights"], out["vmap_examples"] = weights, examples

    def model(feature_vec):
        return nn.relu(tnp.dot(feature_vec, weights))
    out["vmap"] = tfn.vmap(model)(examples)
    _check("vmap(model) vs relu(examples @ w)", out["vmap"], np.maximum(examples @ weights, 0))

    print("vmap(grad): per-sample gradients")
    targets = rng.standard_normal(batch).astype(dtype)

    def sample_loss(w, x, t):
        return (tnp.dot(x, w) - t) ** 2
    out["per_sample_grads"] = psg = tfn.vmap(tfn.grad(sample_loss), in_dims=(None, 0, 0))(weights, examples, targets)
    _check("vmap(grad) vs 2 (x.w - t) x", psg, 2 * (examples @ weights - targets)[:, None] * examples)
    _check("sum of per-sample grads vs grad of the sum", psg.sum(0),
           tfn.grad(lambda w: tnp.sum((examples @ w - targets) ** 2))(weights))

    print("jacrev, jacfwd: the Jacobian of sin is diag(cos)")
    out["jacrev"] = tfn.jacrev(tnp.sin)(xv)
    out["jacfwd"] = tfn.jacfwd(tnp.sin)(xv)
    _check("jacrev(sin) vs diag(cos(x))", out["jacrev"], np.diag(np.cos(xv)))
    _check("jacfwd(sin) vs diag(cos(x))", out["jacfwd"], np.diag(np.cos(xv)))

    print("hessian: of sum(sin(x)), diag(-sin)")

    def f(x):
        return tnp.sum(tnp.sin(x))
    out["hessian"] = tfn.hessian(f)(xv)
    out["jacrev_jacrev"] = tfn.jacrev(tfn.jacrev(f))(xv)
    _check("hessian vs jacrev(jacrev)", out["hessian"], out["jacrev_jacrev"])
    _check("hessian vs diag(-sin(x))", out["hessian"], np.diag(-np.sin(xv)))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="vectors of 5, a batch of 3")
    main(parser.parse_args().small)
