"""Jacobians, Hessians, hvp and more (torch.func's jacobians-and-hessians tutorial).

The model is one layer, tanh(W x + b). Its Jacobian with respect to x by `jacrev` (one vjp
per output row, vmapped) and `jacfwd` (one jvp per input column), with respect to several
arguments at once (`argnums`), batched over inputs by `vmap(jacrev)` and by the
sum-over-the-batch trick, its Hessian by `hessian` (= `jacfwd(jacrev)`), a batched Hessian,
and a Hessian-vector product as a jvp of the gradient. Each is compared with another way
of computing it.

    python examples/jacobians_hessians.py [--small]
"""
from __future__ import annotations

import argparse

import numpy as np

import tfn
import tfn.numpy as tnp
from tfn import nn


def predict(weight, bias, x):
    return tnp.tanh(nn.linear(x, weight, bias))


def _report(name, a, b):
    err = float(np.abs(np.asarray(a) - np.asarray(b)).max())
    print(f"  {name:52s} max difference {err:.2e}")
    return err


def main(small: bool = False, dtype=None):
    """Returns the inputs and every Jacobian and Hessian computed, by name."""
    dtype = dtype or np.float64
    rng = np.random.default_rng(0)
    D = 6 if small else 16
    batch, din, dout = (4, 5, 7) if small else (64, 31, 33)
    weight = rng.standard_normal((D, D)).astype(dtype)
    bias = rng.standard_normal(D).astype(dtype)
    x = rng.standard_normal(D).astype(dtype)
    out = {"weight": weight, "bias": bias, "x": x}
    print(f"tanh(W x + b), D={D}; batched: {batch} inputs, {din} -> {dout}; {np.dtype(dtype).name}")

    # jacrev: the rows of the Jacobian are vjps with the unit vectors, here one by one
    out["jacrev"] = jac = tfn.jacrev(predict, argnums=2)(weight, bias, x)
    _, vjp_fn = tfn.vjp(lambda x: predict(weight, bias, x), x)
    out["jac_rows_by_vjp"] = rows = np.stack([vjp_fn(e)[0] for e in np.eye(D, dtype=dtype)])
    _report("jacrev vs rows of vjps with unit vectors", jac, rows)
    # the same by hand: diag(1 - tanh^2) W
    _report("jacrev vs (1 - tanh(Wx+b)^2)[:, None] * W", jac,
            (1 - np.tanh(weight @ x + bias) ** 2)[:, None] * weight)
    out["jacfwd"] = tfn.jacfwd(predict, argnums=2)(weight, bias, x)
    _report("jacfwd vs jacrev", out["jacfwd"], jac)

    # with respect to the weight and the bias
    out["jac_weight"], out["jac_bias"] = tfn.jacrev(predict, argnums=(0, 1))(weight, bias, x)
    jw_fwd, jb_fwd = tfn.jacfwd(predict, argnums=(0, 1))(weight, bias, x)
    print(f"  d/dW {out['jac_weight'].shape}, d/db {out['jac_bias'].shape}")
    _report("jacfwd vs jacrev, argnums=(0, 1)", np.concatenate([jw_fwd.ravel(), jb_fwd.ravel()]),
            np.concatenate([out["jac_weight"].ravel(), out["jac_bias"].ravel()]))

    # batched Jacobians
    bw = rng.standard_normal((dout, din)).astype(dtype)
    bb = rng.standard_normal(dout).astype(dtype)
    bx = rng.standard_normal((batch, din)).astype(dtype)
    out.update(batch_weight=bw, batch_bias=bb, batch_x=bx)
    out["batch_jacobian"] = bj = tfn.vmap(tfn.jacrev(predict, argnums=2), in_dims=(None, None, 0))(bw, bb, bx)
    out["batch_jacobian_loop"] = loop = np.stack([tfn.jacrev(predict, argnums=2)(bw, bb, xi) for xi in bx])
    print(f"  batched jacobian {bj.shape}")
    _report("vmap(jacrev) vs a loop of jacrev", bj, loop)
    # each output depends on its own input only: d(sum over the batch)/dx has all the rows
    summed = tfn.jacrev(lambda w, b, x: tnp.sum(predict(w, b, x), axis=0), argnums=2)(bw, bb, bx)
    _report("vmap(jacrev) vs jacrev of the batch sum, moved", bj, np.moveaxis(summed, 1, 0))
    _report("vmap(jacfwd) vs vmap(jacrev)", tfn.vmap(tfn.jacfwd(predict, argnums=2),
                                                    in_dims=(None, None, 0))(bw, bb, bx), bj)

    # Hessians
    out["hessian"] = h = tfn.hessian(predict, argnums=2)(weight, bias, x)
    print(f"  hessian {h.shape}")
    out["jacfwd_jacfwd"] = tfn.jacfwd(tfn.jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
    out["jacrev_jacrev"] = tfn.jacrev(tfn.jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
    out["jacfwd_jacrev"] = tfn.jacfwd(tfn.jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
    _report("hessian vs jacfwd(jacfwd)", h, out["jacfwd_jacfwd"])
    _report("hessian vs jacrev(jacrev)", h, out["jacrev_jacrev"])
    _report("hessian vs jacfwd(jacrev)", h, out["jacfwd_jacrev"])
    _report("hessian symmetric in its two input axes", h, np.swapaxes(h, 1, 2))
    out["batch_hessian"] = bh = tfn.vmap(tfn.hessian(predict, argnums=2), in_dims=(None, None, 0))(bw, bb, bx)
    print(f"  batched hessian {bh.shape}")
    _report("vmap(hessian) vs a loop of hessian", bh,
            np.stack([tfn.hessian(predict, argnums=2)(bw, bb, xi) for xi in bx]))

    # Hessian-vector product: forward over reverse, without forming the Hessian
    def f(x):
        return tnp.sum(tnp.sin(x))
    v = rng.standard_normal(D).astype(dtype)
    out["hvp"] = tfn.jvp(tfn.grad(f), (x,), (v,))[1]
    _report("hvp (jvp of grad) vs hessian @ v", out["hvp"], tfn.hessian(f)(x) @ v)
    _report("hvp vs -sin(x) * v", out["hvp"], -np.sin(x) * v)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="D=6; a batch of 4, 5 -> 7")
    main(parser.parse_args().small)
