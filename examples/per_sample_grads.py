"""Per-sample gradients of a small MNIST-shaped CNN (torch.func's per-sample-grads tutorial).

The loss of one sample is differentiated with `tfn.grad`, and `tfn.vmap` maps that over the
batch while the parameters stay shared (`in_dims=(None, 0, 0)`): one compiled program, no
Python loop. Parameters are a dict in torch's names and layouts (OIHW convolution weights,
(out, in) linear weights), so they can be copied to and from an `nn.Module`'s state_dict.

    python examples/per_sample_grads.py [--small]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn


def init_params(rng, c1=32, c2=64, hidden=128, side=28, classes=10, dtype=np.float32):
    """torch's default init (uniform within ±1/sqrt(fan_in)) for conv1, conv2, fc1, fc2."""
    flat = c2 * ((side - 4) // 2) ** 2

    def uniform(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(dtype)
    return {
        "conv1.weight": uniform((c1, 1, 3, 3), 9), "conv1.bias": uniform((c1,), 9),
        "conv2.weight": uniform((c2, c1, 3, 3), 9 * c1), "conv2.bias": uniform((c2,), 9 * c1),
        "fc1.weight": uniform((hidden, flat), flat), "fc1.bias": uniform((hidden,), flat),
        "fc2.weight": uniform((classes, hidden), hidden), "fc2.bias": uniform((classes,), hidden),
    }


def model(params, x):
    """x: (N, 1, H, W) -> log-probabilities (N, classes)."""
    x = nn.relu(nn.conv2d(x, params["conv1.weight"], params["conv1.bias"]))
    x = nn.relu(nn.conv2d(x, params["conv2.weight"], params["conv2.bias"]))
    x = nn.max_pool2d(x, 2)
    x = tnp.reshape(x, (x.shape[0], -1))
    x = nn.relu(nn.linear(x, params["fc1.weight"], params["fc1.bias"]))
    x = nn.linear(x, params["fc2.weight"], params["fc2.bias"])
    return nn.log_softmax(x, axis=1)


def loss(params, x, target):
    """Mean negative log likelihood of integer labels `target` (N,) for a batch x (N, 1, H, W)."""
    return nn.nll_loss(model(params, x), target)


def sample_loss(params, sample, target):
    """The loss of one sample (1, H, W) with a 0-d label: the batch loss of a batch of one."""
    return loss(params, tnp.expand_dims(sample, 0), tnp.expand_dims(target, 0))


per_sample_grads = tfn.jit(tfn.vmap(tfn.grad(sample_loss), in_dims=(None, 0, 0)))
batch_grad = tfn.jit(tfn.grad(loss))


def main(small: bool = False, dtype=None):
    """Returns params, data, targets, the per-sample gradients (a dict, each leaf with a leading
    batch axis) and the gradient of the batch's mean loss."""
    dtype = dtype or (np.float64 if small else np.float32)
    rng = np.random.default_rng(0)
    batch, c1, c2, hidden = (6, 4, 8, 16) if small else (64, 32, 64, 128)
    params = init_params(rng, c1, c2, hidden, dtype=dtype)
    data = rng.standard_normal((batch, 1, 28, 28)).astype(dtype)
    targets = rng.integers(0, 10, batch)

    t0 = time.perf_counter()
    grads = per_sample_grads(params, data, targets)
    t1 = time.perf_counter()
    grads = per_sample_grads(params, data, targets)
    t2 = time.perf_counter()
    full = batch_grad(params, data, targets)

    print(f"per-sample gradients of a CNN, batch {batch}, {np.dtype(dtype).name} "
          f"(first call {t1 - t0:.2f} s with compile, then {1e3 * (t2 - t1):.1f} ms)")
    for name, g in grads.items():
        print(f"  {name:13s} {str(params[name].shape):18s} -> {g.shape}")
    # The mean over samples of per-sample gradients is the gradient of the mean loss.
    err = max(float(np.abs(grads[k].mean(0) - full[k]).max() / (np.abs(full[k]).max() + 1e-30)) for k in full)
    print(f"  mean of per-sample grads vs batch grad: max relative difference {err:.2e}")
    return {"params": params, "data": data, "targets": targets, "per_sample_grads": grads, "batch_grad": full}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a batch of 6 and fewer channels")
    main(parser.parse_args().small)
