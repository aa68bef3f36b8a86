"""Empirical neural tangent kernels of a CNN (torch.func's NTK tutorial).

For a network f(θ, x) with O outputs, the empirical NTK of inputs x1, x2 is the (O, O)
matrix J(x1) J(x2)^T, where J(x) = ∂f(θ, x)/∂θ, for every pair of inputs: (N, M, O, O).
Two ways to compute it, which must agree:

- jacobian contraction: per-input Jacobians by `vmap(jacrev(f))`, then an einsum;
- NTK-vector products: for each basis vector e of the output, J(x2) (J(x1)^T e) as a `jvp`
  of a `vjp`, vmapped over the basis and over both sets of inputs; J is never formed.

'full' returns the (N, M, O, O) kernel, 'trace' its trace over the outputs, (N, M).

    python examples/neural_tangent_kernels.py [--small]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn


def init_params(rng, channels=32, side=32, classes=10, dtype=np.float32):
    """conv1 3->c, conv2 c->c, conv3 c->c (3x3, no padding), fc (c * (side-6)^2) -> classes."""
    def uniform(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(dtype)
    c, flat = channels, channels * (side - 6) ** 2
    return {
        "conv1.weight": uniform((c, 3, 3, 3), 27), "conv1.bias": uniform((c,), 27),
        "conv2.weight": uniform((c, c, 3, 3), 9 * c), "conv2.bias": uniform((c,), 9 * c),
        "conv3.weight": uniform((c, c, 3, 3), 9 * c), "conv3.bias": uniform((c,), 9 * c),
        "fc.weight": uniform((classes, flat), flat), "fc.bias": uniform((classes,), flat),
    }


def model(params, x):
    """x: (N, 3, H, W) -> logits (N, classes)."""
    for layer in ("conv1", "conv2", "conv3"):
        x = nn.relu(nn.conv2d(x, params[f"{layer}.weight"], params[f"{layer}.bias"]))
    return nn.linear(tnp.reshape(x, (x.shape[0], -1)), params["fc.weight"], params["fc.bias"])


def model_single(params, x):
    """One input (3, H, W) -> its logits (classes,)."""
    return model(params, tnp.expand_dims(x, 0))[0]


def ntk_by_jacobian_contraction(params, x1, x2, compute="full"):
    jac1 = tfn.vmap(tfn.jacrev(model_single), in_dims=(None, 0))(params, x1)   # dict of (N, O, *p.shape)
    jac2 = tfn.vmap(tfn.jacrev(model_single), in_dims=(None, 0))(params, x2)
    spec = {"full": "Naf,Mbf->NMab", "trace": "Naf,Maf->NM", "diagonal": "Naf,Maf->NMa"}[compute]
    result = 0
    for name in jac1:   # sum over the parameter tensors of each one's contraction
        j1 = tnp.reshape(jac1[name], (x1.shape[0], -1, jac1[name][0, 0].size))
        j2 = tnp.reshape(jac2[name], (x2.shape[0], -1, jac2[name][0, 0].size))
        result = result + tnp.einsum(spec, j1, j2)
    return result


def ntk_by_ntk_vector_products(params, x1, x2, compute="full"):
    def ntk_of_pair(a, b):
        out, vjp_fn = tfn.vjp(lambda p: model_single(p, a), params)

        def ntk_column(e):                       # J(b) J(a)^T e
            (ct,) = vjp_fn(e)
            return tfn.jvp(lambda p: model_single(p, b), (params,), (ct,))[1]
        basis = tnp.eye(out.shape[0], dtype=out.dtype)
        # row k is J(b) J(a)^T e_k, whose entry l is J(a)[k] . J(b)[l]: the kernel's [k, l]
        return tfn.vmap(ntk_column)(basis)
    result = tfn.vmap(tfn.vmap(ntk_of_pair, in_dims=(None, 0)), in_dims=(0, None))(x1, x2)   # (N, M, O, O)
    # tfn's einsum takes no repeated index within a term ('NMKK->NM'): the diagonal is a mask.
    diagonal = tnp.sum(result * tnp.eye(result.shape[-1], dtype=result.dtype), axis=-1)
    if compute == "trace":
        return tnp.sum(diagonal, axis=-1)
    if compute == "diagonal":
        return diagonal
    return result


def main(small: bool = False, dtype=None):
    """Returns params, x_train, x_test and the kernels of both methods, full and trace."""
    dtype = dtype or (np.float64 if small else np.float32)
    rng = np.random.default_rng(0)
    channels, side, n_train, n_test = (4, 10, 3, 2) if small else (32, 32, 20, 5)
    params = init_params(rng, channels, side, dtype=dtype)
    x_train = rng.standard_normal((n_train, 3, side, side)).astype(dtype)
    x_test = rng.standard_normal((n_test, 3, side, side)).astype(dtype)

    out = {"params": params, "x_train": x_train, "x_test": x_test}
    for method in (ntk_by_jacobian_contraction, ntk_by_ntk_vector_products):
        for compute in ("full", "trace"):
            fn = tfn.jit(method, static_argnames=("compute",))
            t0 = time.perf_counter()
            fn(params, x_train, x_test, compute=compute)
            t1 = time.perf_counter()
            out[f"{method.__name__[7:]}_{compute}"] = k = fn(params, x_train, x_test, compute=compute)
            t2 = time.perf_counter()
            print(f"NTK {compute:5s} by {method.__name__[7:]:22s}: shape {k.shape}, "
                  f"first call {t1 - t0:.2f} s, then {1e3 * (t2 - t1):.1f} ms")
    for compute in ("full", "trace"):
        a, b = out[f"jacobian_contraction_{compute}"], out[f"ntk_vector_products_{compute}"]
        print(f"  {compute}: max relative difference of the two methods {np.abs(a - b).max() / np.abs(a).max():.2e}")
    traced = np.einsum("nmkk->nm", out["jacobian_contraction_full"])
    print("  trace of the full kernel vs the trace variant: max relative difference",
          f"{np.abs(traced - out['jacobian_contraction_trace']).max() / np.abs(traced).max():.2e}")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="4 channels, 10x10 inputs, 3 and 2 of them")
    main(parser.parse_args().small)
