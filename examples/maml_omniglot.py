"""MAML for few-shot Omniglot classification (functorch's maml-omniglot example, the
torch.func "transforms" version).

The model is functorch's: three blocks of [conv 3x3 (64 channels, no padding) -> batch norm in
training mode (batch statistics, no running statistics) -> relu -> max-pool 2] on 1x28x28
images, then a linear layer to the n classes of a task. Each task adapts the meta-parameters
by a few SGD steps (lr 0.1) of cross-entropy on its support set, each a `tfn.grad`; the task's
loss is the adapted model's cross-entropy on its query set. `tfn.vmap` runs the tasks'
inner loops as one program, and the meta-gradient of the summed query losses is a `tfn.grad`
through every inner step (second derivatives through conv, batch norm and max-pool). The
meta-parameters are trained with Adam (lr 1e-3), written in numpy.

Parameters are a dict in torch's names and layouts (nn.Sequential indices: '0.weight' is the
first conv's (out, in, kh, kw) weight, '1.weight' its batch norm's scale, '13.weight' the
(n_way, 64) linear weight).

The data are synthetic, of Omniglot's shapes: each task draws n_way random "characters"
(smoothed random binary images); its support and query images are shifted, noisy copies of
them, shuffled, with labels 0..n_way-1 (functorch's example downloads Omniglot; this one needs
no download).

Sizes are functorch's (5-way, 5 support and 15 query shots per class, 5 inner steps, 64
channels) but for the meta-batch: 4 tasks by default, where functorch's is 32 (`--task-num 32`).
The intermediates of 5 second-order inner steps take ~1.5 GiB per task in float32 (6.4 GB
resident at 4 tasks, where torch.func on CPU held 4.4 GB; tfn asks 47 GiB of workspace at 32,
more than the 23 GiB of the machine this was written on, and refuses with a MemoryError
before running).

    python examples/maml_omniglot.py [--small] [--task-num N]
"""
from __future__ import annotations

import argparse
import functools
import time

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn

CONVS = ("0", "4", "8")          # conv layers of the nn.Sequential, each followed by a batch norm
NORMS = ("1", "5", "9")
LINEAR = "13"


def init_params(rng, channels=64, n_way=5, dtype=np.float32):
    """torch's default init: convs and the linear layer uniform within ±1/sqrt(fan_in), batch
    norms scale 1 and shift 0."""
    def uniform(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(dtype)
    params = {}
    in_channels = 1
    for conv, norm in zip(CONVS, NORMS):
        params[f"{conv}.weight"] = uniform((channels, in_channels, 3, 3), 9 * in_channels)
        params[f"{conv}.bias"] = uniform((channels,), 9 * in_channels)
        params[f"{norm}.weight"] = np.ones(channels, dtype)
        params[f"{norm}.bias"] = np.zeros(channels, dtype)
        in_channels = channels
    params[f"{LINEAR}.weight"] = uniform((n_way, channels), channels)
    params[f"{LINEAR}.bias"] = uniform((n_way,), channels)
    return params


def net(params, x):
    """x: (N, 1, 28, 28) -> logits (N, n_way). Batch norm normalizes by the statistics of x's
    batch (torch's BatchNorm2d(track_running_stats=False) in training mode)."""
    for conv, norm in zip(CONVS, NORMS):
        x = nn.conv2d(x, params[f"{conv}.weight"], params[f"{conv}.bias"])
        x, _, _ = nn.batch_norm(x, None, None, params[f"{norm}.weight"], params[f"{norm}.bias"], training=True)
        x = nn.max_pool2d(nn.relu(x), 2, 2)
    x = tnp.reshape(x, (x.shape[0], -1))                     # 28 -> 26 -> 13 -> 11 -> 5 -> 3 -> 1
    return nn.linear(x, params[f"{LINEAR}.weight"], params[f"{LINEAR}.bias"])


def compute_loss(params, x, y):
    return nn.cross_entropy(net(params, x), y)


def loss_for_task(params, x_spt, y_spt, x_qry, y_qry, n_inner_iter=5, inner_lr=1e-1):
    """`n_inner_iter` SGD steps on the support set, then the adapted model's query loss and
    accuracy."""
    new_params = params
    for _ in range(n_inner_iter):
        grads = tfn.grad(compute_loss)(new_params, x_spt, y_spt)
        new_params = {k: new_params[k] - g * inner_lr for k, g in grads.items()}
    qry_logits = net(new_params, x_qry)
    qry_loss = nn.cross_entropy(qry_logits, y_qry)
    qry_acc = tnp.mean(tnp.asarray(tnp.argmax(qry_logits, axis=1) == y_qry, qry_logits.dtype))
    return qry_loss, qry_acc


def meta_loss(params, x_spt, y_spt, x_qry, y_qry, n_inner_iter=5):
    """The sum over tasks (leading axis of the data) of the post-adaptation query losses, as
    functorch's example backpropagates; the per-task losses and accuracies as aux."""
    task = functools.partial(loss_for_task, n_inner_iter=n_inner_iter)
    qry_losses, qry_accs = tfn.vmap(task, in_dims=(None, 0, 0, 0, 0))(params, x_spt, y_spt, x_qry, y_qry)
    return tnp.sum(qry_losses), (qry_losses, qry_accs)


meta_grad_and_value = tfn.jit(tfn.grad_and_value(meta_loss, has_aux=True), static_argnums=5)


def sample_tasks(rng, task_num, n_way, k_spt, k_qry, side=28, dtype=np.float32):
    """x_spt (task_num, n_way * k_spt, 1, side, side), y_spt (task_num, n_way * k_spt) and the
    query set likewise: per task, n_way random characters and noisy copies of them."""
    strokes = rng.random((task_num, n_way, side, side)) < 0.15
    # Blur the random pixels into strokes: sum of shifted copies, thresholded.
    blurred = sum(np.roll(np.roll(strokes, dy, axis=2), dx, axis=3) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    characters = (blurred >= 3).astype(np.float64)

    def draw(k):
        labels = np.stack([rng.permutation(np.repeat(np.arange(n_way), k)) for _ in range(task_num)])
        images = np.take_along_axis(characters, labels[:, :, None, None], axis=1)
        # Each copy drawn elsewhere (shifted by up to 2 pixels) and noisy, as by another hand.
        shifts = rng.integers(-2, 3, labels.shape + (2,))
        images = np.stack([[np.roll(im, tuple(s), axis=(0, 1)) for im, s in zip(task, task_shifts)]
                           for task, task_shifts in zip(images, shifts)])
        images = images + 0.5 * rng.standard_normal(images.shape)
        return images[:, :, None].astype(dtype), labels
    return (*draw(k_spt), *draw(k_qry))


def main(small: bool = False, dtype=None, task_num=None, n_way=5, k_spt=None, k_qry=None, n_inner_iter=None,
         channels=None, steps=None):
    """Returns the initial params, the first batch of tasks, the meta-gradient there, the
    per-task query losses and accuracies, and the mean query losses and accuracies of training."""
    dtype = dtype or (np.float64 if small else np.float32)
    defaults = dict(task_num=2, k_spt=1, k_qry=2, n_inner_iter=2, channels=8, steps=3) if small else \
        dict(task_num=4, k_spt=5, k_qry=15, n_inner_iter=5, channels=64, steps=20)
    task_num = task_num or defaults["task_num"]
    k_spt, k_qry = k_spt or defaults["k_spt"], k_qry or defaults["k_qry"]
    n_inner_iter, channels = n_inner_iter or defaults["n_inner_iter"], channels or defaults["channels"]
    steps = steps or defaults["steps"]
    rng = np.random.default_rng(1)
    params = init_params(rng, channels, n_way, dtype)
    first_tasks = sample_tasks(rng, task_num, n_way, k_spt, k_qry, dtype=dtype)

    t0 = time.perf_counter()
    meta_grad, (value, (qry_losses, qry_accs)) = meta_grad_and_value(params, *first_tasks, n_inner_iter)
    print(f"MAML Omniglot-shaped, {task_num} tasks {n_way}-way {k_spt}-shot ({k_qry} queries per class), "
          f"{n_inner_iter} inner steps, {channels} channels, {np.dtype(dtype).name}: "
          f"first meta-gradient {time.perf_counter() - t0:.1f} s with compile")
    out = {"params": params, "tasks": first_tasks, "n_inner_iter": n_inner_iter, "meta_grad": meta_grad,
           "meta_loss": value, "qry_losses": qry_losses, "qry_accs": qry_accs}

    names = list(params)
    leaves = [params[k] for k in names]
    m = [np.zeros_like(p) for p in leaves]
    v = [np.zeros_like(p) for p in leaves]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    losses, accs = [], []
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        batch = first_tasks if step == 1 else sample_tasks(rng, task_num, n_way, k_spt, k_qry, dtype=dtype)
        g, (_, (task_losses, task_accs)) = meta_grad_and_value(dict(zip(names, leaves)), *batch, n_inner_iter)
        losses.append(float(np.mean(task_losses)))
        accs.append(float(np.mean(task_accs)))
        for i, k in enumerate(names):   # Adam
            m[i] = b1 * m[i] + (1 - b1) * g[k]
            v[i] = b2 * v[i] + (1 - b2) * g[k] * g[k]
            mh, vh = m[i] / (1 - b1 ** step), v[i] / (1 - b2 ** step)
            leaves[i] = (leaves[i] - lr * mh / (np.sqrt(vh) + eps)).astype(dtype)
        if step % max(1, steps // 10) == 0 or step == 1:
            print(f"  meta-step {step:4d}: query loss {losses[-1]:.3f}, accuracy {100 * accs[-1]:.1f}%")
    print(f"  {steps} meta-steps in {time.perf_counter() - t0:.1f} s")
    out["losses"], out["accs"] = np.array(losses), np.array(accs)
    out["trained_params"] = dict(zip(names, leaves))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="2 tasks 5-way 1-shot, 2 inner steps, 8 channels, 3 meta-steps, float64")
    parser.add_argument("--task-num", type=int, help="tasks per meta-batch (default 4; functorch's is 32)")
    parser.add_argument("--k-spt", type=int, help="support shots per class (default 5)")
    parser.add_argument("--k-qry", type=int, help="query shots per class (default 15)")
    parser.add_argument("--inner-steps", type=int, help="SGD steps per task (default 5)")
    parser.add_argument("--channels", type=int, help="conv channels (default 64)")
    parser.add_argument("--steps", type=int, help="meta-steps (default 20)")
    a = parser.parse_args()
    main(a.small, task_num=a.task_num, k_spt=a.k_spt, k_qry=a.k_qry, n_inner_iter=a.inner_steps,
         channels=a.channels, steps=a.steps)
