"""Differentially private SGD of a ResNet with group norm on CIFAR-shaped data (functorch's
dp_cifar10 example, the torch.func "transforms" version).

The model is torchvision's resnet18 with every batch norm replaced by a GroupNorm of 8 groups,
as functorch's example builds it (`norm_layer=lambda c: nn.GroupNorm(8, c)`): a 7x7 stride-2
stem, a 3x3 stride-2 max-pool, four stages of two residual BasicBlocks (64, 128, 256, 512
channels; conv 3x3 -> group norm -> relu -> conv 3x3 -> group norm, plus the input, or its
1x1 stride-2 projection, then relu), a global average pool and a linear layer, here to 10
classes. One DP-SGD step:

1. per-sample gradients and losses: `tfn.vmap(tfn.grad_and_value(loss_of_one, has_aux=True))`
   over the batch, the parameters shared;
2. each sample's gradient (all parameters together) clipped to norm C: scaled by
   min(1, C / (norm + 1e-6));
3. the clipped gradients summed, Gaussian noise of standard deviation C * sigma added
   (`tfn.random.normal`, one key per step split over the parameters), divided by the batch
   size;
4. an SGD step with momentum (torch's SGD, lr 0.1, momentum 0.9, cosine schedule), in numpy.

Steps 1-3 are one compiled program. Parameters are a dict in torchvision's names and layouts
('layer2.0.downsample.0.weight' is a (128, 64, 1, 1) conv weight). The data are random images
of CIFAR-10's shape (3x32x32, normalized) with random labels: functorch's example downloads
CIFAR-10; this one needs no download, so its accuracy stays at chance and the step time is
what it measures.

    python examples/dp_sgd_resnet.py [--small]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn

GN_GROUPS = 8


def init_params(rng, widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), classes=10, dtype=np.float32):
    """torchvision's resnet init: convs kaiming-normal (fan_out, relu), group norms scale 1 and
    shift 0, the linear layer torch's default (uniform within ±1/sqrt(fan_in))."""
    def conv(out_c, in_c, k):
        return (rng.standard_normal((out_c, in_c, k, k)) * np.sqrt(2 / (out_c * k * k))).astype(dtype)

    def norm(prefix, c):
        params[f"{prefix}.weight"], params[f"{prefix}.bias"] = np.ones(c, dtype), np.zeros(c, dtype)
    params = {"conv1.weight": conv(widths[0], 3, 7)}
    norm("bn1", widths[0])
    in_c = widths[0]
    for stage, (width, count) in enumerate(zip(widths, blocks), 1):
        for b in range(count):
            block = f"layer{stage}.{b}"
            params[f"{block}.conv1.weight"] = conv(width, in_c, 3)
            norm(f"{block}.bn1", width)
            params[f"{block}.conv2.weight"] = conv(width, width, 3)
            norm(f"{block}.bn2", width)
            if _stride(stage, b) != 1 or in_c != width:
                params[f"{block}.downsample.0.weight"] = conv(width, in_c, 1)
                norm(f"{block}.downsample.1", width)
            in_c = width
    bound = 1 / np.sqrt(in_c)
    params["fc.weight"] = rng.uniform(-bound, bound, (classes, in_c)).astype(dtype)
    params["fc.bias"] = rng.uniform(-bound, bound, (classes,)).astype(dtype)
    return params


def _stride(stage: int, block: int) -> int:
    """torchvision's BasicBlock stride: 2 in the first block of every stage but the first."""
    return 2 if stage > 1 and block == 0 else 1


def _group_norm(params, prefix, x):
    return nn.group_norm(x, GN_GROUPS, params[f"{prefix}.weight"], params[f"{prefix}.bias"])


def basic_block(params, block, x, stride):
    out = nn.conv2d(x, params[f"{block}.conv1.weight"], stride=stride, padding=1)
    out = nn.relu(_group_norm(params, f"{block}.bn1", out))
    out = nn.conv2d(out, params[f"{block}.conv2.weight"], padding=1)
    out = _group_norm(params, f"{block}.bn2", out)
    identity = x
    if f"{block}.downsample.0.weight" in params:
        identity = nn.conv2d(x, params[f"{block}.downsample.0.weight"], stride=stride)
        identity = _group_norm(params, f"{block}.downsample.1", identity)
    return nn.relu(out + identity)


def resnet(params, x):
    """x: (N, 3, H, W) -> logits (N, classes); the stages and blocks are read off the params."""
    x = nn.conv2d(x, params["conv1.weight"], stride=2, padding=3)
    x = nn.relu(_group_norm(params, "bn1", x))
    x = nn.max_pool2d(x, 3, stride=2, padding=1)
    stage = 1
    while f"layer{stage}.0.conv1.weight" in params:
        b = 0
        while f"layer{stage}.{b}.conv1.weight" in params:
            x = basic_block(params, f"layer{stage}.{b}", x, _stride(stage, b))
            b += 1
        stage += 1
    x = tnp.reshape(nn.adaptive_avg_pool2d(x, 1), (x.shape[0], -1))
    return nn.linear(x, params["fc.weight"], params["fc.bias"])


def compute_loss_and_output(params, image, target):
    """The cross-entropy of one image (3, H, W) with a 0-d label, and its logits as aux."""
    output = resnet(params, tnp.expand_dims(image, 0))
    loss = nn.cross_entropy(output, tnp.expand_dims(target, 0))
    return loss, output[0]


def per_sample_grads(params, images, targets):
    """(per-sample gradients, each leaf with a leading batch axis, (per-sample losses, logits))."""
    return tfn.vmap(tfn.grad_and_value(compute_loss_and_output, has_aux=True), in_dims=(None, 0, 0))(
        params, images, targets)


def clip_and_accumulate_and_add_noise(sample_grads, key, max_per_sample_grad_norm, noise_multiplier):
    """Clips each sample's gradient to norm C = max_per_sample_grad_norm, sums over samples,
    adds N(0, (C * noise_multiplier)^2) noise to every entry and divides by the batch size.
    Returns that gradient and the per-sample norms before clipping."""
    names = list(sample_grads)
    batch_size = sample_grads[names[0]].shape[0]
    # A sample's norm over all parameters: the norm of its per-parameter norms.
    norms = tnp.sqrt(sum(tnp.sum(tnp.reshape(g * g, (batch_size, -1)), axis=1) for g in sample_grads.values()))
    clip_factor = tnp.minimum(max_per_sample_grad_norm / (norms + 1e-6), 1.0)
    grads = {k: tnp.tensordot(clip_factor, g, axes=1) for k, g in sample_grads.items()}
    stddev = max_per_sample_grad_norm * noise_multiplier
    keys = tfn.random.split(key, len(names))
    noised = {k: (grads[k] + stddev * tfn.random.normal(keys[i], grads[k].shape, grads[k].dtype)) / batch_size
              for i, k in enumerate(names)}
    return noised, norms


@tfn.jit
def private_gradient(params, images, targets, key, max_per_sample_grad_norm, noise_multiplier):
    """One DP-SGD gradient: (the clipped, summed, noised and averaged gradient, per-sample losses,
    logits, per-sample gradient norms)."""
    sample_grads, (sample_loss, output) = per_sample_grads(params, images, targets)
    grads, norms = clip_and_accumulate_and_add_noise(sample_grads, key, max_per_sample_grad_norm, noise_multiplier)
    return grads, sample_loss, output, norms


def random_cifar(rng, batch, dtype):
    """Images of CIFAR-10's shape, normalized like functorch's example (per-channel mean and std
    of CIFAR-10) from uniform pixels, and labels 0..9."""
    mean, std = np.array([0.4914, 0.4822, 0.4465]), np.array([0.2023, 0.1994, 0.2010])
    pixels = rng.random((batch, 3, 32, 32))
    images = (pixels - mean[:, None, None]) / std[:, None, None]
    return images.astype(dtype), rng.integers(0, 10, batch)


def main(small: bool = False, dtype=None, batch=None, steps=None, lr=0.1, momentum=0.9, sigma=1.5,
         max_per_sample_grad_norm=10.0):
    """Returns the initial params, the first batch, its per-sample losses, logits and gradient
    norms, its private gradient without noise (sigma 0) and with noise (the key of step 1), and
    the mean losses of training; with `small`, also the per-sample gradients themselves (a
    second program: at full size they are batch x 11M numbers)."""
    dtype = dtype or (np.float64 if small else np.float32)
    widths, blocks = ((8, 16), (1, 1)) if small else ((64, 128, 256, 512), (2, 2, 2, 2))
    batch = batch or (4 if small else 32)
    steps = steps or (2 if small else 5)
    rng = np.random.default_rng(0)
    params = init_params(rng, widths, blocks, dtype=dtype)
    images, targets = random_cifar(rng, batch, dtype)
    base_key = tfn.random.key(0)

    t0 = time.perf_counter()
    clipped, sample_loss, output, norms = private_gradient(params, images, targets, base_key,
                                                           max_per_sample_grad_norm, 0.0)
    print(f"DP-SGD, ResNet (widths {widths}, blocks {blocks}) with group norm, batch {batch} of 3x32x32, "
          f"{np.dtype(dtype).name}: first private gradient {time.perf_counter() - t0:.1f} s with compile")
    print(f"  per-sample gradient norms {np.min(norms):.2f} .. {np.max(norms):.2f}, "
          f"{np.mean(norms > max_per_sample_grad_norm):.0%} clipped to {max_per_sample_grad_norm}")
    out = {"params": params, "images": images, "targets": targets, "key": base_key,
           "max_per_sample_grad_norm": max_per_sample_grad_norm, "sigma": sigma,
           "sample_loss": sample_loss, "output": output, "norms": norms, "clipped_mean": clipped}
    if small:
        out["per_sample_grads"] = tfn.jit(per_sample_grads)(params, images, targets)[0]

    names = list(params)
    leaves = [params[k] for k in names]
    velocity = [np.zeros_like(p) for p in leaves]
    losses = []
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        if step > 1:
            images, targets = random_cifar(rng, batch, dtype)
        key = tfn.random.fold_in(base_key, step)
        g, sample_loss, output, _ = private_gradient(dict(zip(names, leaves)), images, targets, key,
                                                     max_per_sample_grad_norm, sigma)
        if step == 1:
            out["noisy_mean"], out["noise_key"] = g, key
        losses.append(float(np.mean(sample_loss)))
        step_lr = lr * 0.5 * (1 + np.cos(np.pi * step / (steps + 1)))   # cosine schedule
        for i, k in enumerate(names):   # torch's SGD with momentum
            velocity[i] = momentum * velocity[i] + g[k]
            leaves[i] = (leaves[i] - step_lr * velocity[i]).astype(dtype)
        accuracy = np.mean(np.argmax(output, axis=1) == targets)
        print(f"  step {step:3d}: loss {losses[-1]:.4f}, accuracy {100 * accuracy:.1f}%")
    seconds = (time.perf_counter() - t0) / steps
    print(f"  {steps} steps, {seconds:.2f} s per step ({1e3 * seconds / batch:.1f} ms per sample)")
    out["losses"] = np.array(losses)
    out["trained_params"] = dict(zip(names, leaves))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="widths (8, 16), one block per stage, batch 4, 2 steps, float64")
    parser.add_argument("--batch", type=int, help="samples per step (default 32)")
    parser.add_argument("--steps", type=int, help="training steps (default 5)")
    parser.add_argument("--sigma", type=float, default=1.5, help="noise multiplier (default 1.5)")
    parser.add_argument("-c", "--max-per-sample-grad-norm", type=float, default=10.0,
                        help="clip per-sample gradients to this norm (default 10)")
    a = parser.parse_args()
    main(a.small, batch=a.batch, steps=a.steps, sigma=a.sigma, max_per_sample_grad_norm=a.max_per_sample_grad_norm)
