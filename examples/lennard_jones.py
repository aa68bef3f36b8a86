"""A neural network potential fitted to Lennard-Jones energies and forces (functorch's
Lennard-Jones example).

Pairs of atoms at distances r in [0.5, 1] lie along x. The model, an MLP 1-16-16-16-16-1 with
tanh, maps a distance to an energy; the force it predicts on a displacement dr is
-dE/dr * dr / |dr|, with dE/dr from `tfn.vmap(tfn.jacrev(model))` over the distances, as
functorch's example computes it. The loss is the energies' MSE plus 0.01 times the forces'
MSE over 3 components, so training differentiates through the jacrev (second derivatives);
the parameters are trained with Adam, written in numpy.

The training forces are, as in functorch's example, the LJ force magnitude times dr itself
(not times the unit vector dr / |dr|): targets |dr| times the physical force, |dr| in [0.5, 1].

    python examples/lennard_jones.py [--small]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn

SIGMA = 0.5
EPSILON = 4.0


def lennard_jones(r):
    """The LJ pair energy 4ε((σ/r)^12 - (σ/r)^6), here with ε = 4 as in functorch's example."""
    return EPSILON * ((SIGMA / r) ** 12 - (SIGMA / r) ** 6)


def lennard_jones_force(r):
    """The magnitude of the LJ force, -dE/dr."""
    return -EPSILON * ((-12 * SIGMA ** 12 / r ** 13) + (6 * SIGMA ** 6 / r ** 7))


def init_params(rng, hidden=16, layers=4, dtype=np.float32):
    """torch's default Linear init (uniform within ±1/sqrt(fan_in)), torch's names as in
    nn.Sequential(Linear, Tanh, Linear, Tanh, ...): '0.weight', '2.weight', ..."""
    sizes = [1] + [hidden] * layers + [1]
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1 / np.sqrt(n_in)
        params[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype)
        params[f"{2 * i}.bias"] = rng.uniform(-bound, bound, (n_out,)).astype(dtype)
    return params


def model(params, r):
    """r: (..., 1) distances -> (..., 1) energies."""
    n = len(params) // 2
    x = r
    for i in range(n):
        x = nn.linear(x, params[f"{2 * i}.weight"], params[f"{2 * i}.bias"])
        if i < n - 1:
            x = nn.tanh(x)
    return x


def make_prediction(params, drs):
    """Energies (N, 1) and forces (N, 3) the model predicts for displacements drs (N, 3)."""
    norms = tnp.reshape(tnp.linalg.norm(drs, axis=1), (-1, 1))
    energies = model(params, norms)
    # dE/dr of each distance: the (1, 1) Jacobian of the model at one distance, over the batch.
    network_derivs = tnp.squeeze(tfn.vmap(tfn.jacrev(model, argnums=1), in_dims=(None, 0))(params, norms), -1)
    forces = -network_derivs * drs / norms
    return energies, forces


def loss_fn(energies, forces, predicted_energies, predicted_forces):
    return nn.mse_loss(energies, predicted_energies) + 0.01 * nn.mse_loss(forces, predicted_forces) / 3


def loss(params, drs, energies, forces):
    return loss_fn(energies, forces, *make_prediction(params, drs))


predict = tfn.jit(make_prediction)
loss_grad_and_value = tfn.jit(tfn.grad_and_value(loss))


def training_data(size, dtype):
    """Displacements along +x at distances linspace(0.5, 2σ), their LJ energies and forces."""
    r = np.linspace(0.5, 2 * SIGMA, size)
    drs = np.outer(r, [1.0, 0.0, 0.0])
    norms = np.linalg.norm(drs, axis=1).reshape(-1, 1)
    energies = lennard_jones(norms)
    forces = lennard_jones_force(norms) * drs
    return drs.astype(dtype), energies.astype(dtype), forces.astype(dtype)


def main(small: bool = False, dtype=None):
    """Returns the initial params, the training data, the predicted energies and forces at the
    initial params, and the losses of training."""
    dtype = dtype or (np.float64 if small else np.float32)
    rng = np.random.default_rng(0)
    size, epochs = (50, 30) if small else (1000, 400)
    params = init_params(rng, dtype=dtype)
    drs, energies, forces = training_data(size, dtype)
    predicted_energies, predicted_forces = predict(params, drs)
    out = {"params": params, "drs": drs, "energies": energies, "forces": forces,
           "predicted_energies": predicted_energies, "predicted_forces": predicted_forces}

    names = list(params)
    leaves = [params[k] for k in names]
    m = [np.zeros_like(p) for p in leaves]
    v = [np.zeros_like(p) for p in leaves]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    losses = []
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        g, value = loss_grad_and_value(dict(zip(names, leaves)), drs, energies, forces)
        losses.append(float(value))
        for i, k in enumerate(names):   # Adam
            m[i] = b1 * m[i] + (1 - b1) * g[k]
            v[i] = b2 * v[i] + (1 - b2) * g[k] * g[k]
            mh, vh = m[i] / (1 - b1 ** epoch), v[i] / (1 - b2 ** epoch)
            leaves[i] = (leaves[i] - lr * mh / (np.sqrt(vh) + eps)).astype(dtype)
        if epoch % 20 == 1:
            print(f"  epoch {epoch:4d}: loss {value:.5f}")
    print(f"Lennard-Jones fit of an MLP 1-16-16-16-16-1 to {size} energies and forces: {epochs} epochs in "
          f"{time.perf_counter() - t0:.1f} s, loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    out["losses"] = np.array(losses)
    out["trained_params"] = dict(zip(names, leaves))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="50 distances, 30 epochs, float64")
    main(parser.parse_args().small)
