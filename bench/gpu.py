"""GPU benchmark: tfn (device="cuda") against torch.func and JAX on the same GPU.

Usage on a machine with an NVIDIA GPU: python bench/gpu.py [--out FILE.md]
Each case is checked against numpy before it is timed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import tfn  # noqa: E402
import tfn.numpy as tnp  # noqa: E402
from tfn import nn  # noqa: E402

RNG = np.random.default_rng(0)


def _params(sizes):
    return [((RNG.standard_normal((a, b)) * (1 / np.sqrt(a))).astype(np.float32), np.zeros(b, np.float32))
            for a, b in zip(sizes[:-1], sizes[1:])]


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = nn.relu(x @ w1 + b1)
    return -tnp.mean(tnp.sum(nn.log_softmax(h @ w2 + b2) * y, axis=-1))


def median_ms(fn, sync, repeat=30):
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def cases():
    params = _params([784, 512, 10])
    x = RNG.standard_normal((64, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 64)]
    a = RNG.standard_normal((1024, 1024)).astype(np.float32)
    b = RNG.standard_normal((1024, 1024)).astype(np.float32)
    per_sample = tfn.vmap(tfn.grad(lambda p, x, y: mlp_loss(p, x[None], y[None])), in_dims=(None, 0, 0))
    return [
        ("MLP forward 784-512-10 b64", tfn.jit(mlp_loss, device="cuda"), (params, x, y), "forward"),
        ("MLP grad 784-512-10 b64", tfn.jit(tfn.grad(mlp_loss), device="cuda"), (params, x, y), "grad"),
        ("per-sample grads MLP b64", tfn.jit(per_sample, device="cuda"), (params, x, y), "per_sample"),
        ("matmul 1024 f32", tfn.jit(lambda a, b: a @ b, device="cuda"), (a, b), "matmul"),
    ]


def torch_fns():
    import torch
    from torch.func import grad, vmap
    dev = torch.device("cuda")

    def loss(p, x, y):
        (w1, b1), (w2, b2) = p
        h = torch.relu(x @ w1 + b1)
        return -(torch.log_softmax(h @ w2 + b2, -1) * y).sum(-1).mean()

    def per_sample(p, x, y):
        return vmap(grad(lambda p, x, y: loss(p, x[None], y[None])), in_dims=(None, 0, 0))(p, x, y)

    def to(tree):
        return tfn.tree_map(lambda a: torch.tensor(a, device=dev), tree)
    table = {"forward": loss, "grad": grad(loss), "per_sample": per_sample, "matmul": lambda a, b: a @ b}
    return table, to, torch.cuda.synchronize


def jax_fns():
    import jax
    import jax.numpy as jnp

    def loss(p, x, y):
        (w1, b1), (w2, b2) = p
        h = jax.nn.relu(x @ w1 + b1)
        return -(jax.nn.log_softmax(h @ w2 + b2) * y).sum(-1).mean()

    per_sample = jax.vmap(jax.grad(lambda p, x, y: loss(p, x[None], y[None])), in_axes=(None, 0, 0))
    table = {"forward": jax.jit(loss), "grad": jax.jit(jax.grad(loss)), "per_sample": jax.jit(per_sample),
             "matmul": jax.jit(lambda a, b: a @ b)}
    gpu = jax.devices("gpu")[0]

    def to(tree):
        return jax.device_put(tfn.tree_map(jnp.asarray, tree), gpu)
    return table, to, (lambda: None), jax.block_until_ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="write the markdown table here too")
    args = parser.parse_args()
    from tfn.runtime.cuda import device_chip
    chip = device_chip()
    rows = ["| case | tfn cuda (ms) | torch.func (ms) | JAX jit (ms) | tfn/torch | tfn/JAX | compile (s) |",
            "|---|---|---|---|---|---|---|"]
    try:
        torch_table, torch_to, torch_sync = torch_fns()
    except Exception as e:  # noqa: BLE001 - a missing framework is a skipped column
        print("torch unavailable:", e)
        torch_table = None
    try:
        jax_table, jax_to, _, jax_ready = jax_fns()
    except Exception as e:  # noqa: BLE001
        print("jax unavailable:", e)
        jax_table = None
    for name, fn, inputs, key in cases():
        t = time.perf_counter()
        out = fn(*inputs)
        compile_s = time.perf_counter() - t
        reference = tfn.jit(fn.fn)(*inputs)
        for got, want in zip(tfn.tree_leaves(out), tfn.tree_leaves(reference)):
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
        ms = median_ms(lambda: fn(*inputs), lambda: None)
        t_ms = j_ms = float("nan")
        if torch_table:
            targs = torch_to(inputs)
            t_ms = median_ms(lambda: torch_table[key](*targs), torch_sync)
        if jax_table:
            jargs = jax_to(inputs)
            j_ms = median_ms(lambda: jax_ready(jax_table[key](*jargs)), lambda: None)
        rows.append(f"| {name} | {ms:.3f} | {t_ms:.3f} | {j_ms:.3f} | {ms / t_ms:.2f} | {ms / j_ms:.2f} | "
                    f"{compile_s:.2f} |")
        print(rows[-1], flush=True)
    text = f"GPU: {chip}\n\n" + "\n".join(rows) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
