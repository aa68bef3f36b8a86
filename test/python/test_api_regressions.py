"""Regressions of the transform API: argnums, static arguments, tangent checks, empty outputs,
output containers and ensembles. Each asserts values, not just the absence of an error."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-12)


# ---------------------------------------------------------------- repeated argnums

def test_repeated_argnums_each_get_the_full_gradient():
    f = lambda a, b: a * b  # noqa: E731
    g = tfn.grad(f, argnums=(0, 0))(2., 3.)
    close(g[0], 3.)
    close(g[1], 3.)
    (g0, g1, g2), v = tfn.grad_and_value(f, argnums=(1, 0, 1))(2., 3.)
    close([g0, g1, g2, v], [2., 3., 2., 6.])
    close(tfn.jacrev(f, argnums=(0, 0))(2., 3.), (3., 3.))
    close(tfn.jacfwd(f, argnums=(0, 0))(2., 3.), (3., 3.))
    h = tfn.hessian(lambda a, b: a * a * b, argnums=(0, 0))(2., 3.)
    close(h, ((6., 6.), (6., 6.)))
    g = tfn.grad(lambda x: tnp.sum(x ** 2), argnums=[0, 0])(np.array([1., 2.]))
    close(g[0], [2., 4.])
    close(g[1], [2., 4.])


# ---------------------------------------------------------------- argnums / in_dims validation

@pytest.mark.parametrize("argnums", ["x", 0.0, (0, "a"), None, True])
def test_argnums_of_the_wrong_type_are_a_clear_type_error(argnums):
    with pytest.raises(TypeError, match=r"tfn.grad\(<lambda>\): argnums must be an int or a sequence of "
                                        r"ints(.|\n)*test_api_regressions.py"):
        tfn.grad(lambda a: a, argnums=argnums)


def test_argnums_accept_numpy_ints_and_lists():
    close(tfn.grad(lambda a, b: a * b, argnums=np.int64(1))(2., 3.), 2.)
    close(tfn.grad(lambda a, b: a * b, argnums=[np.int32(0), 1])(2., 3.), (3., 2.))
    with pytest.raises(ValueError, match="at least one argument"):
        tfn.grad(lambda a: a, argnums=())
    with pytest.raises(ValueError, match="out of range for 1 positional"):
        tfn.grad(lambda a: a, argnums=1)(2.)
    with pytest.raises(TypeError, match="argnums must be"):
        tfn.jacrev(lambda a: a, argnums="a")
    with pytest.raises(TypeError, match="argnums must be"):
        tfn.hessian(lambda a: a, argnums=1.0)


@pytest.mark.parametrize("kw, exc, match", [
    (dict(in_dims="a"), TypeError, "in_dims must be an int, None or a tuple"),
    (dict(in_dims=True), TypeError, "in_dims must be an int, None or a tuple"),
    (dict(in_dims=(0, 1.0)), TypeError, r"in_dims entries must be ints or None, got 1.0 \(float\)"),
    (dict(out_dims="a"), TypeError, "out_dims entries must be ints or None, got 'a'"),
    (dict(out_dims=(0, [None, "b"])), TypeError, "out_dims entries must be ints or None, got 'b'"),
    (dict(chunk_size=0), ValueError, "chunk_size must be a positive int or None, got 0"),
    (dict(chunk_size=2.0), TypeError, "chunk_size must be a positive int or None, got 2.0"),
    (dict(chunk_size=True), TypeError, "chunk_size must be a positive int"),
    (dict(randomness="sometimes"), ValueError, "randomness must be one of"),
])
def test_vmap_options_are_validated_when_the_transform_is_made(kw, exc, match):
    with pytest.raises(exc, match=match + r"(.|\n)*test_api_regressions.py"):
        tfn.vmap(lambda x, y: x, **kw)


def test_vmap_dims_accept_numpy_ints():
    x = np.arange(6.).reshape(2, 3)
    close(tfn.vmap(lambda v: v, in_dims=np.int64(1), out_dims=(np.int32(0),))(x), x.T)
    close(tfn.vmap(lambda v: v * 2, chunk_size=np.int64(1))(x), 2 * x)


# ---------------------------------------------------------------- tangent and cotangent checks

def test_tangent_dtype_and_shape_must_match_the_primal():
    x32 = np.ones(2, np.float32)
    with pytest.raises(TypeError, match=r"tfn.jvp\(sin\): the tangent of argument 0 has dtype float64 and shape "
                                        r"\(2,\), but the primal has dtype float32 and shape \(2,\)"):
        tfn.jvp(tnp.sin, (x32,), (np.ones(2),))
    with pytest.raises(ValueError, match=r"tangent of argument 1 has shape \(3,\).*primal has shape \(2,\)"):
        tfn.jvp(lambda a, b: a * b, (x32, x32), (x32, np.ones(3, np.float32)))
    with pytest.raises(TypeError, match=r"tfn.linearize\(sin\): the tangent of argument 0 has dtype float64"):
        tfn.linearize(tnp.sin, x32)[1](np.ones(2))
    _, vjp_fn = tfn.vjp(tnp.sin, x32)
    with pytest.raises(TypeError, match=r"tfn.vjp\(sin\): the cotangent has dtype float64 and shape \(2,\), "
                                        r"but the output has dtype float32"):
        vjp_fn(np.ones(2))
    with pytest.raises(ValueError, match=r"cotangent has shape \(3,\)"):
        vjp_fn(np.ones(3, np.float32))
    _, vjp_fn = tfn.vjp(lambda a: (a, 2 * a), x32)
    with pytest.raises(TypeError, match=r"cotangent leaf 1 has dtype float64.*output leaf 1 has dtype float32"):
        vjp_fn((x32, np.ones(2)))
    with pytest.raises(ValueError, match=r"cotangent structure \[\*, \*\] does not match the output "
                                         r"structure \(\*, \*\)"):
        vjp_fn([x32, x32])


def test_matching_tangents_and_python_scalars_are_accepted():
    x32 = np.array([0.5, 1.0], np.float32)
    out, t = tfn.jvp(tnp.sin, (x32,), (np.ones(2, np.float32),))
    assert t.dtype == np.float32
    close(t, np.cos(x32))
    _, t = tfn.jvp(lambda a: a * 3, (np.float32(2),), (1.0,))  # a Python scalar takes the primal's dtype
    assert t.dtype == np.float32 and float(t) == 3.0
    _, vjp_fn = tfn.vjp(lambda a: {"a": a, "b": 2 * a}, x32)
    close(vjp_fn({"b": np.ones(2, np.float32), "a": np.zeros(2, np.float32)})[0], [2., 2.])  # key order free


# ---------------------------------------------------------------- empty and non-scalar outputs

@pytest.mark.parametrize("out, shown", [((), r"\(\), which holds no array"), (None, "None, which holds no array")])
def test_grad_of_an_empty_output_names_what_f_returned(out, shown):
    for transform in (tfn.grad, tfn.grad_and_value):
        with pytest.raises(TypeError, match=r"tfn.grad(_and_value)?\(<lambda>\): the differentiated output must "
                                            r"be one 0-d float array, got " + shown):
            transform(lambda x: out)(1.)


def test_grad_of_a_non_scalar_names_its_shape():
    with pytest.raises(TypeError, match=r"got an array float64\[2\]"):
        tfn.grad(lambda x: x)(np.ones(2))
    with pytest.raises(TypeError, match=r"got a pytree \(\*, \*\)"):
        tfn.grad(lambda x: (tnp.sum(x), tnp.sum(x)))(np.ones(2))


def test_transforms_of_empty_outputs_return_empty_structures():
    x = np.ones(2)
    assert tfn.jvp(lambda v: (), (x,), (x,)) == ((), ())
    assert tfn.jvp(lambda v: None, (x,), (x,)) == (None, None)
    out, vjp_fn = tfn.vjp(lambda v: (), x)
    assert out == ()
    close(vjp_fn(())[0], [0., 0.])
    assert tfn.jacrev(lambda v: ())(x) == ()
    assert tfn.jacfwd(lambda v: ())(x) == ()
    assert tfn.jacrev(lambda v: None)(x) is None
    assert tfn.hessian(lambda v: ())(x) == ()
    jac = tfn.jacrev(lambda v: {"a": (), "b": v})(x)
    assert jac["a"] == ()
    close(jac["b"], np.eye(2))
    assert tfn.vmap(lambda v: ())(np.ones((3, 2))) == ()
    assert tfn.vmap(lambda v: None)(np.ones((3, 2))) is None


def test_jacobians_with_respect_to_an_empty_argument():
    f = lambda e, y: tnp.sum(y)  # noqa: E731
    assert tfn.jacfwd(f)((), np.ones(2)) == ()
    assert tfn.jacrev(f)((), np.ones(2)) == ()


# ---------------------------------------------------------------- vmap out_dims of a single output

def test_a_one_tuple_of_out_dims_for_a_single_output():
    x = np.arange(6.).reshape(2, 3)
    close(tfn.vmap(lambda v: v * 2, out_dims=(1,))(x), (2 * x).T)
    out = tfn.vmap(lambda v: (v,), out_dims=(1,))(x)   # a 1-tuple output is matched entry by entry
    assert isinstance(out, tuple)
    close(out[0], x.T)


# ---------------------------------------------------------------- output containers

Point = collections.namedtuple("Point", "x y")


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b


tfn.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, children: Pair(*children))


def test_output_containers_are_preserved():
    x = np.ones(2)
    out = tfn.jit(lambda v: collections.OrderedDict(b=v, a=2 * v))(x)
    assert type(out) is collections.OrderedDict and list(out) == ["b", "a"]
    close(out["a"], 2 * x)
    out = tfn.jit(lambda v: {"b": v, "a": 2 * v, "c": None})(x)
    assert type(out) is dict and list(out) == ["b", "a", "c"] and out["c"] is None
    close(out["b"], x)
    out = tfn.jit(lambda v: [Point(v, (v, [v])), (v,)])(x)
    assert type(out) is list and type(out[0]) is Point and type(out[0].y[1]) is list and type(out[1]) is tuple
    out = tfn.jit(lambda d: d)(collections.defaultdict(list, {"k": x}))
    assert type(out) is collections.defaultdict and out.default_factory is list
    out = tfn.vmap(lambda d: collections.OrderedDict(z=d["b"] + 1, a=d["a"]))(
        collections.OrderedDict(b=np.ones((3, 2)), a=np.zeros((3, 2))))
    assert list(out) == ["z", "a"]
    close(out["z"], np.full((3, 2), 2.))


def test_registered_nodes_pass_through_transforms():
    g = tfn.grad(lambda p: tnp.sum(p.a * p.b))(Pair(np.array([1., 2.]), np.array([3., 4.])))
    assert isinstance(g, Pair)
    close(g.a, [3., 4.])
    close(g.b, [1., 2.])
    out = tfn.vmap(lambda p: Pair(p.b, p.a))(Pair(np.ones((2, 3)), np.zeros((2, 3))))
    assert isinstance(out, Pair)
    close(out.a, np.zeros((2, 3)))
    assert tfn.tree_util.tree_structure(Pair(1, 2)).num_leaves == 2


# ---------------------------------------------------------------- non-array arguments pass through

def test_python_values_reach_the_function_unchanged():
    f = lambda a, flag: a * 2 if flag else a  # noqa: E731
    close(tfn.grad(f)(1., True), 2.)
    close(tfn.grad(f)(1., False), 1.)
    close(tfn.vmap(lambda a, i: a[i], in_dims=(0, None))(np.arange(12.).reshape(3, 4), 2), [2., 6., 10.])
    close(tfn.jacrev(lambda a, i: a[i])(np.ones(3), 1), [0., 1., 0.])
    close(tfn.jacfwd(lambda a, i: a[i])(np.ones(3), 2), [0., 0., 1.])
    close(tfn.hessian(lambda a, p: tnp.sum(a ** p))(np.ones(2), 3), 6 * np.eye(2))
    close(tfn.grad(lambda a, g, name: g(a) * len(name))(1., tnp.sin, "ab"), 2 * np.cos(1.))
    close(tfn.grad(lambda a, opts: a * opts["scale"])(1., {"scale": 3, "name": "x"}), 3.)
    close(tfn.grad(lambda a, scale=1.0, mode="x": a * scale if mode == "x" else a)(2., scale=4., mode="x"), 4.)
    close(tfn.vmap(lambda a, n: a * n)(np.ones((2, 2)), n=3), np.full((2, 2), 3.))


def test_static_values_key_the_compile_cache():
    g = tfn.grad(lambda a, n: a ** n)
    close([g(2., 2), g(2., 3), g(2., 2), g(2., 2.0)], [4., 12., 4., 4.])
    assert len([k for k in g._programs()._entries if isinstance(k, tuple)]) == 3   # 2, 3 and 2.0 differ


def test_python_numbers_that_are_differentiated_are_traced():
    close(tfn.grad(lambda a: a * a)(3.), 6.)
    close(tfn.grad(lambda a, b: a * b, argnums=1)(3., 4.), 3.)
    with pytest.raises(TypeError, match=r"argument 0 has dtype int64; only floating-point inputs"):
        tfn.grad(lambda a: a * 2.)(1)


def test_static_values_inside_traced_code():
    @tfn.jit
    def f(x):
        flagged = tfn.grad(lambda a, flag: tnp.sum(a * 2) if flag else tnp.sum(a))(x, True)
        per_row = tfn.vmap(lambda r, i: r[i], in_dims=(0, None))(x.reshape(1, 2), 1)
        return flagged, per_row
    g, r = f(np.array([1., 5.]))
    close(g, [2., 2.])
    close(r, [5.])
    close(tfn.vmap(tfn.grad(lambda a, k: tnp.sum(a) * k), in_dims=(0, None))(np.ones((3, 2)), 5),
          np.full((3, 2), 5.))


def test_bad_non_array_arguments_are_named():
    with pytest.raises(TypeError, match=r"tfn.grad\(<lambda>\): argument 1 is a set, which is neither an array "
                                        r"nor hashable"):
        tfn.grad(lambda a, s: a)(1., {1, 2})
    with pytest.raises(TypeError, match=r"argument 1 is a str; only arrays and Python numbers can be "
                                        r"differentiated"):
        tfn.grad(lambda a, s: a, argnums=1)(1., "s")
    with pytest.raises(TypeError, match=r"tfn.vjp\(<lambda>\): argument 1 is a str"):
        tfn.vjp(lambda a, s: a, 1., "s")
    with pytest.raises(TypeError, match=r"tfn.jvp\(<lambda>\): argument 0 \(leaf 1\) is a function"):
        tfn.jvp(lambda p: p[0], ((1., tnp.sin),), ((1., tnp.sin),))
    with pytest.raises(ValueError, match=r"argument 1 \(leaf 0\) is a int with in_dim 0; only arrays can be "
                                         r"mapped over \(use in_dim None\)"):
        tfn.vmap(lambda a, i: a[i])(np.ones((3, 4)), 2)


# ---------------------------------------------------------------- ensembles

def test_stack_module_state_returns_params_and_buffers():
    models = [{"w": np.full((2, 1), float(i)), "b": np.zeros(1)} for i in range(3)]
    params, buffers = tfn.stack_module_state(models)
    assert buffers == {}
    assert params["w"].shape == (3, 2, 1) and params["b"].shape == (3, 1)
    model = lambda p, x: x @ p["w"] + p["b"]  # noqa: E731
    out = tfn.vmap(lambda p, b, x: tfn.functional_call(model, (p, b), (x,)), in_dims=(0, 0, None))(
        params, buffers, np.ones((1, 2)))
    close(out[:, 0, 0], [0., 2., 4.])
    tupled, _ = tfn.stack_module_state([(np.ones(2), np.zeros(1)), (np.ones(2), np.ones(1))])
    close(tfn.functional_call(lambda p, x: p[0] * x + p[1], (tupled, {}), 2.), [[2., 2.], [3., 3.]])


class _TorchLike:
    """What stack_module_state reads of a torch module: named parameters and buffers."""

    def __init__(self, scale):
        self.scale = scale

    def named_parameters(self):
        return [("weight", np.full((2,), self.scale))]

    def named_buffers(self):
        return [("running_mean", np.full((2,), -self.scale))]


def test_stack_module_state_of_modules_with_buffers_and_functional_call_merging():
    params, buffers = tfn.stack_module_state([_TorchLike(1.), _TorchLike(2.)])
    close(params["weight"], [[1., 1.], [2., 2.]])
    close(buffers["running_mean"], [[-1., -1.], [-2., -2.]])
    model = lambda state, x: state["weight"] * x + state["running_mean"]  # noqa: E731
    out = tfn.vmap(lambda p, b, x: tfn.functional_call(model, (p, b), (x,)), in_dims=(0, 0, None))(
        params, buffers, np.full(2, 3.))
    close(out, [[2., 2.], [4., 4.]])
    # per-layer dicts with the same keys are a tfn parameter tuple, not torch's (params, buffers)
    layers = ({"w": 2.}, {"w": 3.})
    assert tfn.functional_call(lambda p, x: p[0]["w"] * p[1]["w"] * x, layers, 1.) == 6.


# ---------------------------------------------------------------- pytree structures

def test_pytree_dict_order_is_kept_but_does_not_change_leaf_order():
    from tfn.frontend import pytree
    a, b = {"b": 1, "a": 2}, {"a": 2, "b": 1}
    (la, ta), (lb, tb) = pytree.flatten(a), pytree.flatten(b)
    assert la == lb == [2, 1]
    assert list(pytree.unflatten(ta, [5, 6])) == ["b", "a"]
    assert ta != tb and ta.canonical() == tb.canonical() and hash(ta.canonical()) == hash(tb.canonical())
    od = collections.OrderedDict(b=1, a=2)
    leaves, tree = pytree.flatten(od)
    assert leaves == [1, 2] and type(pytree.unflatten(tree, leaves)) is collections.OrderedDict
    assert tree.canonical() != pytree.tree_structure({"b": 1, "a": 2}).canonical()   # an OrderedDict is not a dict
    assert repr(tree) == "OrderedDict({'b': *, 'a': *})"
    weird = {(1, "x"): 1, (1, 2): 2}   # keys that do not order: the dict's own order
    assert pytree.unflatten(*reversed(pytree.flatten(weird))) == weird
    with pytest.raises(ValueError, match="already a pytree node"):
        tfn.register_pytree_node(dict, lambda d: ((), None), lambda a, c: {})


def test_jit_static_argument_specs_are_validated():
    for bad in ("a", 1.0, (0, "b")):
        with pytest.raises(TypeError, match=r"tfn.jit\(<lambda>\): static_argnums must be an int or a sequence "
                                            r"of ints(.|\n)*test_api_regressions.py"):
            tfn.jit(lambda x, n: x, static_argnums=bad)
    with pytest.raises(TypeError, match="static_argnames must be a str or a sequence of strs"):
        tfn.jit(lambda x, n: x, static_argnames=1)
    close(tfn.jit(lambda x, n: x * n, static_argnums=np.int64(1))(np.ones(2), 3), [3., 3.])


def test_eager_vjp_compiles_its_forward_once():
    from tfn.api.caching import compile_count
    f = lambda x: tnp.sin(x) * 2  # noqa: E731
    before = compile_count()
    for _ in range(3):
        out, vjp_fn = tfn.vjp(f, np.ones(2))
    close(vjp_fn(np.ones(2))[0], 2 * np.cos(np.ones(2)))
    assert compile_count() - before == 2   # the forward program and the vjp program, once each


@pytest.mark.parametrize("jac", [tfn.jacrev, tfn.jacfwd], ids=["jacrev", "jacfwd"])
def test_jacobians_of_zero_size_outputs_and_inputs(jac):
    x = np.linspace(0., 1., 5)
    j = jac(lambda v: tnp.tanh(v[1:1]))(x)
    assert j.shape == (0, 5)
    j = jac(lambda v: tnp.sum(v) * tnp.ones(2))(np.ones(0))
    assert j.shape == (2, 0)
    j = jac(lambda v, w: (v[:0], w * 2), argnums=(0, 1))(x, np.ones(2))
    assert j[0][0].shape == (0, 5) and j[0][1].shape == (0, 2) and j[1][0].shape == (2, 5)
    close(j[1][1], 2 * np.eye(2))
    assert tfn.hessian(lambda v: tnp.sum(v ** 2))(np.ones(0)).shape == (0, 0)
