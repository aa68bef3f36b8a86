"""Model ensembling by vmap over stacked parameters (torch.func's ensembling tutorial).

Ten small MLPs (784-128-128-10) with the same architecture and different weights: their
parameters are stacked along a new leading axis with `tfn.stack_module_state`, and one
`tfn.vmap` over that axis runs all of them at once, either on one shared minibatch
(`in_dims=(0, None)`) or each on its own minibatch (`in_dims=(0, 0)`). Both are checked
against a Python loop over the models.

    python examples/ensembling.py [--small]
"""
from __future__ import annotations

import argparse

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn


def init_mlp(rng, hidden=128, dtype=np.float32):
    def uniform(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(dtype)
    return {"fc1.weight": uniform((hidden, 784), 784), "fc1.bias": uniform((hidden,), 784),
            "fc2.weight": uniform((hidden, hidden), hidden), "fc2.bias": uniform((hidden,), hidden),
            "fc3.weight": uniform((10, hidden), hidden), "fc3.bias": uniform((10,), hidden)}


def mlp(params, x):
    """x: (N, 1, 28, 28) -> logits (N, 10)."""
    x = tnp.reshape(x, (x.shape[0], -1))
    x = nn.relu(nn.linear(x, params["fc1.weight"], params["fc1.bias"]))
    x = nn.relu(nn.linear(x, params["fc2.weight"], params["fc2.bias"]))
    return nn.linear(x, params["fc3.weight"], params["fc3.bias"])


def ensemble(params, x):
    return tfn.functional_call(mlp, params, (x,))


same_minibatch = tfn.jit(tfn.vmap(ensemble, in_dims=(0, None)))
different_minibatches = tfn.jit(tfn.vmap(ensemble, in_dims=(0, 0)))


def main(small: bool = False, dtype=None):
    """Returns the models' params, the stacked params, the data and both ensembles' predictions."""
    dtype = dtype or (np.float64 if small else np.float32)
    rng = np.random.default_rng(0)
    num_models, batch, hidden = (3, 5, 16) if small else (10, 64, 128)
    models = [init_mlp(rng, hidden, dtype) for _ in range(num_models)]
    data = rng.standard_normal((num_models, batch, 1, 28, 28)).astype(dtype)   # a minibatch per model
    params, buffers = tfn.stack_module_state(models)
    assert buffers == {}

    minibatch = data[0]
    pred_same = same_minibatch(params, minibatch)              # (num_models, batch, 10)
    pred_diff = different_minibatches(params, data)
    loop_same = np.stack([tfn.jit(mlp)(m, minibatch) for m in models])
    loop_diff = np.stack([tfn.jit(mlp)(m, x) for m, x in zip(models, data)])
    print(f"ensemble of {num_models} MLPs 784-{hidden}-{hidden}-10, minibatches of {batch}, {np.dtype(dtype).name}")
    print(f"  same minibatch:        {pred_same.shape}, max |vmap - loop| {np.abs(pred_same - loop_same).max():.2e}")
    print(f"  different minibatches: {pred_diff.shape}, max |vmap - loop| {np.abs(pred_diff - loop_diff).max():.2e}")
    print("  predicted classes of sample 0 by each model:", pred_same[:, 0].argmax(-1))
    return {"models": models, "params": params, "data": data, "same_minibatch": pred_same,
            "different_minibatches": pred_diff, "loop_same": loop_same, "loop_different": loop_diff}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="3 models 16 wide, minibatches of 5")
    main(parser.parse_args().small)
