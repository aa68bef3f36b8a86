"""The benchmark cases: one `Case` per row of the table.

A case names its inputs and one function per framework; a framework whose function
is None is not run for that row. Add a row with `@case(...)` on a function that
returns the `Case`, or call `register(Case(...))`.

The framework functions receive the framework's arrays (numpy arrays for tfn and
numpy, jax arrays, torch tensors) in the pytree structure of `inputs(rng)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

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
    baseline: str | None = None                      # a forward case: report this time / its time


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


# ------------------------------------------------------------------ the seed use cases: transforms
# Each row runs tfn (tfn.jit of the transformed function), jax.jit of the same transform and
# torch.func (eager); there is no numpy row, so results are checked against tfn's.

def _mlp_loss_parts(xp, log_softmax, relu):
    def loss(params, x):
        (w1, b1), (w2, b2) = params
        return -xp.mean(log_softmax(relu(x @ w1 + b1) @ w2 + b2)[:, 0])
    return loss


def _tfn_loss():
    import tfn.numpy as tnp
    from tfn import nn
    return _mlp_loss_parts(tnp, nn.log_softmax, nn.relu)


def _jax_loss():
    import jax
    import jax.numpy as jnp
    return _mlp_loss_parts(jnp, jax.nn.log_softmax, jax.nn.relu)


def _torch_loss():
    import torch
    return _mlp_loss_parts(torch, lambda z: torch.log_softmax(z, dim=-1), torch.relu)


@case
def mlp_loss_forward():
    return Case(name="MLP loss forward 784-512-10, batch 64", inputs=_mlp_params,
                tfn=lambda p, x: _tfn_loss()(p, x), jax=lambda p, x: _jax_loss()(p, x),
                torch=lambda p, x: _torch_loss()(p, x), rtol=1e-4, tags=("seed", "mlp"))


@case
def mlp_loss_grad():
    def tfn_fn(p, x):
        import tfn
        return tfn.grad(_tfn_loss())(p, x)

    def jax_fn(p, x):
        import jax
        return jax.grad(_jax_loss())(p, x)

    def torch_fn(p, x):
        import torch.func
        return torch.func.grad(_torch_loss())(p, x)
    return Case(name="MLP loss grad 784-512-10, batch 64", inputs=_mlp_params,
                tfn=tfn_fn, jax=jax_fn, torch=torch_fn, rtol=1e-4, tags=("seed", "mlp", "grad"),
                baseline="MLP loss forward 784-512-10, batch 64")


def _onehot(rng, n, k):
    y = np.zeros((n, k), np.float32)
    y[np.arange(n), rng.integers(0, k, n)] = 1
    return y


def _sample_loss(xp, log_softmax, relu):
    def loss(params, x, y):
        (w1, b1), (w2, b2) = params
        return -xp.sum(log_softmax(relu(x @ w1 + b1) @ w2 + b2) * y)
    return loss


@case
def per_sample_grads():
    def inputs(rng):
        params, x = _mlp_params(rng)
        return params, x, _onehot(rng, 64, 10)

    def tfn_fn(p, x, y):
        import tfn
        from tfn import nn
        import tfn.numpy as tnp
        return tfn.vmap(tfn.grad(_sample_loss(tnp, nn.log_softmax, nn.relu)), in_dims=(None, 0, 0))(p, x, y)

    def jax_fn(p, x, y):
        import jax
        import jax.numpy as jnp
        return jax.vmap(jax.grad(_sample_loss(jnp, jax.nn.log_softmax, jax.nn.relu)), in_axes=(None, 0, 0))(p, x, y)

    def torch_fn(p, x, y):
        import torch
        import torch.func as tf
        loss = _sample_loss(torch, lambda z: torch.log_softmax(z, dim=-1), torch.relu)
        return tf.vmap(tf.grad(loss), in_dims=(None, 0, 0))(p, x, y)
    return Case(name="per-sample grads vmap(grad) MLP 784-512-10, batch 64", inputs=inputs,
                tfn=tfn_fn, jax=jax_fn, torch=torch_fn, rtol=1e-4, tags=("seed", "vmap", "grad"))


def _tanh_layer_inputs(n_in, n_out):
    def inputs(rng):
        return (_normal(rng, (n_out, n_in), scale=1 / np.sqrt(n_in)), _normal(rng, (n_out,), scale=0.1),
                _normal(rng, (n_in,)))
    return inputs


def _jacobian_case(name, transform, n_in, n_out):
    """d tanh(W x + b) / dx by `transform` ('jacfwd' or 'jacrev') of each framework."""
    def tfn_fn(w, b, x):
        import tfn
        import tfn.numpy as tnp
        return getattr(tfn, transform)(lambda x: tnp.tanh(w @ x + b))(x)

    def jax_fn(w, b, x):
        import jax
        import jax.numpy as jnp
        return getattr(jax, transform)(lambda x: jnp.tanh(w @ x + b))(x)

    def torch_fn(w, b, x):
        import torch
        import torch.func as tf
        return getattr(tf, transform)(lambda x: torch.tanh(w @ x + b))(x)
    return Case(name=name, inputs=_tanh_layer_inputs(n_in, n_out), tfn=tfn_fn, jax=jax_fn, torch=torch_fn,
                rtol=1e-4, tags=("seed", "jacobian"))


register(_jacobian_case("jacfwd tanh(Wx+b) 32->2048", "jacfwd", 32, 2048))
register(_jacobian_case("jacrev tanh(Wx+b) 2048->32", "jacrev", 2048, 32))


@case
def hessian_tanh():
    def inputs(rng):
        return _normal(rng, (256, 256), scale=1 / 16), _normal(rng, (256,))

    def tfn_fn(w, x):
        import tfn
        import tfn.numpy as tnp
        return tfn.hessian(lambda x: tnp.sum(tnp.tanh(w @ x)))(x)

    def jax_fn(w, x):
        import jax
        import jax.numpy as jnp
        return jax.hessian(lambda x: jnp.sum(jnp.tanh(w @ x)))(x)

    def torch_fn(w, x):
        import torch
        import torch.func as tf
        return tf.hessian(lambda x: torch.sum(torch.tanh(w @ x)))(x)
    return Case(name="hessian sum(tanh(Wx)) D=256", inputs=inputs, tfn=tfn_fn, jax=jax_fn, torch=torch_fn,
                rtol=1e-4, tags=("seed", "hessian"))


@case
def batched_jacrev():
    def inputs(rng):
        return _normal(rng, (33, 31), scale=0.2), _normal(rng, (33,), scale=0.1), _normal(rng, (64, 31))

    def tfn_fn(w, b, x):
        import tfn
        import tfn.numpy as tnp
        return tfn.vmap(tfn.jacrev(lambda x: tnp.tanh(w @ x + b)))(x)

    def jax_fn(w, b, x):
        import jax
        import jax.numpy as jnp
        return jax.vmap(jax.jacrev(lambda x: jnp.tanh(w @ x + b)))(x)

    def torch_fn(w, b, x):
        import torch
        import torch.func as tf
        return tf.vmap(tf.jacrev(lambda x: torch.tanh(w @ x + b)))(x)
    return Case(name="batched jacrev vmap(jacrev) batch 64, 31->33", inputs=inputs, tfn=tfn_fn, jax=jax_fn,
                torch=torch_fn, rtol=1e-4, tags=("seed", "jacobian", "vmap"))


@case
def batched_hessian():
    def inputs(rng):
        return _normal(rng, (32, 32), scale=0.2), _normal(rng, (64, 32))

    def tfn_fn(w, x):
        import tfn
        import tfn.numpy as tnp
        return tfn.vmap(tfn.hessian(lambda x: tnp.sum(tnp.tanh(w @ x))))(x)

    def jax_fn(w, x):
        import jax
        import jax.numpy as jnp
        return jax.vmap(jax.hessian(lambda x: jnp.sum(jnp.tanh(w @ x))))(x)

    def torch_fn(w, x):
        import torch
        import torch.func as tf
        return tf.vmap(tf.hessian(lambda x: torch.sum(torch.tanh(w @ x))))(x)
    return Case(name="batched hessian vmap(hessian) batch 64, D=32", inputs=inputs, tfn=tfn_fn, jax=jax_fn,
                torch=torch_fn, rtol=1e-4, tags=("seed", "hessian", "vmap"))


@case
def ensemble():
    def inputs(rng):
        def one():
            return ((_normal(rng, (784, 128), scale=0.05), np.zeros(128, np.float32)),
                    (_normal(rng, (128, 10), scale=0.1), np.zeros(10, np.float32)))
        models = [one() for _ in range(8)]
        stacked = tuple(tuple(np.stack([m[i][j] for m in models]) for j in range(2)) for i in range(2))
        return stacked, _normal(rng, (64, 784))

    def model(log_softmax, relu):
        def f(params, x):
            (w1, b1), (w2, b2) = params
            return log_softmax(relu(x @ w1 + b1) @ w2 + b2)
        return f

    def tfn_fn(params, x):
        import tfn
        from tfn import nn
        f = model(nn.log_softmax, nn.relu)
        return tfn.vmap(lambda p, x: tfn.functional_call(f, p, (x,)), in_dims=(0, None))(params, x)

    def jax_fn(params, x):
        import jax
        return jax.vmap(model(jax.nn.log_softmax, jax.nn.relu), in_axes=(0, None))(params, x)

    def torch_fn(params, x):
        import torch
        import torch.func as tf
        f = model(lambda z: torch.log_softmax(z, dim=-1), torch.relu)
        return tf.vmap(f, in_dims=(0, None))(params, x)
    return Case(name="ensemble of 8 MLPs 784-128-10 vmap, batch 64", inputs=inputs, tfn=tfn_fn, jax=jax_fn,
                torch=torch_fn, rtol=1e-4, tags=("seed", "vmap", "ensemble"))


def _maml(xp, tanh, grad, vmap, in_dims_kw, alpha=0.01, steps=1):
    """Meta-gradient of the post-adaptation query loss, averaged over tasks (MLP 1-40-40-1),
    after `steps` unrolled inner SGD steps on the support set."""
    def net(p, x):
        (w1, b1), (w2, b2), (w3, b3) = p
        return tanh(tanh(x @ w1 + b1) @ w2 + b2) @ w3 + b3

    def loss(p, x, y):
        return xp.mean((net(p, x) - y) ** 2)

    def task_loss(p, xs, ys, xq, yq):
        adapted = p
        for _ in range(steps):
            g = grad(loss)(adapted, xs, ys)
            adapted = tuple(tuple(w - alpha * gw for w, gw in zip(layer, glayer))
                            for layer, glayer in zip(adapted, g))
        return loss(adapted, xq, yq)

    def meta_loss(p, xs, ys, xq, yq):
        return xp.mean(vmap(task_loss, **{in_dims_kw: (None, 0, 0, 0, 0)})(p, xs, ys, xq, yq))
    return lambda p, xs, ys, xq, yq: grad(meta_loss)(p, xs, ys, xq, yq)


def _maml_inputs(rng):
    sizes = [(1, 40), (40, 40), (40, 1)]
    params = tuple((_normal(rng, s, scale=1 / np.sqrt(s[0])), np.zeros(s[1], np.float32)) for s in sizes)
    amp = rng.uniform(0.1, 5.0, (32, 1, 1)).astype(np.float32)
    phase = rng.uniform(0, np.pi, (32, 1, 1)).astype(np.float32)
    xs = rng.uniform(-5, 5, (32, 10, 1)).astype(np.float32)
    xq = rng.uniform(-5, 5, (32, 10, 1)).astype(np.float32)
    return params, xs, amp * np.sin(xs + phase), xq, amp * np.sin(xq + phase)


@case
def maml():
    inputs = _maml_inputs

    def tfn_fn(*args):
        import tfn
        import tfn.numpy as tnp
        return _maml(tnp, tnp.tanh, tfn.grad, tfn.vmap, "in_dims")(*args)

    def jax_fn(*args):
        import jax
        import jax.numpy as jnp
        return _maml(jnp, jnp.tanh, jax.grad, jax.vmap, "in_axes")(*args)

    def torch_fn(*args):
        import torch
        import torch.func as tf
        return _maml(torch, torch.tanh, tf.grad, tf.vmap, "in_dims")(*args)
    return Case(name="MAML meta-grad 32 tasks, MLP 1-40-40-1, 10 shots", inputs=inputs, tfn=tfn_fn,
                jax=jax_fn, torch=torch_fn, rtol=1e-3, tags=("seed", "maml", "grad", "vmap"))


# ------------------------------------------------------------------ convolutions and a transformer block
# The models of examples/per_sample_grads.py and of a pre-norm transformer block, written once
# against torch.nn.functional-style names (`F`): tfn.nn and torch.nn.functional directly, JAX
# through a small shim with the same signatures.

def _jax_F():
    """torch.nn.functional's signatures, for the functions the cases below use, in JAX."""
    import types

    import jax
    import jax.numpy as jnp

    def conv2d(x, w, b=None):
        y = jax.lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y if b is None else y + b[:, None, None]

    def max_pool2d(x, k):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, k, k), (1, 1, k, k), "VALID")

    def log_softmax(x, dim=-1):
        return jax.nn.log_softmax(x, axis=dim)

    def nll_loss(logp, target):
        return -jnp.mean(jnp.take_along_axis(logp, target[:, None], axis=1))

    def layer_norm(x, shape, w, b, eps=1e-5):
        mu = jnp.mean(x, -1, keepdims=True)
        var = jnp.mean((x - mu) ** 2, -1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + eps) * w + b

    def scaled_dot_product_attention(q, k, v, is_causal=False):
        s = q @ jnp.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
        if is_causal:
            t = s.shape[-1]
            s = jnp.where(jnp.tril(jnp.ones((t, t), bool)), s, -jnp.inf)
        return jax.nn.softmax(s, axis=-1) @ v

    def cross_entropy(logits, target):
        return nll_loss(jax.nn.log_softmax(logits, axis=-1), target)
    return types.SimpleNamespace(
        conv2d=conv2d, max_pool2d=max_pool2d, relu=jax.nn.relu, log_softmax=log_softmax, nll_loss=nll_loss,
        linear=lambda x, w, b=None: x @ w.T + (0 if b is None else b), embedding=lambda t, w: w[t],
        layer_norm=layer_norm, scaled_dot_product_attention=scaled_dot_product_attention,
        gelu=lambda x: jax.nn.gelu(x, approximate=False), cross_entropy=cross_entropy)


def _framework(name):
    """(F, numpy-like module, vmap, grad, in_dims keyword) of a framework."""
    if name == "tfn":
        import tfn
        import tfn.numpy as tnp
        from tfn import nn
        return nn, tnp, tfn.vmap, tfn.grad, "in_dims"
    if name == "jax":
        import jax
        import jax.numpy as jnp
        return _jax_F(), jnp, jax.vmap, jax.grad, "in_axes"
    import torch
    import torch.func as tf
    import torch.nn.functional as TF
    return TF, torch, tf.vmap, tf.grad, "in_dims"


def _per_sample(name, loss):
    """vmap(grad(loss of a batch of one)) over (params shared, inputs, targets)."""
    F, xp, vmap, grad, kw = _framework(name)

    def sample_loss(p, x, t):
        return loss(F, xp, p, x[None], t[None])
    return lambda p, x, t: vmap(grad(sample_loss), **{kw: (None, 0, 0)})(p, x, t)


def _cnn_loss(F, xp, p, x, t):
    """The CNN of examples/per_sample_grads.py: mean nll of integer labels."""
    x = F.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]))
    x = F.relu(F.conv2d(x, p["conv2.weight"], p["conv2.bias"]))
    x = F.max_pool2d(x, 2)
    x = F.relu(F.linear(x.reshape(x.shape[0], -1), p["fc1.weight"], p["fc1.bias"]))
    return F.nll_loss(F.log_softmax(F.linear(x, p["fc2.weight"], p["fc2.bias"]), dim=1), t)


def _cnn_inputs(rng):
    def uniform(shape, fan_in):
        return rng.uniform(-1, 1, shape).astype(np.float32) / np.float32(np.sqrt(fan_in))
    params = {"conv1.weight": uniform((32, 1, 3, 3), 9), "conv1.bias": uniform((32,), 9),
              "conv2.weight": uniform((64, 32, 3, 3), 288), "conv2.bias": uniform((64,), 288),
              "fc1.weight": uniform((128, 9216), 9216), "fc1.bias": uniform((128,), 9216),
              "fc2.weight": uniform((10, 128), 128), "fc2.bias": uniform((10,), 128)}
    return params, _normal(rng, (64, 1, 28, 28)), rng.integers(0, 10, 64)


@case
def per_sample_grads_cnn():
    return Case(name="per-sample grads vmap(grad) CNN conv32-conv64-fc128, batch 64 28x28", inputs=_cnn_inputs,
                tfn=lambda *a: _per_sample("tfn", _cnn_loss)(*a), jax=lambda *a: _per_sample("jax", _cnn_loss)(*a),
                torch=lambda *a: _per_sample("torch", _cnn_loss)(*a), rtol=1e-3,
                tags=("conv", "vmap", "grad"))


@case
def conv2d_forward():
    def inputs(rng):
        return _normal(rng, (64, 32, 26, 26)), _normal(rng, (64, 32, 3, 3), scale=1 / 17)
    return Case(name="conv2d forward (64,32,26,26) x (64,32,3,3) f32", inputs=inputs,
                tfn=lambda x, w: _framework("tfn")[0].conv2d(x, w),
                jax=lambda x, w: _jax_F().conv2d(x, w),
                torch=lambda x, w: __import__("torch").nn.functional.conv2d(x, w),
                rtol=1e-4, tags=("conv",))


_BLOCK = dict(vocab=256, seq=64, dim=128, heads=4, batch=8)


def _block_loss(F, xp, p, tokens, targets):
    """Next-token cross entropy of one pre-norm transformer block (causal self-attention and a
    GELU MLP, both residual) with a final layer norm and the embedding tied to the output."""
    b, t = tokens.shape
    d, h = _BLOCK["dim"], _BLOCK["heads"]
    x = F.embedding(tokens, p["emb"])
    qkv = F.linear(F.layer_norm(x, (d,), p["ln1.w"], p["ln1.b"]), p["qkv.w"], p["qkv.b"])
    q, k, v = (xp.moveaxis(qkv[:, :, i].reshape(b, t, h, d // h), 2, 1)
               for i in (slice(0, d), slice(d, 2 * d), slice(2 * d, 3 * d)))
    a = xp.moveaxis(F.scaled_dot_product_attention(q, k, v, is_causal=True), 1, 2).reshape(b, t, d)
    x = x + F.linear(a, p["proj.w"], p["proj.b"])
    m = F.gelu(F.linear(F.layer_norm(x, (d,), p["ln2.w"], p["ln2.b"]), p["fc1.w"], p["fc1.b"]))
    x = x + F.linear(m, p["fc2.w"], p["fc2.b"])
    logits = F.linear(F.layer_norm(x, (d,), p["lnf.w"], p["lnf.b"]), p["emb"])
    return F.cross_entropy(logits.reshape(b * t, -1), targets.reshape(b * t))


def _block_inputs(rng):
    v, t, d, b = _BLOCK["vocab"], _BLOCK["seq"], _BLOCK["dim"], _BLOCK["batch"]
    p = {"emb": _normal(rng, (v, d), scale=0.02), "qkv.w": _normal(rng, (3 * d, d), scale=d ** -0.5),
         "qkv.b": np.zeros(3 * d, np.float32), "proj.w": _normal(rng, (d, d), scale=d ** -0.5),
         "proj.b": np.zeros(d, np.float32), "fc1.w": _normal(rng, (4 * d, d), scale=d ** -0.5),
         "fc1.b": np.zeros(4 * d, np.float32), "fc2.w": _normal(rng, (d, 4 * d), scale=(4 * d) ** -0.5),
         "fc2.b": np.zeros(d, np.float32)}
    for ln in ("ln1", "ln2", "lnf"):
        p[f"{ln}.w"], p[f"{ln}.b"] = np.ones(d, np.float32), np.zeros(d, np.float32)
    tokens = rng.integers(0, v, (b, t + 1))
    return p, tokens[:, :-1], tokens[:, 1:]


def _block_grad(name):
    F, xp, _, grad, _ = _framework(name)
    return lambda p, x, t: grad(lambda p: _block_loss(F, xp, p, x, t))(p)


@case
def transformer_block_grad():
    return Case(name="grad of a pre-norm transformer block, batch 8 seq 64 dim 128 4 heads", inputs=_block_inputs,
                tfn=lambda *a: _block_grad("tfn")(*a), jax=lambda *a: _block_grad("jax")(*a),
                torch=lambda *a: _block_grad("torch")(*a), rtol=1e-3, tags=("attention", "grad"))


@case
def transformer_block_per_sample_grads():
    return Case(name="per-sample grads vmap(grad) transformer block, batch 8 seq 64 dim 128",
                inputs=_block_inputs, tfn=lambda *a: _per_sample("tfn", _block_loss)(*a),
                jax=lambda *a: _per_sample("jax", _block_loss)(*a),
                torch=lambda *a: _per_sample("torch", _block_loss)(*a), rtol=1e-3,
                tags=("attention", "vmap", "grad"))


# ------------------------------------------------------------------ compile-time scaling
# Programs that grow with a parameter; `bench/run.py --compile-scaling` times the first
# call of each (trace + compile + one run) in a fresh process, for tfn and JAX.

COMPILE_CASES: list[Case] = []


def _maml_steps_case(steps: int) -> Case:
    def tfn_fn(*args):
        import tfn
        import tfn.numpy as tnp
        return _maml(tnp, tnp.tanh, tfn.grad, tfn.vmap, "in_dims", steps=steps)(*args)

    def jax_fn(*args):
        import jax
        import jax.numpy as jnp
        return _maml(jnp, jnp.tanh, jax.grad, jax.vmap, "in_axes", steps=steps)(*args)
    return Case(name=f"MAML meta-grad, {steps} inner SGD step{'s' if steps > 1 else ''}", inputs=_maml_inputs,
                tfn=tfn_fn, jax=jax_fn, tags=("compile", "maml"))


def _deep_mlp_grad_case(layers: int, width: int = 64, batch: int = 32) -> Case:
    def inputs(rng):
        params = tuple((_normal(rng, (width, width), scale=1 / np.sqrt(width)), np.zeros(width, np.float32))
                       for _ in range(layers))
        return params, _normal(rng, (batch, width))

    def loss(xp, tanh):
        def f(params, x):
            for w, b in params:
                x = tanh(x @ w + b)
            return xp.mean(x * x)
        return f

    def tfn_fn(params, x):
        import tfn
        import tfn.numpy as tnp
        return tfn.grad(loss(tnp, tnp.tanh))(params, x)

    def jax_fn(params, x):
        import jax
        import jax.numpy as jnp
        return jax.grad(loss(jnp, jnp.tanh))(params, x)
    return Case(name=f"grad of {layers}-layer tanh MLP {width} wide, batch {batch}", inputs=inputs,
                tfn=tfn_fn, jax=jax_fn, tags=("compile", "depth"))


COMPILE_CASES += [_maml_steps_case(s) for s in (1, 5, 20)]
COMPILE_CASES += [_deep_mlp_grad_case(n) for n in (4, 16, 64)]

# Control flow (scan, while_loop) cases live in their own module.
import cases_control_flow  # noqa: E402,F401
