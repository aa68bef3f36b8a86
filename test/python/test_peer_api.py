"""The API behaviours that torch.func and JAX test of their transforms, checked on tfn.

Grouped as their suites are: gradients (argnums forms, has_aux, pytrees, errors),
vjp/jvp/linearize, Jacobians and Hessians, vmap (in_dims/out_dims forms, errors,
kwargs, chunking, randomness) and jit (static arguments, caching). Where tfn
deliberately differs, README.md ("Where tfn differs from torch.func and JAX") says so.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp

RNG = np.random.default_rng(7)
X3 = RNG.standard_normal(3)
Y3 = RNG.standard_normal(3)
B23 = RNG.standard_normal((2, 3))
Point = namedtuple("Point", "x y")


def close(a, b, tol=1e-6):
    la, lb = tfn.tree_leaves(a), tfn.tree_leaves(b)
    assert tfn.tree_structure(a).canonical() == tfn.tree_structure(b).canonical(), (a, b)
    for u, v in zip(la, lb):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=tol, atol=tol)


# ================================================================ grad


def test_grad_of_primitives_and_composites():
    close(tfn.grad(lambda x: tnp.sum(tnp.sin(x)))(X3), np.cos(X3))
    close(tfn.grad(lambda x: tnp.sum(tnp.sin(x) * tnp.exp(x) + x ** 3))(X3),
          np.cos(X3) * np.exp(X3) + np.sin(X3) * np.exp(X3) + 3 * X3 ** 2)
    close(tfn.grad(lambda x: tnp.sin(x))(0.5), np.cos(0.5))   # a Python float is differentiated


@pytest.mark.parametrize("argnums, expected", [
    (0, "y*z"), (1, "x*z"), (2, "x*y"), (-1, "x*y"), (-3, "y*z"),
    ((0, 1, 2), ("y*z", "x*z", "x*y")), ((2, 0), ("x*y", "y*z")), ([1], ("x*z",)), ((-1, 0), ("x*y", "y*z")),
])
def test_grad_argnums_forms(argnums, expected):
    x, y, z = 2., 3., 5.
    value = {"y*z": y * z, "x*z": x * z, "x*y": x * y}
    want = value[expected] if isinstance(expected, str) else tuple(value[e] for e in expected)
    close(tfn.grad(lambda a, b, c: a * b * c, argnums=argnums)(x, y, z), want)


@pytest.mark.parametrize("argnums, exc, match", [
    (3, ValueError, "out of range for 3 positional"), (-4, ValueError, "out of range"),
    ((0, 3), ValueError, "out of range"), ((), ValueError, "at least one argument"),
    (0.0, TypeError, "argnums must be an int or a sequence of ints"),
    ((0, 0.0), TypeError, "argnums must be an int or a sequence of ints"),
])
def test_grad_invalid_argnums(argnums, exc, match):
    with pytest.raises(exc, match=match):
        tfn.grad(lambda a, b, c: a * b * c, argnums=argnums)(1., 2., 3.)


def test_grad_has_aux():
    g, aux = tfn.grad(lambda x: (tnp.sum(x ** 2), tnp.cos(x)), has_aux=True)(X3)
    close(g, 2 * X3)
    close(aux, np.cos(X3))
    g, aux = tfn.grad(lambda x: (tnp.sum(x), {"sq": [x ** 2], "n": (x[0],)}), has_aux=True)(X3)
    close(aux, {"sq": [X3 ** 2], "n": (X3[0],)})
    (g, (value, aux)) = tfn.grad_and_value(lambda x: (tnp.sum(x ** 2), x + 1), has_aux=True)(X3)
    close((g, value, aux), (2 * X3, np.sum(X3 ** 2), X3 + 1))
    for bad in (lambda x: tnp.sum(x), lambda x: (tnp.sum(x), x, x)):
        with pytest.raises(TypeError, match="has_aux=True needs f to return a pair"):
            tfn.grad(bad, has_aux=True)(X3)


def test_grad_and_value():
    g, v = tfn.grad_and_value(lambda x, y: tnp.sum(x * y), argnums=(0, 1))(X3, Y3)
    close((g, v), ((Y3, X3), np.sum(X3 * Y3)))


def test_grad_needs_a_scalar_float_output():
    with pytest.raises(TypeError, match=r"must be one 0-d float array, got an array float64\[3\]"):
        tfn.grad(lambda x: x * 2)(X3)
    with pytest.raises(TypeError, match=r"got a pytree \(\*,\)"):
        tfn.grad(lambda x: (tnp.sum(x),))(X3)
    with pytest.raises(TypeError, match=r"got an array int64\[\]"):
        tfn.grad(lambda x: tnp.argmax(x))(X3)


@pytest.mark.parametrize("bad", [np.arange(3), np.array([True, False]), 1, True], ids=repr)
def test_grad_of_integer_or_bool_inputs_is_an_error(bad):
    with pytest.raises(TypeError, match="only floating-point inputs can be differentiated"):
        tfn.grad(lambda x: tnp.sum(x * 1.0))(bad)


def test_grad_of_pytree_inputs_keeps_their_structure():
    params = {"w": X3, "b": (Y3, [np.float64(2.)]), "p": Point(X3, None)}
    loss = lambda p: tnp.sum(p["w"] * p["b"][0]) * p["b"][1][0] + tnp.sum(p["p"].x ** 2)  # noqa: E731
    g = tfn.grad(loss)(params)
    assert type(g["b"]) is tuple and type(g["b"][1]) is list and type(g["p"]) is Point and g["p"].y is None
    close(g, {"w": Y3 * 2, "b": (X3 * 2, [np.sum(X3 * Y3)]), "p": Point(2 * X3, None)})


def test_grad_keyword_arguments_are_passed_not_differentiated():
    f = lambda x, y, scale=1.0: tnp.sum(x * y) * scale  # noqa: E731
    close(tfn.grad(f)(X3, Y3, scale=2.0), 2 * Y3)
    close(tfn.grad(f)(X3, y=Y3), Y3)
    close(tfn.grad(f, argnums=1)(X3, Y3, scale=np.float64(3.)), 3 * X3)


def test_grad_of_an_unused_argument_is_zero():
    close(tfn.grad(lambda x, y: tnp.sum(y ** 2), argnums=(0, 1))(X3, Y3), (np.zeros(3), 2 * Y3))


def test_grad_closure_capture():
    w = RNG.standard_normal(3)
    close(tfn.grad(lambda x: tnp.sum(tnp.tanh(x * w)))(X3), w / np.cosh(X3 * w) ** 2)

    def outer(y):   # a closure over a traced value of an enclosing transform
        return tfn.grad(lambda x: tnp.sum(x * y * y))(X3)
    close(tfn.vmap(outer)(B23), B23 ** 2)


def test_nested_derivatives():
    f = lambda x: tnp.sin(x) * x  # noqa: E731
    d1 = lambda x: np.cos(x) * x + np.sin(x)  # noqa: E731
    d2 = lambda x: -np.sin(x) * x + 2 * np.cos(x)  # noqa: E731
    close(tfn.grad(tfn.grad(f))(0.7), d2(0.7))
    close(tfn.grad(tfn.grad(tfn.grad(f)))(0.7), -np.cos(0.7) * 0.7 - 3 * np.sin(0.7))
    close(tfn.vmap(tfn.grad(f))(X3), d1(X3))
    close(tfn.grad(lambda x: tnp.sum(tfn.vmap(f)(x)))(X3), d1(X3))
    # forward over reverse, and reverse over forward
    close(tfn.jvp(tfn.grad(f), (0.7,), (1.0,))[1], d2(0.7))
    close(tfn.grad(lambda x: tfn.jvp(f, (x,), (1.0,))[1])(0.7), d2(0.7))
    # grad of a vjp, and vjp of a grad
    close(tfn.grad(lambda x: tnp.sum(tfn.vjp(tnp.sin, x)[1](tnp.ones_like(x))[0]))(X3), -np.sin(X3))
    close(tfn.vjp(tfn.grad(lambda x: tnp.sum(tnp.sin(x))), X3)[1](np.ones(3))[0], -np.sin(X3))


def test_transformed_functions_keep_name_and_doc():
    def loss(x):
        """The loss."""
        return tnp.sum(x)
    for transform in (tfn.grad, tfn.grad_and_value, tfn.jacrev, tfn.jacfwd, tfn.hessian, tfn.vmap):
        t = transform(loss)
        assert t.__name__ == "loss" and t.__doc__ == "The loss."


# ================================================================ vjp / jvp / linearize


def test_vjp_pytree_inputs_and_outputs():
    f = lambda p, z: {"s": tnp.sin(p[0]) * z, "t": (p[1] * z,)}  # noqa: E731
    out, vjp_fn = tfn.vjp(f, (X3, Y3), 2.0)
    close(out, {"s": np.sin(X3) * 2, "t": (Y3 * 2,)})
    (gp, gz) = vjp_fn({"s": np.ones(3), "t": (np.full(3, 2.),)})
    close(gp, (np.cos(X3) * 2, np.full(3, 4.)))
    close(gz, np.sum(np.sin(X3)) + np.sum(2 * Y3))
    # the pullback can be called again, with other cotangents
    close(vjp_fn({"s": np.zeros(3), "t": (np.ones(3),)})[0], (np.zeros(3), np.full(3, 2.)))


def test_vjp_errors():
    _, vjp_fn = tfn.vjp(lambda x: (x, x), X3)
    with pytest.raises(ValueError, match="cotangent structure"):
        vjp_fn((X3,))
    with pytest.raises(ValueError, match=r"cotangent leaf 1 has shape \(2,\)"):
        vjp_fn((X3, np.ones(2)))
    with pytest.raises(TypeError, match="only floating-point inputs"):
        tfn.vjp(lambda x: x * 1.0, np.arange(3))


def test_vjp_and_jvp_has_aux():
    out, vjp_fn, aux = tfn.vjp(lambda x: (tnp.sin(x), {"c": tnp.cos(x)}), X3, has_aux=True)
    close((out, aux), (np.sin(X3), {"c": np.cos(X3)}))
    close(vjp_fn(np.ones(3)), (np.cos(X3),))
    out, tangent, aux = tfn.jvp(lambda x: (tnp.sin(x), [x * 2]), (X3,), (np.ones(3),), has_aux=True)
    close((out, tangent, aux), (np.sin(X3), np.cos(X3), [X3 * 2]))


def test_jvp_forms():
    out, t = tfn.jvp(lambda x, y: x * y, (X3, Y3), (np.ones(3), np.zeros(3)))
    close((out, t), (X3 * Y3, Y3))
    out, t = tfn.jvp(lambda p: (p["a"] ** 2, p["b"]), ({"a": X3, "b": Y3},), ({"a": np.ones(3), "b": Y3},))
    close(t, (2 * X3, Y3))
    out, t = tfn.jvp(lambda x, y: x * y, [X3, Y3], [Y3, X3])   # lists work like tuples
    close(t, Y3 * Y3 + X3 * X3)


def test_jvp_errors():
    with pytest.raises(ValueError, match="tangents structure"):
        tfn.jvp(lambda x, y: x * y, (X3, Y3), (X3,))
    with pytest.raises(TypeError, match="primals and tangents must be tuples"):
        tfn.jvp(tnp.sin, X3, X3)
    with pytest.raises(ValueError, match=r"tangent of argument 0 has shape \(2,\)"):
        tfn.jvp(tnp.sin, (X3,), (np.ones(2),))


def test_linearize():
    out, jvp_fn = tfn.linearize(lambda x: tnp.sin(x) * x, X3)
    close(out, np.sin(X3) * X3)
    for t in (np.ones(3), Y3):
        close(jvp_fn(t), (np.cos(X3) * X3 + np.sin(X3)) * t)
    close(tfn.vmap(lambda t: tfn.linearize(tnp.exp, X3)[1](t))(B23), np.exp(X3) * B23)


# ================================================================ jacobians


@pytest.mark.parametrize("jac", [tfn.jacrev, tfn.jacfwd], ids=["jacrev", "jacfwd"])
def test_jacobian_shapes_and_values(jac):
    w = RNG.standard_normal((4, 3))
    close(jac(lambda x: tnp.tanh(w @ x))(X3), (1 - np.tanh(w @ X3) ** 2)[:, None] * w)
    m = RNG.standard_normal((2, 2))
    j = jac(lambda a: a ** 2)(m)      # out.shape + in.shape
    assert j.shape == (2, 2, 2, 2)
    close(j, np.einsum("ij,ik,jl->ijkl", 2 * m, np.eye(2), np.eye(2)))
    close(jac(lambda x: tnp.sum(x ** 2))(X3), 2 * X3)                  # scalar output: a gradient
    close(jac(lambda x: x * X3)(2.0), X3)                               # scalar input


@pytest.mark.parametrize("jac", [tfn.jacrev, tfn.jacfwd], ids=["jacrev", "jacfwd"])
def test_jacobian_pytrees_and_argnums(jac):
    f = lambda x, y: {"p": x * y, "s": (tnp.sum(x),)}  # noqa: E731
    j = jac(f, argnums=(0, 1))(X3, Y3)   # output structure outside, argument structure inside
    close(j, {"p": (np.diag(Y3), np.diag(X3)), "s": ((np.ones(3), np.zeros(3)),)})
    j = jac(f)(X3, Y3)                   # argnums 0 by default, not wrapped in a tuple
    close(j, {"p": np.diag(Y3), "s": (np.ones(3),)})
    j = jac(lambda p: p["a"] * p["b"][0])({"a": X3, "b": [Y3]})
    close(j, {"a": np.diag(Y3), "b": [np.diag(X3)]})
    close(jac(lambda x, y: y * 2)(X3, Y3), np.zeros((3, 3)))            # unrelated input
    close(jac(lambda x: (x, tnp.ones(2)))(X3), (np.eye(3), np.zeros((2, 3))))  # unrelated output


@pytest.mark.parametrize("jac", [tfn.jacrev, tfn.jacfwd], ids=["jacrev", "jacfwd"])
def test_jacobian_has_aux(jac):
    j, aux = jac(lambda x: (tnp.sin(x), {"x2": x * 2}), has_aux=True)(X3)
    close((j, aux), (np.diag(np.cos(X3)), {"x2": 2 * X3}))


def test_jacobians_compose():
    f = lambda x: tnp.sum(tnp.sin(x) * x[0])  # noqa: E731
    h = tfn.hessian(f)(X3)
    close(tfn.jacrev(tfn.jacrev(f))(X3), h)
    close(tfn.jacfwd(tfn.jacfwd(f))(X3), h)
    close(tfn.jacrev(tfn.jacfwd(f))(X3), h)
    per_row = tfn.vmap(tfn.jacrev(lambda x: tnp.sin(x) * 2))(B23)
    close(per_row, np.stack([np.diag(2 * np.cos(r)) for r in B23]))
    close(tfn.vmap(tfn.hessian(lambda x: tnp.sum(x ** 3)))(B23), np.stack([np.diag(6 * r) for r in B23]))


def test_hessian_values_and_argnums():
    f = lambda x, y: tnp.sum(x ** 2 * y)  # noqa: E731
    close(tfn.hessian(f)(X3, Y3), np.diag(2 * Y3))
    close(tfn.hessian(f, argnums=1)(X3, Y3), np.zeros((3, 3)))
    hxy = tfn.hessian(f, argnums=(0, 1))(X3, Y3)
    close(hxy, ((np.diag(2 * Y3), np.diag(2 * X3)), (np.diag(2 * X3), np.zeros((3, 3)))))


def test_jacrev_chunk_size():
    f = lambda x: tnp.tanh(x)[:, None] * x  # noqa: E731
    full = tfn.jacrev(f)(X3)
    for chunk in (1, 2, 4, 100):
        close(tfn.jacrev(f, chunk_size=chunk)(X3), full)
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        tfn.jacrev(f, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be a positive int"):
        tfn.jacrev(f, chunk_size="2")


@pytest.mark.parametrize("jac", [tfn.jacrev, tfn.jacfwd, tfn.hessian], ids=["jacrev", "jacfwd", "hessian"])
def test_jacobian_of_integer_inputs_is_an_error(jac):
    with pytest.raises(TypeError, match=rf"tfn.{jac.__name__}\(<lambda>\): argument 0 has dtype int64"):
        jac(lambda x: tnp.sum(x * 1.0))(np.arange(3))


# ================================================================ vmap


def test_vmap_basic_forms():
    close(tfn.vmap(tnp.sin)(B23), np.sin(B23))
    close(tfn.vmap(lambda x, y: x * y)(B23, B23 + 1), B23 * (B23 + 1))
    a, b = tfn.vmap(lambda x: (x * 2, tnp.sum(x)))(B23)
    close((a, b), (B23 * 2, B23.sum(1)))
    close(tfn.vmap(lambda x: x ** 2)(np.arange(4)), np.arange(4) ** 2)          # integer inputs map fine


@pytest.mark.parametrize("in_dims, args, expected", [
    ((1,), (B23.T,), B23 * 2),
    (-1, (B23.T,), B23 * 2),
    ((0, None), (B23, Y3), None),
    ([0, None], (B23, Y3), None),
    (((0, None),), ((B23, Y3),), None),
    (({"a": 0, "b": None},), ({"a": B23, "b": Y3},), None),
])
def test_vmap_in_dims_forms(in_dims, args, expected):
    if len(args) == 1 and not isinstance(args[0], (tuple, dict)):
        close(tfn.vmap(lambda x: x * 2, in_dims=in_dims)(*args), expected)
        return
    if isinstance(args[0], tuple):
        f = lambda p: p[0] + p[1]  # noqa: E731
    elif isinstance(args[0], dict):
        f = lambda p: p["a"] + p["b"]  # noqa: E731
    else:
        f = lambda x, y: x + y  # noqa: E731
    close(tfn.vmap(f, in_dims=in_dims)(*args), B23 + Y3)


def test_vmap_nested():
    x = RNG.standard_normal((2, 3, 4))
    close(tfn.vmap(tfn.vmap(lambda v: tnp.sum(v)))(x), x.sum(-1))
    close(tfn.vmap(tfn.vmap(lambda v: v * 2, in_dims=1, out_dims=1), in_dims=2, out_dims=2)(x), 2 * x)
    outer = tfn.vmap(tfn.vmap(lambda a, b: a * b, in_dims=(None, 0)), in_dims=(0, None))(X3, Y3)
    close(outer, np.outer(X3, Y3))
    close(tfn.vmap(lambda v: tfn.vmap(lambda w: w * 3)(Y3) + v)(X3), X3[:, None] + 3 * Y3)  # inner is a no-op


def test_vmap_out_dims_forms():
    close(tfn.vmap(lambda x: x * 2, out_dims=1)(B23), (2 * B23).T)
    close(tfn.vmap(lambda x: x * 2, out_dims=-1)(B23), (2 * B23).T)
    a, b = tfn.vmap(lambda x: (x, x + 1), out_dims=(1, 0))(B23)
    close((a, b), (B23.T, B23 + 1))
    out = tfn.vmap(lambda x: {"a": x, "b": [x, x]}, out_dims={"a": 1, "b": [0, 1]})(B23)
    close(out, {"a": B23.T, "b": [B23, B23.T]})
    close(tfn.vmap(lambda x: x, out_dims=(1,))(B23), B23.T)    # a 1-tuple for a single output
    a, c = tfn.vmap(lambda x: (x, tnp.ones(2)), out_dims=(0, None))(B23)   # None: an unbatched output
    close((a, c), (B23, np.ones(2)))
    out = tfn.vmap(lambda x: Point(x, OrderedDict(z=x)))(B23)
    assert type(out) is Point and type(out.y) is OrderedDict


def test_vmap_unbatched_outputs_are_broadcast():
    close(tfn.vmap(lambda x: tnp.asarray(3.0))(B23), np.full(2, 3.0))
    close(tfn.vmap(lambda x: Y3 * 2)(B23), np.stack([Y3 * 2] * 2))
    close(tfn.vmap(lambda x: Y3, out_dims=1)(B23), np.stack([Y3] * 2, 1))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: tfn.vmap(lambda: 1.0)(), ValueError, "no input is batched"),
    (lambda: tfn.vmap(lambda x: x, in_dims=None)(B23), ValueError, "no input is batched"),
    (lambda: tfn.vmap(lambda x, y: x + y, in_dims=(None, None))(X3, Y3), ValueError, "no input is batched"),
    (lambda: tfn.vmap(lambda x, y: x)(B23, np.ones((3, 3))), ValueError,
     r"same size in the mapped dimension, but argument 0 has size 2 at dim 0, argument 1 has size 3 at dim 0"),
    (lambda: tfn.vmap(lambda x: x, in_dims=(0, 0))(B23), ValueError, "in_dims has 2 entries but 1 positional"),
    (lambda: tfn.vmap(lambda x: x, in_dims=2)(B23), ValueError, r"in_dim 2 is out of range .* \(2, 3\)"),
    (lambda: tfn.vmap(lambda x: x, in_dims=-3)(B23), ValueError, "out of range"),
    (lambda: tfn.vmap(lambda x: x, out_dims=2)(B23), ValueError, "out_dim 2 is out of range"),
    (lambda: tfn.vmap(lambda x: (x, x), out_dims=(0, 0, 0))(B23), ValueError, "does not match the structure"),
    (lambda: tfn.vmap(lambda p: p, in_dims=((0, 0),))(B23), ValueError, "does not match the structure"),
    (lambda: tfn.vmap(lambda x: x, out_dims=None)(B23), Exception, "out_dim cannot be None"),
    (lambda: tfn.vmap(lambda x: x)(2.0), ValueError, "float with in_dim 0; only arrays can be mapped"),
    (lambda: tfn.vmap(lambda x: x)(np.float64(2.0)), ValueError, "0-d with in_dim 0"),
    (lambda: tfn.vmap(lambda x: x, in_dims="0"), TypeError, "in_dims must be an int, None or a tuple"),
    (lambda: tfn.vmap(lambda x: "s")(B23), TypeError, "is a str, not an array"),
])
def test_vmap_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_vmap_keyword_arguments_are_not_mapped():
    close(tfn.vmap(lambda x, y: x + y)(B23, y=Y3), B23 + Y3)
    close(tfn.vmap(lambda x, scale=1.0: x * scale)(B23, scale=3.0), 3 * B23)
    close(tfn.vmap(lambda x, mode: x * 2 if mode == "double" else x)(B23, mode="double"), 2 * B23)


def test_vmap_python_values_with_in_dim_none_pass_through():
    close(tfn.vmap(lambda x, n, g: g(x) ** n, in_dims=(0, None, None))(B23, 2, tnp.sin), np.sin(B23) ** 2)


def test_vmap_chunk_size():
    x = RNG.standard_normal((7, 3))
    f = lambda v, w: tnp.sin(v) @ w  # noqa: E731
    full = tfn.vmap(f, in_dims=(0, None))(x, Y3)
    for chunk in (1, 2, 3, 7, 50):
        close(tfn.vmap(f, in_dims=(0, None), chunk_size=chunk)(x, Y3), full)
    close(tfn.vmap(lambda v: v * 2, out_dims=1, chunk_size=3)(x), 2 * x.T)


def test_vmap_randomness_modes():
    key = tfn.random.key(0)
    draw = lambda k, x: tfn.random.normal(k, (3,)) + x * 0  # noqa: E731
    with pytest.raises(Exception, match="randomness='error'"):
        tfn.vmap(draw, in_dims=(None, 0))(key, np.zeros((4, 3)))
    same = tfn.vmap(draw, in_dims=(None, 0), randomness="same")(key, np.zeros((4, 3)))
    assert np.all(same == same[0])
    different = tfn.vmap(draw, in_dims=(None, 0), randomness="different")(key, np.zeros((4, 3)))
    assert len({tuple(r) for r in np.asarray(different)}) == 4
    per_key = tfn.vmap(lambda k: tfn.random.normal(k, (3,)))(tfn.random.split(key, 4))   # explicit keys
    assert len({tuple(r) for r in np.asarray(per_key)}) == 4
    with pytest.raises(ValueError, match="chunk_size with randomness='different'"):
        tfn.vmap(draw, in_dims=(None, 0), randomness="different", chunk_size=2)(key, np.zeros((4, 3)))


def test_vmap_composes_with_differentiation():
    w = RNG.standard_normal(3)
    xs, ys = RNG.standard_normal((5, 3)), RNG.standard_normal(5)
    loss = lambda w, x, y: (tnp.dot(w, x) - y) ** 2  # noqa: E731
    per_sample = tfn.vmap(tfn.grad(loss), in_dims=(None, 0, 0))(w, xs, ys)
    close(per_sample, np.stack([2 * (w @ x - y) * x for x, y in zip(xs, ys)]))
    tangents = tfn.vmap(lambda t: tfn.jvp(tnp.sin, (X3,), (t,))[1])(B23)
    close(tangents, np.cos(X3) * B23)
    cts = tfn.vmap(lambda c: tfn.vjp(tnp.sin, X3)[1](c)[0])(B23)
    close(cts, np.cos(X3) * B23)


# ================================================================ jit


def test_jit_static_arguments():
    calls = []

    def f(x, n, mode="sum"):
        calls.append(n)
        return tnp.sum(x ** n) if mode == "sum" else x ** n
    g = tfn.jit(f, static_argnums=1, static_argnames="mode")
    close(g(X3, 2), np.sum(X3 ** 2))
    close(g(X3, 3), np.sum(X3 ** 3))
    close(g(X3, n=2), np.sum(X3 ** 2))            # static whether passed by position or keyword
    close(g(X3, 2, mode="each"), X3 ** 2)
    g(X3, 2)
    assert calls == [2, 3, 2] and g.cache_size() == 3
    with pytest.raises(TypeError, match="static arguments must be hashable"):
        tfn.jit(lambda x, s: x, static_argnums=1)(X3, {1})
    with pytest.raises(TypeError, match="argument leaf 1 is a str, not an array; mark its argument static"):
        tfn.jit(lambda x, s: x)(X3, "s")


def test_jit_caches_per_signature_and_takes_pytrees_and_kwargs():
    f = tfn.jit(lambda p, scale: {"y": p["a"] @ p["b"] * scale})
    close(f({"a": B23, "b": X3}, scale=2.0), {"y": B23 @ X3 * 2})
    close(f({"a": B23, "b": X3}, scale=3.0), {"y": B23 @ X3 * 3})   # Python scalars are traced, not static
    assert f.cache_size() == 1
    f({"a": B23.astype(np.float32), "b": X3.astype(np.float32)}, scale=1.0)
    assert f.cache_size() == 2


def test_transforms_inside_jit_match_eager_ones():
    loss = lambda w, x, k: tnp.sum(tnp.tanh(w * x) ** k)  # noqa: E731
    eager = tfn.grad(loss)(X3, Y3, 2)
    close(tfn.jit(lambda w, x: tfn.grad(loss)(w, x, 2))(X3, Y3), eager)
    close(tfn.jit(tfn.grad(loss), static_argnums=2)(X3, Y3, 2), eager)
    close(tfn.jit(lambda w, x, k: tfn.grad(loss)(w, x, k), static_argnums=2)(X3, Y3, 2), eager)


@pytest.mark.parametrize("jac", [tfn.jacrev, tfn.jacfwd], ids=["jacrev", "jacfwd"])
def test_jacobian_keyword_arguments_are_passed_not_differentiated(jac):
    f = lambda x, scale=1.0, mode="mul": x * scale if mode == "mul" else x + scale  # noqa: E731
    close(jac(f)(X3, scale=3.0), 3 * np.eye(3))
    close(jac(f)(X3, scale=Y3, mode="add"), np.eye(3))
    close(tfn.hessian(lambda x, p=2: tnp.sum(x ** p))(X3, p=3), np.diag(6 * X3))


def test_vmap_over_an_empty_batch():
    assert tfn.vmap(lambda v: tnp.sum(v) * tnp.ones(2))(np.ones((0, 3))).shape == (0, 2)
    a, c = tfn.vmap(lambda v: (v, tnp.ones(2)), out_dims=(1, None))(np.ones((0, 3)))
    assert a.shape == (3, 0)
    close(c, np.ones(2))
    assert tfn.vmap(tfn.grad(lambda v: tnp.sum(v ** 2)))(np.ones((0, 3))).shape == (0, 3)
