"""The benchmark cases: one `Case` per row of the table.

A case names its inputs and one function per framework; a framework whose function
is None is not run for that row. Add a row with `@case(...)` on a function that
returns the `Case`, or call `register(Case(...))`.

The framework functions receive the framework's arrays (numpy arrays for tfn and
numpy, jax arrays, torch tensors) in the pytree structure of `inputs(rng)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

CASES: list["Case"] = []


@dataclass
class Case:
    name: str
    inputs: Callable[[np.random.Generator], tuple]   # rng -> positional arguments (pytrees of arrays)
    tfn: Callable | None = None                      # traced by tfn.jit
    numpy: Callable | None = None
    jax: Callable | None = None                      # traced by jax.jit
    torch: Callable | None = None                    # run eagerly under torch.no_grad()
    rtol: float = 1e-4                               # agreement with numpy (or the first result)
    tags: tuple = field(default_factory=tuple)


def register(c: Case) -> Case:
    if any(existing.name == c.name for existing in CASES):
        raise ValueError(f"duplicate benchmark case {c.name!r}")
    CASES.append(c)
    return c


def case(fn: Callable[[], Case]) -> Callable[[], Case]:
    """Decorator: registers the Case that `fn()` builds (imports stay inside fn)."""
    register(fn())
    return fn


def _normal(rng, shape, dtype=np.float32, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ------------------------------------------------------------------ contractions

def _matmul_case(n: int, dtype) -> Case:
    import tfn.numpy as tnp
    return Case(
        name=f"matmul {n}x{n} {np.dtype(dtype).name}",
        inputs=lambda rng: (_normal(rng, (n, n), dtype), _normal(rng, (n, n), dtype)),
        tfn=lambda a, b: tnp.matmul(a, b),
        numpy=lambda a, b: a @ b,
        jax=lambda a, b: a @ b,
        torch=lambda a, b: a @ b,
        rtol=1e-4 if dtype == np.float32 else 1e-10,
        tags=("contraction",))


register(_matmul_case(512, np.float32))
register(_matmul_case(128, np.float32))
register(_matmul_case(256, np.float64))


@case
def batched_matmul():
    import tfn.numpy as tnp
    return Case(
        name="batched matmul 64x(32x32 @ 32x32) f32",
        inputs=lambda rng: (_normal(rng, (64, 32, 32)), _normal(rng, (64, 32, 32))),
        tfn=lambda a, b: tnp.matmul(a, b), numpy=lambda a, b: a @ b,
        jax=lambda a, b: a @ b, torch=lambda a, b: a @ b, tags=("contraction",))


@case
def outer_products():
    import tfn.numpy as tnp
    return Case(
        name="per-sample outer products 64x(784 (x) 128) f32",
        inputs=lambda rng: (_normal(rng, (64, 784)), _normal(rng, (64, 128))),
        tfn=lambda x, g: tnp.einsum("bi,bj->bij", x, g),
        numpy=lambda x, g: np.einsum("bi,bj->bij", x, g),
        jax=lambda x, g: __import__("jax").numpy.einsum("bi,bj->bij", x, g),
        torch=lambda x, g: __import__("torch").einsum("bi,bj->bij", x, g),
        tags=("contraction",))


# ------------------------------------------------------------------ MLP

def _mlp_params(rng, dtype=np.float32):
    return (((_normal(rng, (784, 512), dtype, 0.05), np.zeros(512, dtype)),
             (_normal(rng, (512, 10), dtype, 0.05), np.zeros(10, dtype))),
            _normal(rng, (64, 784), dtype))


def _mlp_tfn(params, x):
    from tfn import nn
    (w1, b1), (w2, b2) = params
    return nn.log_softmax(nn.relu(x @ w1 + b1) @ w2 + b2)


def _mlp_numpy(params, x):
    (w1, b1), (w2, b2) = params
    z = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _mlp_jax(params, x):
    import jax
    (w1, b1), (w2, b2) = params
    return jax.nn.log_softmax(jax.nn.relu(x @ w1 + b1) @ w2 + b2)


def _mlp_torch(params, x):
    import torch
    (w1, b1), (w2, b2) = params
    return torch.log_softmax(torch.relu(x @ w1 + b1) @ w2 + b2, dim=-1)


@case
def mlp_forward():
    return Case(name="MLP 784-512-10 forward, batch 64, f32", inputs=_mlp_params,
                tfn=_mlp_tfn, numpy=_mlp_numpy, jax=_mlp_jax, torch=_mlp_torch, tags=("mlp",))


def _mlp_loss(params, x, xp, nn):
    return -xp.mean(nn(params, x)[:, 0])


@case
def mlp_grad():
    def tfn_fn(params, x):
        import tfn
        import tfn.numpy as tnp
        return tfn.grad(lambda p: -tnp.mean(_mlp_tfn(p, x)[:, 0]))(params)

    def jax_fn(params, x):
        import jax
        import jax.numpy as jnp
        return jax.grad(lambda p: -jnp.mean(_mlp_jax(p, x)[:, 0]))(params)

    def torch_fn(params, x):
        import torch
        import torch.func
        return torch.func.grad(lambda p: -torch.mean(_mlp_torch(p, x)[:, 0]))(params)
    return Case(name="MLP grad (loss wrt params), batch 64, f32", inputs=_mlp_params,
                tfn=tfn_fn, numpy=None, jax=jax_fn, torch=torch_fn, tags=("mlp", "grad"))


# ------------------------------------------------------------------ elementwise and reductions

@case
def elementwise():
    import tfn.numpy as tnp
    return Case(
        name="elementwise tanh(x)*y+1 512x512 f32",
        inputs=lambda rng: (_normal(rng, (512, 512)), _normal(rng, (512, 512))),
        tfn=lambda x, y: tnp.tanh(x) * y + 1.0, numpy=lambda x, y: np.tanh(x) * y + 1.0,
        jax=lambda x, y: __import__("jax").numpy.tanh(x) * y + 1.0,
        torch=lambda x, y: __import__("torch").tanh(x) * y + 1.0, rtol=1e-5, tags=("elementwise",))


@case
def softmax_rows():
    def tfn_fn(x):
        from tfn import nn
        return nn.softmax(x, axis=-1)

    def np_fn(x):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    return Case(
        name="softmax rows 256x1024 f32", inputs=lambda rng: (_normal(rng, (256, 1024)),),
        tfn=tfn_fn, numpy=np_fn, jax=lambda x: __import__("jax").nn.softmax(x, axis=-1),
        torch=lambda x: __import__("torch").softmax(x, dim=-1), rtol=1e-5, tags=("reduction",))


@case
def sum_rows():
    import tfn.numpy as tnp
    return Case(
        name="sum over rows 1024x1024 f32", inputs=lambda rng: (_normal(rng, (1024, 1024)),),
        tfn=lambda x: tnp.sum(x, axis=1), numpy=lambda x: x.sum(1),
        jax=lambda x: x.sum(1), torch=lambda x: x.sum(1), rtol=1e-4, tags=("reduction",))
