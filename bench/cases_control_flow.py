"""Benchmark cases of control flow: an RNN as a scan (gradient, per-sample gradients) and a
Newton solver as a while loop (gradient through the run-time trip count).

torch.func has no scan or while: its programs are the Python loops its users write (128
unrolled steps; a `while` on `.item()` of the residual), run eagerly. JAX cannot
reverse-differentiate `lax.while_loop`, so the solver row has no JAX entry.
"""
from __future__ import annotations

import numpy as np

from cases import Case, _framework, _normal, case

STEPS, HIDDEN, FEATURES, BATCH = 128, 256, 64, 32


def _rnn_inputs(rng):
    params = {"W": _normal(rng, (HIDDEN, HIDDEN), scale=1 / np.sqrt(HIDDEN)),
              "U": _normal(rng, (FEATURES, HIDDEN), scale=1 / np.sqrt(FEATURES)),
              "b": np.zeros(HIDDEN, np.float32)}
    return params, _normal(rng, (BATCH, STEPS, FEATURES))


def _rnn_loss(name):
    """mean over the batch of sum_t |h_t|^2 / T, h_{t+1} = tanh(h_t W + x_t U + b); xs: (batch, T, F)."""
    F, xp, vmap, grad, kw = _framework(name)

    def step(p, h, x):
        return xp.tanh(h @ p["W"] + x @ p["U"] + p["b"])

    if name == "torch":
        def loss(p, xs):
            h = xs.new_zeros((xs.shape[0], HIDDEN))
            total = 0.0
            for t in range(xs.shape[1]):
                h = step(p, h, xs[:, t])
                total = total + (h * h).sum(-1)
            return total.mean() / xs.shape[1]
        return loss
    scan = __import__("tfn").lax.scan if name == "tfn" else __import__("jax").lax.scan

    def loss(p, xs):
        def body(h, x):
            h = step(p, h, x)
            return h, (h * h).sum(-1)
        h0 = xp.zeros((xs.shape[0], HIDDEN), dtype=xs.dtype)
        _, energy = scan(body, h0, xp.swapaxes(xs, 0, 1))
        return energy.sum(0).mean() / xs.shape[1]
    return loss


def _rnn_grad(name):
    grad = _framework(name)[3]
    return grad(_rnn_loss(name))


def _rnn_per_sample(name):
    F, xp, vmap, grad, kw = _framework(name)
    loss = _rnn_loss(name)
    return vmap(grad(lambda p, x: loss(p, x[None])), **{kw: (None, 0)})


@case
def rnn_grad():
    return Case(name=f"grad of a tanh RNN (scan), {STEPS} steps hidden {HIDDEN}, batch {BATCH}", inputs=_rnn_inputs,
                tfn=lambda *a: _rnn_grad("tfn")(*a), jax=lambda *a: _rnn_grad("jax")(*a),
                torch=lambda *a: _rnn_grad("torch")(*a), rtol=1e-3, tags=("scan", "grad"))


@case
def rnn_per_sample_grads():
    return Case(name=f"per-sample grads vmap(grad) tanh RNN (scan), {STEPS} steps hidden {HIDDEN}, batch {BATCH}",
                inputs=_rnn_inputs, tfn=lambda *a: _rnn_per_sample("tfn")(*a),
                jax=lambda *a: _rnn_per_sample("jax")(*a), torch=lambda *a: _rnn_per_sample("torch")(*a),
                rtol=1e-3, tags=("scan", "vmap", "grad"))


SOLVER_SIZE = 4096


def _solver_inputs(rng):
    return (rng.uniform(0.5, 50.0, SOLVER_SIZE),)


def _newton_grad(name):
    """d/da sum(sqrt(a)) through Newton's iterations y <- y - (y^2 - a) / 2y from y = 1, run
    until every residual is below 1e-12 a (float64: 7 to 9 steps here)."""
    F, xp, vmap, grad, kw = _framework(name)
    if name == "torch":
        def solve(a):
            y = xp.ones_like(a)
            while bool(((y * y - a).abs() > 1e-12 * a).any()):
                y = y - (y * y - a) / (2 * y)
            return y.sum()
        return grad(solve)
    import tfn
    import tfn.numpy as tnp

    def solve(a):
        y = tfn.lax.while_loop(lambda y: tnp.any(tnp.abs(y * y - a) > 1e-12 * a), lambda y: y - (y * y - a) / (2 * y),
                               tnp.ones_like(a))
        return tnp.sum(y)
    return tfn.grad(solve)


@case
def newton_solver_grad():
    return Case(name=f"grad through a while-loop Newton solver, {SOLVER_SIZE} float64 roots", inputs=_solver_inputs,
                tfn=lambda *a: _newton_grad("tfn")(*a), torch=lambda *a: _newton_grad("torch")(*a),
                numpy=lambda a: 0.5 / np.sqrt(a), rtol=1e-6, tags=("while", "grad"))
