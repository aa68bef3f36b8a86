"""The examples in examples/ (ports of torch.func's tutorials) at their --small sizes, in
float64: each one's `main(small=True)` result checked by a property that needs only numpy
(per-sample gradients averaging to the batch gradient, two NTK methods agreeing, vmap
against a loop, Hessians symmetric and equal to jacrev(jacrev), ...), and, where torch is
importable, against torch.func running the same model on the same parameters."""
from __future__ import annotations

import functools
import importlib.util
import io
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

try:
    import torch
    import torch.func as tf
    import torch.nn.functional as TF
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _load(name):
    spec = importlib.util.spec_from_file_location(f"tfn_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_RESULTS: dict = {}


def run(name):
    """The example's module and `main(small=True)`'s result, run once per test session."""
    if name not in _RESULTS:
        module = _load(name)
        with redirect_stdout(io.StringIO()):
            _RESULTS[name] = module, module.main(small=True)
    return _RESULTS[name]


def close(got, want, rtol=1e-9):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(np.abs(want).max(), 1e-300))


def close_grads(got: dict, want: dict, rtol=1e-9):
    """`close` for each leaf of a dict of gradients, at a tolerance relative to the largest
    gradient entry of all: some leaves are zero up to rounding (a conv bias that a batch
    norm's centering cancels), and their rounding is only small against the others."""
    assert set(got) == set(want)
    scale = max(np.abs(np.asarray(w)).max() for w in want.values())
    for k in want:
        g, w = np.asarray(got[k]), np.asarray(want[k])
        assert g.shape == w.shape, k
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale, err_msg=k)


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _tree(tree):
    return tfn.tree_util.tree_map(_t, tree)


# ---------------------------------------------------------------- per-sample gradients

def test_per_sample_grads_average_to_the_batch_gradient():
    _, r = run("per_sample_grads")
    grads, full = r["per_sample_grads"], r["batch_grad"]
    assert set(grads) == set(r["params"])
    for k, p in r["params"].items():
        assert grads[k].shape == (len(r["data"]),) + p.shape and grads[k].dtype == np.float64
        close(grads[k].mean(0), full[k])


def test_per_sample_grads_of_one_sample_are_its_own_gradient():
    module, r = run("per_sample_grads")
    i = 2
    one = tfn.grad(module.loss)(r["params"], r["data"][i:i + 1], r["targets"][i:i + 1])
    for k in one:
        close(r["per_sample_grads"][k][i], one[k])


@needs_torch
def test_per_sample_grads_match_torch_func():
    _, r = run("per_sample_grads")

    def model(p, x):
        x = TF.relu(TF.conv2d(x, p["conv1.weight"], p["conv1.bias"]))
        x = TF.relu(TF.conv2d(x, p["conv2.weight"], p["conv2.bias"]))
        x = torch.flatten(TF.max_pool2d(x, 2), 1)
        x = TF.linear(TF.relu(TF.linear(x, p["fc1.weight"], p["fc1.bias"])), p["fc2.weight"], p["fc2.bias"])
        return TF.log_softmax(x, dim=1)

    def compute_loss(p, sample, target):
        return TF.nll_loss(model(p, sample.unsqueeze(0)), target.unsqueeze(0))
    want = tf.vmap(tf.grad(compute_loss), in_dims=(None, 0, 0))(_tree(r["params"]), _t(r["data"]),
                                                                 _t(r["targets"]))
    for k, g in r["per_sample_grads"].items():
        close(g, want[k].numpy())


# ---------------------------------------------------------------- neural tangent kernels

def test_ntk_methods_agree_and_the_trace_is_the_full_kernels():
    _, r = run("neural_tangent_kernels")
    full = r["jacobian_contraction_full"]
    n, m = len(r["x_train"]), len(r["x_test"])
    assert full.shape == (n, m, 10, 10)
    close(r["ntk_vector_products_full"], full)
    close(r["ntk_vector_products_trace"], r["jacobian_contraction_trace"])
    close(r["jacobian_contraction_trace"], np.einsum("nmkk->nm", full))


def test_ntk_of_an_input_with_itself_is_symmetric_positive_semidefinite():
    module, r = run("neural_tangent_kernels")
    x = r["x_train"]
    k = module.ntk_by_jacobian_contraction(r["params"], x, x)          # (N, N, O, O)
    big = np.transpose(k, (0, 2, 1, 3)).reshape(len(x) * 10, len(x) * 10)
    close(big, big.T)
    assert np.linalg.eigvalsh(big).min() > -1e-9 * np.abs(big).max()


@needs_torch
def test_ntk_matches_torch_func():
    _, r = run("neural_tangent_kernels")

    def single(p, x):
        x = x.unsqueeze(0)
        for layer in ("conv1", "conv2", "conv3"):
            x = TF.relu(TF.conv2d(x, p[f"{layer}.weight"], p[f"{layer}.bias"]))
        return TF.linear(torch.flatten(x, 1), p["fc.weight"], p["fc.bias"]).squeeze(0)
    p = _tree(r["params"])
    jac1 = tf.vmap(tf.jacrev(single), (None, 0))(p, _t(r["x_train"]))
    jac2 = tf.vmap(tf.jacrev(single), (None, 0))(p, _t(r["x_test"]))
    want = sum(torch.einsum("Naf,Mbf->NMab", jac1[k].flatten(2), jac2[k].flatten(2)) for k in p)
    close(r["jacobian_contraction_full"], want.numpy())
    close(r["ntk_vector_products_full"], want.numpy())


# ---------------------------------------------------------------- ensembling

def test_ensemble_matches_a_loop_over_the_models():
    module, r = run("ensembling")
    close(r["same_minibatch"], r["loop_same"])
    close(r["different_minibatches"], r["loop_different"])
    # and numpy, for one model
    p, x = r["models"][1], r["data"][1].reshape(len(r["data"][1]), -1)
    h = np.maximum(x @ p["fc1.weight"].T + p["fc1.bias"], 0)
    h = np.maximum(h @ p["fc2.weight"].T + p["fc2.bias"], 0)
    close(r["different_minibatches"][1], h @ p["fc3.weight"].T + p["fc3.bias"])
    for k, v in r["params"].items():
        close(v, np.stack([m[k] for m in r["models"]]))


@needs_torch
def test_ensemble_matches_torch_func():
    _, r = run("ensembling")

    def mlp(p, x):
        x = x.flatten(1)
        x = TF.relu(TF.linear(x, p["fc1.weight"], p["fc1.bias"]))
        x = TF.relu(TF.linear(x, p["fc2.weight"], p["fc2.bias"]))
        return TF.linear(x, p["fc3.weight"], p["fc3.bias"])
    p = _tree(r["params"])
    close(r["same_minibatch"], tf.vmap(mlp, in_dims=(0, None))(p, _t(r["data"][0])).numpy())
    close(r["different_minibatches"], tf.vmap(mlp)(p, _t(r["data"])).numpy())


# ---------------------------------------------------------------- jacobians and hessians

def test_jacobians_and_hessians_agree_with_each_other_and_by_hand():
    _, r = run("jacobians_hessians")
    w, b, x = r["weight"], r["bias"], r["x"]
    y = np.tanh(w @ x + b)
    jac = (1 - y ** 2)[:, None] * w
    close(r["jacrev"], jac)
    close(r["jacfwd"], jac)
    close(r["jac_rows_by_vjp"], jac)
    close(r["jac_bias"], np.diag(1 - y ** 2))
    close(r["jac_weight"], np.einsum("ij,k->ijk", np.diag(1 - y ** 2), x))
    close(r["batch_jacobian"], r["batch_jacobian_loop"])
    # d2 tanh(z)_i / dx dx = -2 y_i (1 - y_i^2) w_i w_i^T
    hess = np.einsum("i,ij,ik->ijk", -2 * y * (1 - y ** 2), w, w)
    for name in ("hessian", "jacfwd_jacfwd", "jacrev_jacrev", "jacfwd_jacrev"):
        close(r[name], hess)
    close(r["hessian"], np.swapaxes(r["hessian"], 1, 2))
    bw, bb, bx = r["batch_weight"], r["batch_bias"], r["batch_x"]
    by = np.tanh(bx @ bw.T + bb)
    close(r["batch_hessian"], np.einsum("ni,ij,ik->nijk", -2 * by * (1 - by ** 2), bw, bw))


@needs_torch
def test_jacobians_and_hessians_match_torch_func():
    _, r = run("jacobians_hessians")

    def predict(weight, bias, x):
        return TF.linear(x, weight, bias).tanh()
    w, b, x = _t(r["weight"]), _t(r["bias"]), _t(r["x"])
    close(r["jacrev"], tf.jacrev(predict, argnums=2)(w, b, x).numpy())
    jw, jb = tf.jacfwd(predict, argnums=(0, 1))(w, b, x)
    close(r["jac_weight"], jw.numpy())
    close(r["jac_bias"], jb.numpy())
    close(r["hessian"], tf.hessian(predict, argnums=2)(w, b, x).numpy())
    bw, bb, bx = _t(r["batch_weight"]), _t(r["batch_bias"]), _t(r["batch_x"])
    close(r["batch_jacobian"], tf.vmap(tf.jacrev(predict, argnums=2), in_dims=(None, None, 0))(bw, bb, bx).numpy())
    close(r["batch_hessian"], tf.vmap(tf.hessian(predict, argnums=2), in_dims=(None, None, 0))(bw, bb, bx).numpy())


# ---------------------------------------------------------------- whirlwind tour

def test_whirlwind_tour_by_hand():
    _, r = run("whirlwind_tour")
    x, xv, v = r["x0"], r["vjp_x"], r["vjp_v"]
    close(r["cos_x"], np.cos(x))
    close(r["neg_sin_x"], -np.sin(x))
    close(r["vjp"], np.cos(xv) * v)
    close(r["jacrev"], np.diag(np.cos(xv)))
    close(r["jacfwd"], np.diag(np.cos(xv)))
    close(r["hessian"], np.diag(-np.sin(xv)))
    close(r["jacrev_jacrev"], r["hessian"])
    close(r["vmap"], np.maximum(r["vmap_examples"] @ r["vmap_weights"], 0))


@needs_torch
def test_whirlwind_tour_matches_torch_func():
    _, r = run("whirlwind_tour")
    p, xs, ts = _tree(r["linear_params"]), _t(r["linear_x"]), _t(r["linear_t"])
    want = tf.grad(lambda p: TF.mse_loss(TF.linear(xs, p["weight"], p["bias"]), ts))(p)
    for k in want:
        close(r["grad_params"][k], want[k].numpy())
    xv, v = _t(r["vjp_x"]), _t(r["vjp_v"])
    close(r["vjp"], tf.vjp(torch.sin, xv)[1](v)[0].numpy())
    close(r["hessian"], tf.hessian(lambda x: x.sin().sum())(xv).numpy())
    w, ex = _t(r["vmap_weights"]), _t(r["vmap_examples"])
    close(r["vmap"], tf.vmap(lambda f: f.dot(w).relu())(ex).numpy())


# ---------------------------------------------------------------- MAML

def test_maml_meta_gradient_is_the_mean_of_per_task_meta_gradients():
    module, r = run("maml_sine")
    xs, ys, xq, yq = r["tasks"]
    per_task = [tfn.grad(module.adapted_loss)(r["params"], xs[i], ys[i], xq[i], yq[i]) for i in range(len(xs))]
    want = tfn.tree_util.tree_map(lambda *g: np.mean(g, axis=0), *per_task)
    for got, w in zip(tfn.tree_util.tree_leaves(r["meta_grad"]), tfn.tree_util.tree_leaves(want)):
        close(got, w)
    assert r["losses"].shape == (5,) and np.isfinite(r["losses"]).all()
    close(r["losses"][0], r["meta_loss"])


def test_maml_meta_gradient_matches_finite_differences():
    module, r = run("maml_sine")
    rng = np.random.default_rng(1)
    direction = tfn.tree_util.tree_map(lambda p: rng.standard_normal(p.shape), r["params"])
    eps = 1e-6
    shift = lambda s: tfn.tree_util.tree_map(lambda p, d: p + s * d, r["params"], direction)  # noqa: E731
    fd = (tfn.jit(module.meta_loss)(shift(eps), *r["tasks"]) -
          tfn.jit(module.meta_loss)(shift(-eps), *r["tasks"])) / (2 * eps)
    dot = sum(np.sum(g * d) for g, d in zip(tfn.tree_util.tree_leaves(r["meta_grad"]),
                                            tfn.tree_util.tree_leaves(direction)))
    np.testing.assert_allclose(dot, fd, rtol=1e-6)


@needs_torch
def test_maml_meta_gradient_matches_torch_func():
    _, r = run("maml_sine")

    def net(p, x):
        (w1, b1), (w2, b2), (w3, b3) = p
        return torch.relu(torch.relu(x @ w1 + b1) @ w2 + b2) @ w3 + b3

    def loss(p, x, y):
        return TF.mse_loss(net(p, x), y)

    def adapted_loss(p, xs, ys, xq, yq):
        g = tf.grad(loss)(p, xs, ys)
        return loss([tuple(w - 0.1 * gw for w, gw in zip(a, b)) for a, b in zip(p, g)], xq, yq)

    def meta_loss(p, *tasks):
        return tf.vmap(adapted_loss, in_dims=(None, 0, 0, 0, 0))(p, *tasks).mean()
    p = [tuple(_t(a) for a in layer) for layer in r["params"]]
    want = tf.grad(meta_loss)(p, *(_t(a) for a in r["tasks"]))
    for got, w in zip(tfn.tree_util.tree_leaves(r["meta_grad"]), [a for layer in want for a in layer]):
        close(got, w.numpy())


# ---------------------------------------------------------------- Lennard-Jones

def test_lennard_jones_forces_match_finite_differences_of_the_energy():
    module, r = run("lennard_jones")
    drs, forces = r["drs"], r["predicted_forces"]
    norms = np.linalg.norm(drs, axis=1, keepdims=True)
    energy = tfn.jit(module.model)
    h = 1e-6
    dE_dr = (energy(r["params"], norms + h) - energy(r["params"], norms - h)) / (2 * h)
    close(forces, -dE_dr * drs / norms, rtol=1e-7)
    close(r["predicted_energies"], energy(r["params"], norms))
    # and the training targets are the LJ energies and forces of functorch's example
    close(r["energies"], 4 * ((0.5 / norms) ** 12 - (0.5 / norms) ** 6))


def test_lennard_jones_training_lowers_the_loss():
    _, r = run("lennard_jones")
    losses = r["losses"]
    assert np.isfinite(losses).all() and losses[-1] < 0.6 * losses[0]
    assert (np.diff(losses[:10]) < 0).all()


@needs_torch
def test_lennard_jones_forces_and_loss_gradient_match_torch_func():
    module, r = run("lennard_jones")
    names = list(r["params"])

    def model(p, x):
        for i in range(len(names) // 2):
            x = TF.linear(x, p[f"{2 * i}.weight"], p[f"{2 * i}.bias"])
            x = torch.tanh(x) if i < len(names) // 2 - 1 else x
        return x

    def make_prediction(p, drs):
        norms = torch.norm(drs, dim=1).reshape(-1, 1)
        derivs = tf.vmap(tf.jacrev(model, argnums=1), in_dims=(None, 0))(p, norms).squeeze(-1)
        return model(p, norms), -derivs * drs / norms

    def loss(p, drs, energies, forces):
        e, f = make_prediction(p, drs)
        return TF.mse_loss(energies, e) + 0.01 * TF.mse_loss(forces, f) / 3
    p, drs = _tree(r["params"]), _t(r["drs"])
    e, f = make_prediction(p, drs)
    close(r["predicted_energies"], e.numpy())
    close(r["predicted_forces"], f.numpy())
    want = tf.grad(loss)(p, drs, _t(r["energies"]), _t(r["forces"]))
    got = tfn.grad(module.loss)(r["params"], r["drs"], r["energies"], r["forces"])
    for k in names:
        close(got[k], want[k].numpy())


# ---------------------------------------------------------------- MAML on Omniglot

def test_maml_omniglot_meta_gradient_is_the_sum_of_per_task_meta_gradients():
    module, r = run("maml_omniglot")
    x_spt, y_spt, x_qry, y_qry = r["tasks"]

    def task_loss(p, *task):
        return module.loss_for_task(p, *task, n_inner_iter=r["n_inner_iter"])[0]
    per_task = tfn.jit(tfn.grad(task_loss))
    grads = [per_task(r["params"], x_spt[i], y_spt[i], x_qry[i], y_qry[i]) for i in range(len(x_spt))]
    close_grads(r["meta_grad"], {k: sum(g[k] for g in grads) for k in r["params"]})
    close(r["meta_loss"], r["qry_losses"].sum())
    assert r["losses"][0] == pytest.approx(r["qry_losses"].mean())
    assert np.isfinite(r["losses"]).all() and ((0 <= r["accs"]) & (r["accs"] <= 1)).all()


def test_maml_omniglot_meta_gradient_matches_finite_differences():
    module, r = run("maml_omniglot")
    rng = np.random.default_rng(1)
    direction = {k: rng.standard_normal(p.shape) for k, p in r["params"].items()}
    loss = tfn.jit(lambda p, *tasks: module.meta_loss(p, *tasks, n_inner_iter=r["n_inner_iter"])[0])
    # The loss is sharply curved (the last batch norm sees 5 values per channel): a small step.
    eps = 1e-7
    shifted = lambda s: {k: p + s * direction[k] for k, p in r["params"].items()}  # noqa: E731
    fd = (loss(shifted(eps), *r["tasks"]) - loss(shifted(-eps), *r["tasks"])) / (2 * eps)
    dot = sum(np.sum(r["meta_grad"][k] * d) for k, d in direction.items())
    np.testing.assert_allclose(dot, fd, rtol=1e-6)


@needs_torch
def test_maml_omniglot_meta_gradient_matches_torch_func():
    module, r = run("maml_omniglot")

    def batch_norm_by_hand(x, weight, bias, eps=1e-5):
        centered = x - x.mean(dim=(0, 2, 3), keepdim=True)
        var = (centered ** 2).mean(dim=(0, 2, 3), keepdim=True)
        return centered / torch.sqrt(var + eps) * weight[:, None, None] + bias[:, None, None]

    def net(p, x, batch_norm):
        for conv, norm in zip(module.CONVS, module.NORMS):
            x = TF.conv2d(x, p[f"{conv}.weight"], p[f"{conv}.bias"])
            x = batch_norm(x, p[f"{norm}.weight"], p[f"{norm}.bias"])
            x = TF.max_pool2d(TF.relu(x), 2, 2)
        return TF.linear(x.flatten(1), p["13.weight"], p["13.bias"])

    def loss_for_task(p, x_spt, y_spt, x_qry, y_qry, batch_norm):
        def compute_loss(p, x, y):
            return TF.cross_entropy(net(p, x, batch_norm), y)
        for _ in range(r["n_inner_iter"]):
            g = tf.grad(compute_loss)(p, x_spt, y_spt)
            p = {k: p[k] - g[k] * 1e-1 for k in p}
        return compute_loss(p, x_qry, y_qry)

    def meta_loss(p, *tasks):
        task = functools.partial(loss_for_task, batch_norm=batch_norm_by_hand)
        return tf.vmap(task, in_dims=(None, 0, 0, 0, 0))(p, *tasks).sum()
    p, tasks = _tree(r["params"]), [_t(a) for a in r["tasks"]]
    want = tf.grad(meta_loss)(p, *tasks)
    close_grads(r["meta_grad"], {k: w.numpy() for k, w in want.items()})

    # With F.batch_norm, torch.func's vmap of this second-order gradient differs from its own
    # loop over tasks (by ~1e-3 here, torch 2.13); its loop agrees with the vmap above and
    # with tfn, so F.batch_norm is checked one task at a time.
    def training_batch_norm(x, weight, bias):
        return TF.batch_norm(x, None, None, weight, bias, training=True)
    per_task = [tf.grad(loss_for_task)(p, *(a[i] for a in tasks), training_batch_norm) for i in range(len(tasks[0]))]
    close_grads(r["meta_grad"], {k: sum(g[k] for g in per_task).numpy() for k in p})


# ---------------------------------------------------------------- DP-SGD

def _clipped_mean(sample_grads: dict, max_norm: float) -> dict:
    """DP-SGD's clipped average in numpy (no noise): each sample's gradient scaled by
    min(1, C / (its norm + 1e-6)), summed, divided by the batch size."""
    n = len(next(iter(sample_grads.values())))
    norms = np.sqrt(sum((g.reshape(n, -1) ** 2).sum(1) for g in sample_grads.values()))
    factor = np.minimum(max_norm / (norms + 1e-6), 1.0)
    return {k: np.tensordot(factor, g, axes=1) / n for k, g in sample_grads.items()}


def test_dp_sgd_per_sample_grads_are_single_example_gradients():
    module, r = run("dp_sgd_resnet")
    single = tfn.jit(tfn.grad(module.compute_loss_and_output, has_aux=True))
    for i in range(len(r["images"])):
        g, output = single(r["params"], r["images"][i], r["targets"][i])
        close_grads({k: v[i] for k, v in r["per_sample_grads"].items()}, g)
        close(r["output"][i], output)
    logp = r["output"] - np.log(np.exp(r["output"]).sum(1, keepdims=True))
    close(r["sample_loss"], -logp[np.arange(len(r["targets"])), r["targets"]])


def test_dp_sgd_clipping_and_noise():
    module, r = run("dp_sgd_resnet")
    c, grads = r["max_per_sample_grad_norm"], r["per_sample_grads"]
    n = len(r["images"])
    close(r["norms"], np.sqrt(sum((g.reshape(n, -1) ** 2).sum(1) for g in grads.values())))
    close_grads(r["clipped_mean"], _clipped_mean(grads, c))
    # A bound below every sample's norm clips them all: each then has norm C.
    small_c = 1e-3
    assert r["norms"].min() > small_c
    clipped, _, _, norms = module.private_gradient(r["params"], r["images"], r["targets"], r["key"], small_c, 0.0)
    close_grads(clipped, _clipped_mean(grads, small_c))
    close(norms, r["norms"])
    # The noise is the key's, of standard deviation C * sigma / batch.
    noise = {k: (r["noisy_mean"][k] - r["clipped_mean"][k]) * n / (c * r["sigma"]) for k in grads}
    names = list(grads)
    keys = tfn.random.split(r["noise_key"], len(names))
    for i, k in enumerate(names):
        close(noise[k], tfn.random.normal(keys[i], noise[k].shape, np.float64), rtol=1e-6)
    pooled = np.concatenate([v.ravel() for v in noise.values()])
    assert abs(pooled.mean()) < 0.1 and abs(pooled.std() - 1) < 0.1


@needs_torch
def test_dp_sgd_per_sample_grads_and_clipped_sum_match_torch_func():
    module, r = run("dp_sgd_resnet")

    def group_norm(p, prefix, x):
        return TF.group_norm(x, module.GN_GROUPS, p[f"{prefix}.weight"], p[f"{prefix}.bias"])

    def resnet(p, x):
        x = TF.relu(group_norm(p, "bn1", TF.conv2d(x, p["conv1.weight"], stride=2, padding=3)))
        x = TF.max_pool2d(x, 3, stride=2, padding=1)
        blocks = sorted({k.rsplit(".conv1", 1)[0] for k in p if k.startswith("layer") and ".conv1." in k})
        for block in blocks:
            stride = 2 if block.split(".")[1] == "0" and block != "layer1.0" else 1
            out = TF.relu(group_norm(p, f"{block}.bn1", TF.conv2d(x, p[f"{block}.conv1.weight"], stride=stride,
                                                                  padding=1)))
            out = group_norm(p, f"{block}.bn2", TF.conv2d(out, p[f"{block}.conv2.weight"], padding=1))
            if f"{block}.downsample.0.weight" in p:
                x = group_norm(p, f"{block}.downsample.1", TF.conv2d(x, p[f"{block}.downsample.0.weight"],
                                                                       stride=stride))
            x = TF.relu(out + x)
        return TF.linear(TF.adaptive_avg_pool2d(x, 1).flatten(1), p["fc.weight"], p["fc.bias"])

    def compute_loss_and_output(p, image, target):
        output = resnet(p, image.unsqueeze(0))
        return TF.cross_entropy(output, target.unsqueeze(0)), output.squeeze(0)
    grads, (loss, output) = tf.vmap(tf.grad_and_value(compute_loss_and_output, has_aux=True), (None, 0, 0))(
        _tree(r["params"]), _t(r["images"]), _t(r["targets"]))
    want = {k: g.numpy() for k, g in grads.items()}
    close_grads({k: g.reshape(-1, *g.shape[2:]) for k, g in r["per_sample_grads"].items()},
                {k: g.reshape(-1, *g.shape[2:]) for k, g in want.items()})
    close(r["sample_loss"], loss.numpy())
    close(r["output"], output.numpy())
    close_grads(r["clipped_mean"], _clipped_mean(want, r["max_per_sample_grad_norm"]))
