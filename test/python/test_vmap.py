"""tfn.vmap: every op batched against a Python loop, composition with autodiff, chunking, errors.

One table of op cases drives the per-op checks: a case is `fn(xp, *args)` for
xp in (numpy, tfn.numpy) and per-example argument shapes; each variant picks
in_dims / out_dims, and the reference stacks `fn(numpy, ...)` over the batch.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import nn
from tfn import ops
from tfn.batching import BATCH_RULES
from conftest import assert_close, example_of, make_array

B = 3


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable               # fn(xp, *args)
    shapes: tuple              # per-example shapes of the array arguments
    variants: tuple = ("all0", "moved")
    dtype: object = np.float64
    domain: str = "real"
    ref: Callable | None = None


def _sigmoid(xp, x):
    return nn.sigmoid(x) if xp is tnp else 1 / (1 + np.exp(-x))


def _rsqrt(xp, x):
    return tnp.rsqrt(x) if xp is tnp else 1 / np.sqrt(x)


def _stop(xp, x):
    return tnp.stop_gradient(x) if xp is tnp else x


def _at_add(xp, x, i, v):
    if xp is tnp:
        return x.at[i].add(v)
    out = x.copy()
    np.add.at(out, i, v)
    return out


def _pad(xp, x):
    return xp.pad(x, ((1, 0), (0, 2)))


def _conv(xp, x, w):
    """A VALID 2-d convolution, NCHW x OIHW; numpy's from its sliding windows."""
    if xp is tnp:
        return tfn.lax.conv(x, w, (1, 1), "VALID")
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.einsum("ncijkl,ockl->noij", windows, w)


def _cat(xp, *outs):
    """Several results as one vector (the loop reference stacks one array per example)."""
    return xp.concatenate([xp.ravel(xp.asarray(o, np.float64)) for o in outs])


U = (3, 4)
CASES = [
    Case("conv", _conv, ((2, 3, 5, 4), (4, 3, 2, 3)), ("all0", "moved", "lhs_only", "rhs_only")),
    *[Case(n, (lambda n: lambda xp, x: getattr(xp, n)(x))(n), (U,)) for n in
      ("negative", "exp", "sin", "cos", "tanh", "abs", "sign", "expm1")],
    *[Case(n, (lambda n: lambda xp, x: getattr(xp, n)(x))(n), (U,), domain="pos") for n in
      ("log", "log1p", "sqrt")],
    Case("rsqrt", _rsqrt, (U,), domain="pos"),
    Case("logistic", _sigmoid, (U,)),
    Case("stop_gradient", _stop, (U,)),
    *[Case(n, (lambda n: lambda xp, a, b: getattr(xp, n)(a, b))(n), (U, U),
           ("all0", "moved", "lhs_only", "rhs_only")) for n in ("add", "subtract", "multiply", "maximum")],
    *[Case(n, (lambda n: lambda xp, a, b: getattr(xp, n)(a, b))(n), (U, U), ("moved", "rhs_only"))
      for n in ("minimum", "true_divide")],
    Case("power", lambda xp, a, b: xp.power(a, b), (U, U), ("moved", "lhs_only"), domain="pos"),
    Case("int_add", lambda xp, a, b: a + b * 3, (U, U), ("moved", "lhs_only"), dtype=np.int64),
    Case("compare", lambda xp, a, b: xp.less(a, b), (U, U), ("moved", "rhs_only")),
    Case("select", lambda xp, c, a, b: xp.where(c > 0, a, b), (U, U, U), ("moved", "mid_only")),
    Case("convert", lambda xp, a: a.astype(np.int32), (U,)),
    Case("broadcast_in_dim", lambda xp, a: xp.broadcast_to(a, (2, 3, 4)), ((3, 1),)),
    Case("broadcast_row", lambda xp, a, r: a + r, (U, (4,)), ("all0", "moved", "rhs_only")),
    Case("reshape", lambda xp, a: xp.reshape(a, (2, 6)), (U,)),
    Case("transpose", lambda xp, a: xp.transpose(a, (2, 0, 1)), ((2, 3, 4),)),
    Case("slice", lambda xp, a: a[1:3, ::2], (U,)),
    Case("concatenate0", lambda xp, a, b: xp.concatenate([a, b], axis=0), (U, (2, 4)),
         ("all0", "moved", "lhs_only")),
    Case("concatenate1", lambda xp, a, b: xp.concatenate([a, b], axis=1), (U, (3, 2)), ("moved", "rhs_only")),
    Case("pad", _pad, (U,)),
    Case("pad_value", lambda xp, x, v: xp.pad(x, ((1, 0), (0, 2)), constant_values=v), (U, ()),
         ("all0", "lhs_only", "rhs0")),
    Case("iota", lambda xp, a: a * xp.arange(4.0), (U,), ("moved",)),
    Case("constant", lambda xp, a: a + xp.asarray([[1.0, 2.0, 3.0, 4.0]]), (U,), ("moved",)),
    Case("matmul", lambda xp, a, b: a @ b, ((2, 3), (3, 4)), ("all0", "moved", "lhs_only", "rhs_only")),
    Case("matvec", lambda xp, a, v: a @ v, ((2, 3), (3,)), ("moved", "rhs_only", "lhs_only")),
    Case("dot", lambda xp, u, v: xp.dot(u, v), ((3,), (3,)), ("all0", "lhs_only")),
    Case("batched_einsum", lambda xp, a, b: xp.einsum("bij,bjk->bik", a, b), ((2, 3, 4), (2, 4, 5)),
         ("moved", "lhs_only", "rhs_only")),
    Case("outer", lambda xp, u, v: xp.outer(u, v), ((3,), (4,)), ("moved", "rhs_only")),
    Case("sum_axis", lambda xp, a: xp.sum(a, axis=1), ((2, 3, 4),)),
    Case("sum_all", lambda xp, a: xp.sum(a), (U,)),
    Case("max", lambda xp, a: xp.max(a, axis=0), (U,)),
    Case("min", lambda xp, a: xp.min(a, axis=(0, 2)), ((2, 3, 4),)),
    Case("prod", lambda xp, a: xp.prod(a, axis=-1, keepdims=True), (U,)),
    Case("mean_var", lambda xp, a: xp.var(a, axis=0) + xp.mean(a), (U,), ("moved",)),
    Case("gather", lambda xp, a: a[np.array([2, 0, 2]), ::-1], (U,)),
    Case("take_along_axis", lambda xp, a: xp.take_along_axis(a, np.array([[3, 0], [1, 1], [-1, 2]]), 1), (U,)),
    Case("scatter", lambda xp, a, b: _at_add(xp, a, np.array([1, 1, 0]), b[:3]), (U, U),
         ("all0", "moved", "lhs_only", "rhs_only")),
    Case("bitwise", lambda xp, a, b: (a & b) ^ (a << 1) | ~b, (U, U), ("moved", "rhs_only"), dtype=np.int64),
    Case("any_all", lambda xp, a: xp.any(a > 1.0, axis=0) & xp.all(a > -2.0, axis=0), (U,)),
    Case("flip_roll", lambda xp, a: xp.flip(a, 1) + xp.roll(a, 1, 0), (U,)),
    Case("tile_repeat", lambda xp, a: _cat(xp, xp.tile(a, (2, 1)), xp.repeat(a, [1, 0, 2], 0), xp.repeat(a, 2)), (U,),
         ("all0", "moved")),
    Case("tril_diagonal", lambda xp, a: _cat(xp, xp.tril(a, 1), xp.triu(a), xp.diagonal(a, 1), xp.trace(a),
                                         xp.diag(a[0], 1)), (U,), ("all0", "moved")),
    Case("cumsum_cumprod", lambda xp, a: _cat(xp, xp.cumsum(a, 1), xp.cumprod(a, 0), xp.cumsum(a)), (U,),
         ("all0", "moved")),
    Case("sort_argsort", lambda xp, a: _cat(xp, xp.sort(a, 0), xp.argsort(a, 1), xp.sort(a, None)), (U,), ("all0", "moved")),
    Case("einsum_diag_ellipsis", lambda xp, a, b: _cat(xp, xp.einsum("ii->i", a[:, :3]), xp.einsum("...ij,jk->...ik", a, b),
                                                   xp.einsum("ij,jk,k->i", a, b, b[0])), (U, (4, 4)),
         ("all0", "moved", "lhs_only", "rhs_only")),
    Case("softmax", lambda xp, a: nn.softmax(a) if xp is tnp else
         np.exp(a - a.max(-1, keepdims=True)) / np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True),
         (U,), ("moved",)),
]


def _variant_dims(variant: str, shapes) -> tuple:
    n = len(shapes)
    if variant == "all0":
        return (0,) * n, 0
    if variant == "moved":  # batch dims at the end (negative) or in the middle; result batched at -1
        return tuple(-1 if k % 2 == 0 else min(1, len(s)) for k, s in enumerate(shapes)), -1
    if variant == "lhs_only":
        return (0,) + (None,) * (n - 1), 0
    if variant == "rhs_only":
        return (None,) * (n - 1) + (-1,), 1
    if variant == "rhs0":
        return (None,) * (n - 1) + (0,), 0
    if variant == "mid_only":
        return (None, 0, None), 0
    raise ValueError(variant)


def _batched_input(shape, dim, dtype, domain, seed):
    if dim is None:
        return make_array(shape, dtype, domain, seed)
    full = make_array((B,) + tuple(shape), dtype, domain, seed)
    return np.moveaxis(full, 0, dim if dim >= 0 else dim + len(shape) + 1)


def _loop_reference(fn, args, in_dims, out_dim):
    outs = []
    for b in range(B):
        outs.append(np.asarray(fn(np, *example_of(args, in_dims, b))))
    stacked = np.stack(outs, axis=0)
    return np.moveaxis(stacked, 0, out_dim if out_dim >= 0 else out_dim + stacked.ndim)


PARAMS = [pytest.param(c, v, id=f"{c.name}-{v}") for c in CASES for v in c.variants]


@pytest.mark.parametrize("case,variant", PARAMS)
def test_op_against_loop(case, variant):
    in_dims, out_dim = _variant_dims(variant, case.shapes)
    args = [_batched_input(s, d, case.dtype, case.domain, seed=k) for k, (s, d) in enumerate(zip(case.shapes, in_dims))]
    out = tfn.vmap(lambda *xs: case.fn(tnp, *xs), in_dims=in_dims, out_dims=out_dim)(*args)
    ref = _loop_reference(case.fn, args, in_dims, out_dim)
    assert_close(out, ref.astype(out.dtype) if ref.dtype != out.dtype and ref.dtype.kind == out.dtype.kind else ref)


def test_every_op_has_a_batching_rule():
    missing = [n for n in ops.ALL_OPS if f"tfn.{n}" not in BATCH_RULES]
    assert not missing, f"ops without a batching rule: {missing}"


# ---------------------------------------------------------------- IR shape of the rewrite

def _ir(f, *args) -> str:
    return tfn.jit(f).lower(*args).as_text("tfn")


def _function(text: str, suffix: str) -> str:
    m = re.search(r"func\.func private @(\w*" + suffix + r")\(.*?\n  }\n", text, re.S)
    assert m, text
    return m.group(0)


def test_unbatched_operand_is_not_broadcast():
    x, w = np.ones((5, 3)), np.ones((3, 4))
    text = _ir(lambda x, w: tfn.vmap(lambda x, w: tnp.tanh(x @ w), in_dims=(0, None))(x, w), x, w)
    body = _function(text, "_vmap")
    assert "broadcast_in_dim" not in body and "tfn.transpose" not in body, body
    assert "tensor<5x3xf64>, tensor<3x4xf64>) -> tensor<5x4xf64>" in body


def test_unbatched_ops_are_cloned_unchanged():
    x, w = np.ones((5, 3)), np.ones((3, 4))
    text = _ir(lambda x, w: tfn.vmap(lambda x, w: x @ tnp.exp(w), in_dims=(0, None))(x, w), x, w)
    body = _function(text, "_vmap")
    assert '"tfn.exp"(%arg1) : (tensor<3x4xf64>) -> tensor<3x4xf64>' in body


def _mlp_loss(p, x, y):
    h = tnp.tanh(x @ p["w1"] + p["b1"])
    return tnp.mean((h @ p["w2"] + p["b2"] - y) ** 2)


RNG = np.random.default_rng(0)
PARAMS_MLP = {"w1": RNG.standard_normal((3, 8)), "b1": RNG.standard_normal(8),
              "w2": RNG.standard_normal((8, 2)), "b2": RNG.standard_normal(2)}
X, Y = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 2))
per_sample_grads = tfn.vmap(tfn.grad(_mlp_loss), in_dims=(None, 0, 0))


def test_per_sample_gradients_match_a_loop():
    out = per_sample_grads(PARAMS_MLP, X, Y)
    grad_one = tfn.jit(tfn.grad(_mlp_loss))
    loop = [grad_one(PARAMS_MLP, X[i], Y[i]) for i in range(len(X))]
    for k in PARAMS_MLP:
        assert_close(out[k], np.stack([g[k] for g in loop]))


def test_per_sample_gradients_ir_is_straight_line():
    text = _ir(lambda p, x, y: per_sample_grads(p, x, y), PARAMS_MLP, X, Y)
    body = _function(text, "_vmap")
    ops_used = set(re.findall(r'"?(\w+\.\w+)"?\(', body))
    assert ops_used <= {f"tfn.{n}" for n in ops.ALL_OPS} | {"func.return"}, ops_used
    assert "scf." not in text and "call_indirect" not in text
    main = text.split("func.func private")[0]
    assert main.count("call @") == 1  # one call of the batched function, no per-example calls


def test_per_sample_gradients_inside_jit():
    out = tfn.jit(lambda p, x, y: per_sample_grads(p, x, y)["w1"].sum(0))(PARAMS_MLP, X, Y)
    full = tfn.grad(lambda p: tnp.sum(tfn.vmap(_mlp_loss, in_dims=(None, 0, 0))(p, X, Y)))(PARAMS_MLP)
    assert_close(out, full["w1"], scale=10)


def test_grad_of_a_function_using_vmap():
    g = tfn.grad(lambda p: tnp.sum(tfn.vmap(_mlp_loss, in_dims=(None, 0, 0))(p, X, Y)))(PARAMS_MLP)
    loop = tfn.grad(lambda p: sum(_mlp_loss(p, X[i], Y[i]) for i in range(len(X))))(PARAMS_MLP)
    for k in PARAMS_MLP:
        assert_close(g[k], loop[k], scale=10)


def test_vmap_of_jvp():
    f = lambda x: tnp.sin(x) * tnp.sum(x ** 2)  # noqa: E731
    xs, ts = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    out, tout = tfn.vmap(lambda x, t: tfn.jvp(f, (x,), (t,)))(xs, ts)
    for i in range(4):
        y, ty = tfn.jvp(f, (xs[i],), (ts[i],))
        assert_close(out[i], y)
        assert_close(tout[i], ty)


def test_vmap_of_vjp_is_a_jacobian():
    f = lambda x: tnp.tanh(x) * 2.0  # noqa: E731
    x = RNG.standard_normal(3)

    def jac(x):
        _, vjp_fn = tfn.vjp(f, x)
        return tfn.vmap(lambda ct: vjp_fn(ct)[0])(tnp.eye(3))
    assert_close(tfn.jit(jac)(x), np.diag(2 * (1 - np.tanh(x) ** 2)))


def test_nested_vmap():
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((3, 4))
    inner = tfn.vmap(lambda u, v: tnp.dot(u, v), in_dims=(0, 0))
    out = tfn.vmap(inner, in_dims=(0, None))(a, b)
    assert_close(out, np.einsum("ijk,jk->ij", a, b))
    out2 = tfn.vmap(tfn.vmap(lambda u, v: u * v, in_dims=(None, 0)), in_dims=(0, None))(b[0], b)
    assert_close(out2, b[0][:, None, None] * b[None])


def test_vmap_of_a_function_calling_others():
    helper = tfn.jit(lambda x: tnp.exp(x) - 1)
    g = tfn.grad(lambda x: tnp.sum(helper(x) ** 2))
    xs = RNG.standard_normal((4, 3)) * 0.3
    out = tfn.vmap(lambda x: g(x) + helper(x))(xs)
    ref = 2 * np.expm1(xs) * np.exp(xs) + np.expm1(xs)
    assert_close(out, ref, scale=5)


# ---------------------------------------------------------------- API semantics

def test_pytree_in_dims_and_out_dims():
    params = {"w": RNG.standard_normal((4, 3)), "b": RNG.standard_normal(4)}
    xs = RNG.standard_normal((3, 4))  # batch at dim 1

    def f(p, x):
        return {"y": p["w"] @ x + p["b"], "n": tnp.sum(x)}
    out = tfn.vmap(f, in_dims=({"w": None, "b": None}, 1), out_dims={"y": 1, "n": 0})(params, xs)
    ref = params["w"] @ xs + params["b"][:, None]
    assert_close(out["y"], ref)
    assert_close(out["n"], xs.sum(0))


def test_negative_in_dims_and_tuple_outputs():
    xs = RNG.standard_normal((2, 5))
    a, b = tfn.vmap(lambda x: (x * 2, tnp.sum(x)), in_dims=-1, out_dims=(-1, 0))(xs)
    assert_close(a, xs * 2)
    assert_close(b, xs.sum(0))


def test_unbatched_output_is_broadcast_or_kept():
    xs, c = RNG.standard_normal((4, 2)), RNG.standard_normal(2)
    a, k = tfn.vmap(lambda x, c: (x + c, c * 2), in_dims=(0, None))(xs, c)
    assert_close(a, xs + c)
    assert_close(k, np.broadcast_to(c * 2, (4, 2)).copy())
    a, k = tfn.vmap(lambda x, c: (x + c, c * 2), in_dims=(0, None), out_dims=(0, None))(xs, c)
    assert_close(k, c * 2)


def test_keyword_arguments_and_python_scalars_are_not_mapped():
    xs = RNG.standard_normal((4, 2))
    out = tfn.vmap(lambda x, s, scale=1.0: x * s * scale, in_dims=(0, None))(xs, 3.0, scale=2.0)
    assert_close(out, xs * 6)


def test_closure_over_outer_tracer_is_unbatched():
    xs, c = RNG.standard_normal((4, 2)), RNG.standard_normal(2)
    out = tfn.jit(lambda xs, c: tfn.vmap(lambda x: x * c + tnp.sum(c))(xs))(xs, c)
    assert_close(out, xs * c + c.sum())


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_chunk_size_matches_unchunked(chunk):
    xs, w = RNG.standard_normal((7, 3)), RNG.standard_normal((3, 2))
    f = lambda x, w: tnp.tanh(x @ w)  # noqa: E731
    out = tfn.vmap(f, in_dims=(0, None), chunk_size=chunk)(xs, w)
    assert_close(out, np.tanh(xs @ w))


def test_chunk_size_emits_slices_and_concatenate():
    xs, w = RNG.standard_normal((7, 3)), RNG.standard_normal((3, 2))
    text = tfn.jit(lambda xs, w: tfn.vmap(lambda x, w: x @ w, in_dims=(0, None), chunk_size=3)(xs, w)).lower(
        xs, w).as_text("tfn")
    main = text.split("func.func private")[0]
    assert main.count('"tfn.slice"') == 3 and main.count('"tfn.concatenate"') == 2 and main.count("call @") == 3


def test_many_chunks_join_in_order_with_logarithmic_depth():
    """200 chunks (and an odd remainder) join pairwise: the result of each concatenate feeds
    at most one more per round, so no chunk is copied more than ~log2(200) times."""
    xs = RNG.standard_normal((401, 3))
    f = tfn.jit(lambda xs: tfn.vmap(lambda x: tnp.sin(x) * 2, chunk_size=2)(xs))
    assert_close(f(xs), np.sin(xs) * 2)
    main = f.lower(xs).as_text("tfn").split("func.func private")[0]
    depth = {}
    for line in main.splitlines():
        if '"tfn.concatenate"' in line:
            name, operands = line.split("=")[0].strip(), line.split("(")[1].split(")")[0].split(", ")
            depth[name] = 1 + max(depth.get(o, 0) for o in operands)
    assert len(depth) == 200 and max(depth.values()) <= 9


def test_vmap_inside_jit_matches_eager():
    xs = RNG.standard_normal((4, 3))
    f = tfn.vmap(lambda x: nn.softmax(x) * 2)
    assert_close(tfn.jit(lambda x: f(x))(xs), f(xs))


# ---------------------------------------------------------------- errors

def test_error_inconsistent_batch_sizes():
    with pytest.raises(ValueError, match=r"argument 0 has size 3 at dim 0, argument 1 has size 4 at dim 0"):
        tfn.vmap(lambda a, b: a + b)(np.ones((3, 2)), np.ones((4, 2)))


def test_error_no_batched_input():
    with pytest.raises(ValueError, match="no input is batched"):
        tfn.vmap(lambda a: a * 2, in_dims=None)(np.ones(3))


def test_error_in_dims_structure():
    with pytest.raises(ValueError, match="in_dims has 1 entries but 2 positional arguments"):
        tfn.vmap(lambda a, b: a + b, in_dims=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="does not match the structure"):
        tfn.vmap(lambda p: p["a"], in_dims=({"b": 0},))({"a": np.ones(3)})


def test_error_in_dim_out_of_range():
    with pytest.raises(ValueError, match=r"in_dim 2 is out of range for argument 0 .* shape \(3, 2\)"):
        tfn.vmap(lambda a: a, in_dims=2)(np.ones((3, 2)))


def test_error_mapping_a_python_scalar():
    with pytest.raises(ValueError, match="only arrays can be mapped"):
        tfn.vmap(lambda a, s: a * s)(np.ones(3), 2.0)


def test_error_bad_options():
    with pytest.raises(ValueError, match="randomness"):
        tfn.vmap(lambda a: a, randomness="sometimes")
    with pytest.raises(ValueError, match="chunk_size"):
        tfn.vmap(lambda a: a, chunk_size=0)


def test_error_out_dims_none_for_batched_output():
    with pytest.raises(ValueError, match="out_dim cannot be None"):
        tfn.vmap(lambda a: a * 2, out_dims=None)(np.ones((3, 2)))


def test_error_missing_rule(monkeypatch):
    monkeypatch.delitem(BATCH_RULES, "tfn.cos")
    with pytest.raises(NotImplementedError, match="batching rule for 'tfn.cos' not implemented"):
        tfn.vmap(lambda a: tnp.cos(a) + 1.5)(np.ones((3, 2)))


# ---------------------------------------------------------------- ensembles

def _model(p, x):
    return tnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"]


MODELS = [{"w1": RNG.standard_normal((3, 5)), "b1": RNG.standard_normal(5), "w2": RNG.standard_normal((5, 2))}
          for _ in range(4)]
ensemble = tfn.vmap(lambda p, x: tfn.functional_call(_model, p, (x,)), in_dims=(0, None))


def test_stack_module_state():
    stacked, buffers = tfn.stack_module_state(MODELS)
    assert buffers == {}
    assert {k: v.shape for k, v in stacked.items()} == {"w1": (4, 3, 5), "b1": (4, 5), "w2": (4, 5, 2)}
    assert_close(stacked["w1"][2], MODELS[2]["w1"])
    with pytest.raises(ValueError, match="model 1 has parameter structure"):
        tfn.stack_module_state([MODELS[0], {"w1": MODELS[1]["w1"]}])
    with pytest.raises(ValueError, match="leaf 2 of model 1 has shape"):
        tfn.stack_module_state([MODELS[0], {**MODELS[1], "w2": np.ones((5, 3))}])


def test_ensemble_matches_a_loop():
    x = RNG.standard_normal((6, 3))
    out = ensemble(tfn.stack_module_state(MODELS)[0], x)
    assert_close(out, np.stack([np.tanh(x @ m["w1"] + m["b1"]) @ m["w2"] for m in MODELS]), scale=5)


def test_ensemble_with_per_model_data_and_gradients():
    xs, ys = RNG.standard_normal((4, 6, 3)), RNG.standard_normal((4, 6, 2))
    loss = lambda p, x, y: tnp.mean((tfn.functional_call(_model, p, x) - y) ** 2)  # noqa: E731
    params, _ = tfn.stack_module_state(MODELS)
    grads = tfn.vmap(tfn.grad(loss))(params, xs, ys)
    for i, m in enumerate(MODELS):
        g = tfn.grad(loss)(m, xs[i], ys[i])
        for k in m:
            assert_close(grads[k][i], g[k], scale=5)
