"""MAML on sine regression (functorch's MAML regression example).

Each task is a sine wave A sin(x + φ) to regress from K points. The model (an MLP 1-40-40-1)
adapts to a task by one inner SGD step on the task's support points, a `tfn.grad`; the
meta-loss is the adapted model's loss on the task's query points, averaged over a batch of
tasks by `tfn.vmap`; the meta-gradient is a `tfn.grad` through the inner step (second
derivatives included). The meta-parameters are trained with Adam, written in numpy.

    python examples/maml_sine.py [--small]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn


def init_params(rng, hidden=40, dtype=np.float32):
    sizes = [(1, hidden), (hidden, hidden), (hidden, 1)]
    return [(rng.uniform(-1, 1, (m, n)).astype(dtype) / np.sqrt(m), np.zeros(n, dtype)) for m, n in sizes]


def net(params, x):
    (w1, b1), (w2, b2), (w3, b3) = params
    return nn.relu(nn.relu(x @ w1 + b1) @ w2 + b2) @ w3 + b3


def loss(params, x, y):
    return nn.mse_loss(net(params, x), y)


def adapted_loss(params, xs, ys, xq, yq, alpha=0.1):
    """One inner SGD step on the support set (xs, ys), then the loss on the query set."""
    g = tfn.grad(loss)(params, xs, ys)
    adapted = tfn.tree_util.tree_map(lambda p, gp: p - alpha * gp, params, g)
    return loss(adapted, xq, yq)


def meta_loss(params, xs, ys, xq, yq):
    """Mean over tasks (leading axis of xs, ys, xq, yq) of the post-adaptation query loss."""
    return tnp.mean(tfn.vmap(adapted_loss, in_dims=(None, 0, 0, 0, 0))(params, xs, ys, xq, yq))


meta_value_and_grad = tfn.jit(tfn.grad_and_value(meta_loss))


def sample_tasks(rng, tasks, shots, dtype):
    amp = rng.uniform(0.1, 5.0, (tasks, 1, 1))
    phase = rng.uniform(0, np.pi, (tasks, 1, 1))
    xs, xq = rng.uniform(-5, 5, (2, tasks, shots, 1))
    return tuple(a.astype(dtype) for a in (xs, amp * np.sin(xs + phase), xq, amp * np.sin(xq + phase)))


def main(small: bool = False, dtype=None):
    """Returns the initial params, the first batch of tasks, the meta-gradient there, and the
    meta-losses of training."""
    dtype = dtype or (np.float64 if small else np.float32)
    rng = np.random.default_rng(0)
    hidden, tasks, shots, steps = (8, 4, 5, 5) if small else (40, 16, 10, 1000)
    params = init_params(rng, hidden, dtype)
    first_tasks = sample_tasks(rng, tasks, shots, dtype)
    meta_grad, first_loss = meta_value_and_grad(params, *first_tasks)
    out = {"params": params, "tasks": first_tasks, "meta_grad": meta_grad, "meta_loss": first_loss}

    leaves, treedef = tfn.tree_util.tree_flatten(params)
    m = [np.zeros_like(p) for p in leaves]
    v = [np.zeros_like(p) for p in leaves]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    losses = []
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        batch = first_tasks if step == 1 else sample_tasks(rng, tasks, shots, dtype)
        g, value = meta_value_and_grad(tfn.tree_util.tree_unflatten(treedef, leaves), *batch)
        losses.append(float(value))
        for i, gi in enumerate(tfn.tree_util.tree_leaves(g)):   # Adam
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            mh, vh = m[i] / (1 - b1 ** step), v[i] / (1 - b2 ** step)
            leaves[i] = (leaves[i] - lr * mh / (np.sqrt(vh) + eps)).astype(dtype)
        if step % max(1, steps // 10) == 0 or step == 1:
            print(f"  meta-step {step:5d}: post-adaptation query loss {np.mean(losses[-max(1, steps // 10):]):.4f}")
    print(f"MAML sine regression, {tasks} tasks of {shots} shots, MLP 1-{hidden}-{hidden}-1: "
          f"{steps} meta-steps in {time.perf_counter() - t0:.1f} s")
    out["losses"] = np.array(losses)
    out["trained_params"] = tfn.tree_util.tree_unflatten(treedef, leaves)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="MLP 1-8-8-1, 4 tasks of 5 shots, 5 meta-steps")
    main(parser.parse_args().small)
