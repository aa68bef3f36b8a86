"""The demo: a small MLP compiled by tfn on the CPU, beside numpy."""
import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn


def mlp(params, x):
    (w1, b1), (w2, b2) = params
    h = nn.relu(x @ w1 + b1)
    return nn.log_softmax(h @ w2 + b2)


def mlp_numpy(params, x):
    (w1, b1), (w2, b2) = params
    h = np.maximum(x @ w1 + b1, 0)
    z = h @ w2 + b2
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def main():
    rng = np.random.default_rng(0)
    params = ((rng.standard_normal((784, 512), np.float32) * 0.05, np.zeros(512, np.float32)),
              (rng.standard_normal((512, 10), np.float32) * 0.05, np.zeros(10, np.float32)))
    x = rng.standard_normal((64, 784), np.float32)
    out = tfn.jit(mlp)(params, x)
    ref = mlp_numpy(params, x)
    np.set_printoptions(precision=4, suppress=True)
    print("MLP 784-512-10, batch 64, log-probabilities of the first 2 rows")
    print("tfn:  ", out[:2], sep="\n")
    print("numpy:", ref[:2], sep="\n")
    print(f"max |tfn - numpy| = {np.abs(out - ref).max():.3g}")


if __name__ == "__main__":
    main()
