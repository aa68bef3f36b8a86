"""tfn.nn against torch.nn.functional: values, dtypes and gradients, and per-sample gradients
of small models (vmap(grad)) against loops and torch.func.

One table of `Case`s drives the checks. A case's `fn(F, *arrays)` is written once and run
with F = tfn.nn under `tfn.jit` and with F = torch.nn.functional: the same line of code,
as a port from torch would read. Each case runs in float32 and float64, and its gradient
(of a random projection of its outputs) is checked against torch.autograd in float64.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import nn
from tfn.nn import convolution

torch = pytest.importorskip("torch")
TF = torch.nn.functional
# torch warns that kl_div's 'mean' will change meaning; tfn keeps today's (the mean over every element).
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss:UserWarning")

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
TOL = {F32: 2e-5, F64: 1e-10}
GRAD_TOL = 1e-9


class TorchF:
    """torch.nn.functional under tfn.nn's names where torch spells them elsewhere."""
    logsumexp = staticmethod(torch.logsumexp)
    log_sigmoid = staticmethod(TF.logsigmoid)

    def __getattr__(self, name):
        return getattr(TF, name)


T = TorchF()


# ---------------------------------------------------------------- inputs: (rng, dtype) -> array

def N(*shape, scale=1.0):
    return lambda rng, dt: (rng.standard_normal(shape) * scale).astype(dt)


def U(*shape, low=0.05, high=0.95):
    return lambda rng, dt: rng.uniform(low, high, shape).astype(dt)


def P(*shape, axis=1):
    """Probabilities along `axis`."""
    def make(rng, dt):
        e = np.exp(rng.standard_normal(shape))
        return (e / e.sum(axis=axis, keepdims=True)).astype(dt)
    return make


def I(*shape, high, ignore=None):  # noqa: E743
    """int64 classes in [0, high), a third of them `ignore` when given."""
    def make(rng, dt):
        t = rng.integers(0, high, shape)
        if ignore is not None:
            t[rng.random(shape) < 1 / 3] = ignore
        return t
    return make


def M(*shape):
    """A bool mask, True on the diagonal so that every row attends somewhere."""
    def make(rng, dt):
        m = rng.random(shape) < 0.5
        m[..., np.arange(min(shape[-2:])), np.arange(min(shape[-2:]))] = True
        return m
    return make


def C(value):
    """A fixed array (floats in the case's dtype)."""
    value = np.asarray(value)
    return lambda rng, dt: value.astype(dt) if value.dtype.kind == "f" else value


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable                 # fn(F, *arrays) for F in (tfn.nn, torch.nn.functional)
    args: tuple                  # input makers
    grad: tuple = (0,)           # the arguments differentiated (float ones)

    def inputs(self, dtype):
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        return [make(rng, dtype) for make in self.args]


def case(name, fn, *args, grad=(0,)):
    return Case(name, fn, args, grad)


ACTIVATIONS = [
    case("relu", lambda F, x: F.relu(x), N(3, 5)),
    case("sigmoid", lambda F, x: F.sigmoid(x), N(7, scale=4)),
    case("softplus", lambda F, x: F.softplus(x), N(3, 5, scale=4)),
    case("gelu", lambda F, x: F.gelu(x), N(4, 3)),
    case("gelu(tanh)", lambda F, x: F.gelu(x, approximate="tanh"), N(4, 3)),
    case("silu", lambda F, x: F.silu(x), N(5, 3)),
    case("elu", lambda F, x: F.elu(x, alpha=0.7), N(5, 3)),
    case("leaky_relu", lambda F, x: F.leaky_relu(x, 0.2), N(3, 7)),
    case("log_sigmoid", lambda F, x: F.log_sigmoid(x), N(9, scale=5)),
    case("logsigmoid", lambda F, x: F.logsigmoid(x), N(9, scale=5)),
    case("tanh", lambda F, x: F.tanh(x), N(2, 5)),
    case("hardtanh", lambda F, x: F.hardtanh(x, -0.5, 1.5), N(3, 5)),
    case("softmax", lambda F, x: F.softmax(x, dim=1), N(3, 5, 2)),
    case("log_softmax", lambda F, x: F.log_softmax(x, dim=0), N(3, 5)),
    case("logsumexp", lambda F, x: F.logsumexp(x, 1), N(3, 5)),
]

NORMALIZATION = [
    case("layer_norm", lambda F, x, w, b: F.layer_norm(x, (5, 7), w, b), N(3, 5, 7), N(5, 7), N(5, 7),
         grad=(0, 1, 2)),
    case("layer_norm(eps)", lambda F, x: F.layer_norm(x, (7,), eps=1e-3), N(2, 3, 7, scale=3)),
    case("group_norm", lambda F, x, w, b: F.group_norm(x, 3, w, b), N(3, 6, 5), N(6), N(6), grad=(0, 1, 2)),
    case("group_norm(N,C)", lambda F, x: F.group_norm(x, 2), N(2, 4)),
    case("batch_norm(train)",
         lambda F, x, rm, rv, w, b: _batch_norm(F, x, rm, rv, w, b, training=True, momentum=0.3),
         N(5, 3, 4), N(3), U(3, low=0.5, high=2), N(3), N(3), grad=(0, 3, 4)),
    case("batch_norm(train,N,C)", lambda F, x, rm, rv: _batch_norm(F, x, rm, rv, training=True),
         N(7, 3), N(3), U(3, low=0.5, high=2)),
    case("batch_norm(train,no stats)", lambda F, x: _batch_norm(F, x, None, None, training=True), N(4, 2, 3)),
    case("batch_norm(eval)", lambda F, x, rm, rv, w, b: _batch_norm(F, x, rm, rv, w, b),
         N(5, 3, 2), N(3), U(3, low=0.5, high=2), N(3), N(3), grad=(0, 3, 4)),
    case("normalize", lambda F, x: F.normalize(x), N(3, 4, 2)),
    case("normalize(p=1,-1)", lambda F, x: F.normalize(x, p=1, dim=-1), N(3, 5)),
    case("normalize(p=3)", lambda F, x: F.normalize(x, p=3.0, dim=0), N(3, 5)),
]


def _batch_norm(F, x, rm, rv, w=None, b=None, **kw):
    """(y, running_mean, running_var) in both: tfn returns them, torch updates them in place."""
    if F is nn:
        return tuple(o for o in F.batch_norm(x, rm, rv, w, b, **kw) if o is not None)
    rm, rv = (None, None) if rm is None else (rm.detach().clone(), rv.detach().clone())
    y = F.batch_norm(x, rm, rv, w, b, **kw)
    return (y,) if rm is None else (y, rm, rv)


LOSSES = [
    case("cross_entropy", lambda F, x, t: F.cross_entropy(x, t), N(7, 5), I(7, high=5)),
    case("cross_entropy(weight,ignore)", lambda F, x, t, w: F.cross_entropy(x, t, w),
         N(9, 5), I(9, high=5, ignore=-100), U(5)),
    case("cross_entropy(ignore=1,sum)", lambda F, x, t: F.cross_entropy(x, t, ignore_index=1, reduction="sum"),
         N(9, 4), I(9, high=4)),
    case("cross_entropy(smoothing,weight,ignore)",
         lambda F, x, t, w: F.cross_entropy(x, t, w, ignore_index=3, label_smoothing=0.2),
         N(11, 5), I(11, high=5), U(5)),
    case("cross_entropy(smoothing,none)", lambda F, x, t: F.cross_entropy(x, t, reduction="none",
                                                                          label_smoothing=0.1),
         N(4, 3), I(4, high=3, ignore=-100)),
    case("cross_entropy(N,C,d1,d2)", lambda F, x, t, w: F.cross_entropy(x, t, w), N(3, 4, 5, 2),
         I(3, 5, 2, high=4, ignore=-100), U(4)),
    case("cross_entropy(C)", lambda F, x, t: F.cross_entropy(x, t), N(5), I(high=5)),
    case("cross_entropy(probs)", lambda F, x, t: F.cross_entropy(x, t), N(6, 4), P(6, 4), grad=(0, 1)),
    case("cross_entropy(probs,weight,smoothing)",
         lambda F, x, t, w: F.cross_entropy(x, t, w, label_smoothing=0.3), N(3, 4, 5), P(3, 4, 5), U(4),
         grad=(0, 1, 2)),
    case("cross_entropy(probs,none)", lambda F, x, t: F.cross_entropy(x, t, reduction="none"),
         N(3, 4, 2), P(3, 4, 2)),
    case("nll_loss", lambda F, x, t, w: F.nll_loss(F.log_softmax(x, dim=1), t, w), N(8, 3), I(8, high=3), U(3)),
    case("nll_loss(N,C,d,ignore,none)", lambda F, x, t: F.nll_loss(x, t, ignore_index=0, reduction="none"),
         N(2, 3, 5), I(2, 5, high=3)),
    case("mse_loss", lambda F, x, t: F.mse_loss(x, t), N(3, 5), N(3, 5), grad=(0, 1)),
    case("mse_loss(sum)", lambda F, x, t: F.mse_loss(x, t, reduction="sum"), N(7), N(7)),
    case("l1_loss(none)", lambda F, x, t: F.l1_loss(x, t, reduction="none"), N(3, 5), N(3, 5), grad=(0, 1)),
    case("smooth_l1_loss", lambda F, x, t: F.smooth_l1_loss(x, t, beta=0.5), N(5, 3), N(5, 3), grad=(0, 1)),
    case("smooth_l1_loss(beta=0)", lambda F, x, t: F.smooth_l1_loss(x, t, reduction="sum", beta=0.0),
         N(5, 3), N(5, 3)),
    case("huber_loss", lambda F, x, t: F.huber_loss(x, t, delta=1.5), N(5, 3, scale=2), N(5, 3), grad=(0, 1)),
    case("huber_loss(none)", lambda F, x, t: F.huber_loss(x, t, reduction="none"), N(7), N(7)),
    case("binary_cross_entropy_with_logits", lambda F, x, t: F.binary_cross_entropy_with_logits(x, t),
         N(4, 5, scale=5), U(4, 5), grad=(0, 1)),
    case("binary_cross_entropy_with_logits(weight,pos_weight,sum)",
         lambda F, x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction="sum", pos_weight=pw),
         N(4, 3, scale=5), U(4, 3), U(4, 3), U(3, low=0.5, high=3), grad=(0, 1)),
    case("binary_cross_entropy", lambda F, x, t, w: F.binary_cross_entropy(x, t, w), U(3, 5), U(3, 5), U(3, 5),
         grad=(0, 1)),
    case("kl_div", lambda F, x, t: F.kl_div(F.log_softmax(x, dim=-1), t, reduction="batchmean"),
         N(4, 5), P(4, 5), grad=(0, 1)),
    case("kl_div(log_target,mean)", lambda F, x, t: F.kl_div(x, t, reduction="mean", log_target=True),
         N(3, 4), N(3, 4), grad=(0, 1)),
    case("kl_div(zeros,none)", lambda F, x, t: F.kl_div(x, t, reduction="none"), N(2, 3),
         C([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])),
]

SDPA = "scaled_dot_product_attention"
ATTENTION = [
    case("sdpa", lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v), N(2, 3, 5, 4), N(2, 3, 6, 4),
         N(2, 3, 6, 3), grad=(0, 1, 2)),
    case("sdpa(causal)", lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         N(3, 5, 4), N(3, 6, 4), N(3, 6, 2), grad=(0, 1, 2)),
    case("sdpa(bool mask,scale)", lambda F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, scale=0.3),
         N(2, 5, 4), N(2, 5, 4), N(2, 5, 3), M(2, 5, 5), grad=(0, 1, 2)),
    case("sdpa(float mask,broadcast)", lambda F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
         N(2, 3, 4, 5), N(1, 3, 6, 5), N(3, 6, 2), N(4, 6), grad=(0, 1, 2, 3)),
    case("sdpa(masked row)", lambda F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
         N(4, 3), N(5, 3), N(5, 2), C([[True] * 5, [False] * 5, [True, False] * 2 + [True], [False] * 5]),
         grad=(0, 1, 2)),
]

LAYERS = [
    case("linear", lambda F, x, w, b: F.linear(x, w, b), N(2, 3, 5), N(4, 5), N(4), grad=(0, 1, 2)),
    case("linear(no bias)", lambda F, x, w: F.linear(x, w), N(5), N(3, 5), grad=(0, 1)),
    case("embedding", lambda F, i, w: F.embedding(i, w), I(3, 4, high=7), N(7, 5), grad=(1,)),
    case("embedding(padding_idx)", lambda F, i, w: F.embedding(i, w, padding_idx=2), I(9, high=4), N(4, 3),
         grad=(1,)),
]

CASES = ACTIVATIONS + NORMALIZATION + LOSSES + ATTENTION + LAYERS


def _torch(a):
    return torch.from_numpy(np.array(a))


def _leaves(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _check(out, ref, tol):
    out, ref = np.asarray(out), ref.detach().numpy()
    assert out.dtype == ref.dtype and out.shape == ref.shape, f"{out.dtype}{out.shape}, torch: {ref.dtype}{ref.shape}"
    scale = max(1.0, float(np.abs(ref[np.isfinite(ref)]).max(initial=0.0)))
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_against_torch(c, dtype):
    args = c.inputs(dtype)
    out = _leaves(tfn.jit(lambda *a: c.fn(nn, *a))(*args))
    ref = _leaves(c.fn(T, *map(_torch, args)))
    assert len(out) == len(ref)
    for o, r in zip(out, ref):
        _check(o, r, TOL[dtype])


@pytest.mark.parametrize("c", [c for c in CASES if c.grad], ids=lambda c: c.name)
def test_grad_against_torch(c):
    """grad of sum(out * cotangent) over the outputs, w.r.t. c.grad, against torch.autograd (float64)."""
    args = c.inputs(F64)
    rng = np.random.default_rng(1)
    cotangents = [rng.standard_normal(np.shape(r)) for r in _leaves(c.fn(T, *map(_torch, args)))]

    def loss(*a):
        return sum(tnp.sum(o * w) for o, w in zip(_leaves(c.fn(nn, *a)), cotangents))

    grads = tfn.jit(tfn.grad(loss, argnums=c.grad))(*args)
    targs = [_torch(a).requires_grad_(i in c.grad) for i, a in enumerate(args)]
    total = sum((o * _torch(w)).sum() for o, w in zip(_leaves(c.fn(T, *targs)), cotangents) if o.requires_grad)
    total.backward()
    for g, i in zip(grads, c.grad):
        _check(g, targs[i].grad, GRAD_TOL)


def test_every_function_has_a_case():
    names = set()
    for c in CASES:
        names |= set(c.fn.__code__.co_names)
    names |= {"batch_norm"}  # through _batch_norm
    names |= {"dropout", "one_hot"}  # not torch's: test_dropout_* below, one_hot in test_numpy_ops.py
    names |= set(convolution.__all__)  # against torch.nn.functional in test_convolution.py
    missing = [n for n in nn.__all__ if n not in names]
    assert not missing, f"tfn.nn functions without a case: {missing}"


# ---------------------------------------------------------------- conventions

def test_batch_norm_returns_the_statistics():
    """Always (y, running_mean, running_var): updated in training (no gradient), unchanged in eval."""
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    rm, rv = np.zeros(2), np.ones(2)
    y, m, v = nn.batch_norm(x, rm, rv, training=True)
    axes = (0, 2)
    np.testing.assert_allclose(m, 0.1 * x.mean(axes), rtol=1e-12)
    np.testing.assert_allclose(v, 0.9 + 0.1 * x.var(axes, ddof=1), rtol=1e-12)
    y2, m2, v2 = nn.batch_norm(x, m, v, training=False)
    np.testing.assert_array_equal(m2, m)
    np.testing.assert_array_equal(v2, v)
    np.testing.assert_allclose(y2, (x - m[:, None]) / np.sqrt(v[:, None] + 1e-5), rtol=1e-12)
    g = tfn.grad(lambda x: tnp.sum(nn.batch_norm(x, rm, rv, training=True)[1]))(x)
    np.testing.assert_array_equal(g, np.zeros_like(x))
    with pytest.raises(ValueError, match="needs running_mean"):
        nn.batch_norm(x, None, None)


def test_losses_take_keywords_after_weight():
    x, t = np.zeros((2, 3)), np.array([0, 1])
    with pytest.raises(TypeError):
        nn.cross_entropy(x, t, None, None, -100)  # torch's positional size_average
    with pytest.raises(ValueError, match="reduction"):
        nn.mse_loss(x, x, reduction="avg")


# ---------------------------------------------------------------- dropout

def test_dropout_identity_and_zeros():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    np.testing.assert_array_equal(nn.dropout(x, 0.0), x)
    np.testing.assert_array_equal(nn.dropout(x, 0.5, training=False), x)
    np.testing.assert_array_equal(nn.dropout(x, 1.0), np.zeros_like(x))
    with pytest.raises(ValueError, match="needs key"):
        nn.dropout(x, 0.5)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        nn.dropout(x, 1.5, key=tfn.random.key(0))


def test_dropout_draws_and_scales():
    x = np.random.default_rng(0).standard_normal((50, 80)).astype(np.float32)
    key = tfn.random.key(3)
    f = tfn.jit(lambda x, k: nn.dropout(x, 0.3, key=k))
    y = f(x, key)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, f(x, key))                       # a function of the key
    assert not np.array_equal(y, f(x, tfn.random.key(4)))
    kept = y != 0
    assert 0.27 < 1 - kept.mean() < 0.33
    np.testing.assert_allclose(y[kept], x[kept] / np.float32(0.7), rtol=1e-6)
    g = tfn.grad(lambda x: tnp.sum(nn.dropout(x, 0.3, key=key)))(x)  # the mask, scaled
    np.testing.assert_allclose(g, kept / np.float32(0.7), rtol=1e-6)


def test_dropout_under_vmap_follows_randomness():
    x, key = np.ones((4, 64)), tfn.random.key(0)
    drop = lambda x: nn.dropout(x, 0.5, key=key)  # noqa: E731
    different = tfn.vmap(drop, randomness="different")(x)
    same = tfn.vmap(drop, randomness="same")(x)
    assert not all(np.array_equal(different[0], r) for r in different[1:])
    assert all(np.array_equal(same[0], r) for r in same[1:])
    with pytest.raises(Exception, match="randomness"):
        tfn.vmap(drop)(x)


def test_attention_dropout_uses_key_rng():
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    key = tfn.random.key(1)
    out = nn.scaled_dot_product_attention(q, k, v, dropout_p=0.4, key_rng=key)
    weights = nn.dropout(nn.softmax(q @ k.T / 2.0), 0.4, key=key)
    np.testing.assert_allclose(out, weights @ v, rtol=1e-12)
    with pytest.raises(ValueError, match="key_rng"):
        nn.scaled_dot_product_attention(q, k, v, dropout_p=0.4)


# ---------------------------------------------------------------- per-sample gradients of models

def _mlp_loss(F, params, x, y):
    """linear -> layer_norm -> gelu -> linear -> cross_entropy, for one example or a batch."""
    w1, b1, g, beta, w2, b2 = params
    h = F.gelu(F.layer_norm(F.linear(x, w1, b1), (w1.shape[0],), g, beta))
    return F.cross_entropy(F.linear(h, w2, b2), y)


def test_per_sample_grads_of_an_mlp():
    rng = np.random.default_rng(0)
    d, hidden, classes, batch = 5, 6, 3, 4
    params = (rng.standard_normal((hidden, d)), rng.standard_normal(hidden), 1 + rng.standard_normal(hidden) / 4,
              rng.standard_normal(hidden) / 4, rng.standard_normal((classes, hidden)), rng.standard_normal(classes))
    x, y = rng.standard_normal((batch, d)), rng.integers(0, classes, batch)
    loss = lambda p, x, y: _mlp_loss(nn, p, x, y)  # noqa: E731
    per_sample = tfn.jit(tfn.vmap(tfn.grad(loss), in_dims=(None, 0, 0)))(params, x, y)
    grad = tfn.jit(tfn.grad(loss))
    for i in range(batch):
        for g, ref in zip(per_sample, grad(params, x[i], y[i])):
            np.testing.assert_allclose(g[i], ref, rtol=1e-10, atol=1e-12)
    tparams = tuple(map(_torch, params))
    tloss = lambda p, x, y: _mlp_loss(T, p, x, y)  # noqa: E731
    ref = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))(tparams, _torch(x), _torch(y))
    for g, r in zip(per_sample, ref):
        _check(g, r, GRAD_TOL)


def _block_loss(F, xp, params, tokens):
    """Next-token loss of a pre-norm transformer block (causal attention, GELU MLP, tied
    embedding) on one sequence of tokens (T,). `xp` is tfn.numpy or torch."""
    t, d = tokens.shape[0], params["emb"].shape[1]
    heads = 2
    h = F.embedding(tokens, params["emb"]) + params["pos"][:t]                      # (T, D)
    a = F.layer_norm(h, (d,), params["ln1_w"], params["ln1_b"])
    q, k, v = (xp.swapaxes(xp.reshape(F.linear(a, params[n]), (t, heads, d // heads)), 0, 1)
               for n in ("wq", "wk", "wv"))                                           # (H, T, D/H)
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    h = h + F.linear(xp.reshape(xp.swapaxes(o, 0, 1), (t, d)), params["wo"])
    m = F.layer_norm(h, (d,), params["ln2_w"], params["ln2_b"])
    h = h + F.linear(F.gelu(F.linear(m, params["w1"], params["b1"])), params["w2"], params["b2"])
    logits = F.linear(F.layer_norm(h, (d,)), params["emb"])                           # (T, vocab)
    return F.cross_entropy(logits[:-1], tokens[1:])


def test_per_sample_grads_of_a_transformer_block():
    rng = np.random.default_rng(0)
    vocab, d, ff, t, batch = 7, 4, 6, 5, 3
    shapes = {"emb": (vocab, d), "pos": (t, d), "ln1_w": (d,), "ln1_b": (d,), "wq": (d, d), "wk": (d, d),
              "wv": (d, d), "wo": (d, d), "ln2_w": (d,), "ln2_b": (d,), "w1": (ff, d), "b1": (ff,),
              "w2": (d, ff), "b2": (d,)}
    params = {n: rng.standard_normal(s) / np.sqrt(s[-1]) + (n.endswith("_w")) for n, s in shapes.items()}
    tokens = rng.integers(0, vocab, (batch, t))
    loss = lambda p, tok: _block_loss(nn, tnp, p, tok)  # noqa: E731
    per_sample = tfn.jit(tfn.vmap(tfn.grad(loss), in_dims=(None, 0)))(params, tokens)
    grad = tfn.jit(tfn.grad(loss))
    for i in range(batch):
        one = grad(params, tokens[i])
        for n in shapes:
            np.testing.assert_allclose(per_sample[n][i], one[n], rtol=1e-10, atol=1e-12, err_msg=n)
    tloss = lambda p, tok: _block_loss(T, torch, p, tok)  # noqa: E731
    ref = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0))({n: _torch(p) for n, p in params.items()},
                                                                     _torch(tokens))
    for n in shapes:
        _check(per_sample[n], ref[n], GRAD_TOL)
