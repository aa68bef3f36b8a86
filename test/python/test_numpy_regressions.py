"""Regressions of tfn.numpy found by outside testing, each against numpy 2.

The dtype rules are checked over the whole surface by test_numpy_dtypes.py; here are
the reported cases by name, and what needs more than one call: functional updates
(`x.at[idx]`) under jit, grad and vmap, arrays built from traced values, threads, and
the errors bad input gets.
"""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from conftest import assert_close

HERE = __file__


# ---------------------------------------------------------------- dtypes (NEP 50, per function)

def test_reported_dtypes():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert tnp.argmax(x, keepdims=True).shape == np.argmax(x, keepdims=True).shape == (1, 1)
    assert tnp.argmin(x, axis=-1, keepdims=True).shape == (2, 1)
    assert_close(tnp.einsum("ab->a", x), np.einsum("ab->a", x))          # int32, while sum gives int64
    assert_close(tnp.sum(x, axis=1), np.sum(x, axis=1))
    for f in ("floor", "ceil", "trunc"):
        assert_close(getattr(tnp, f)(x), getattr(np, f)(x))              # integers stay integers
        assert_close(getattr(tnp, f)(x > 2), getattr(np, f)(x > 2))      # and bools bools
    # np.abs(1) is a strong np.int64: only Python scalars used directly are weak.
    assert_close(tfn.jit(lambda a: tnp.abs(1) + a)(x), np.abs(1) + x)
    assert_close(tfn.jit(lambda a: a + 1)(x), x + 1)
    # A Python scalar passed to a jitted function stays weak, and so does Python arithmetic on it.
    f32 = np.ones(3, np.float32)
    assert tfn.jit(lambda a, s: a * s)(f32, 2.0).dtype == np.float32
    assert tfn.jit(lambda a, s: a * (s * 2 + 1))(f32, 2.0).dtype == np.float32
    assert tfn.jit(lambda a, s: a * tnp.exp(s))(f32, 2.0).dtype == np.float64


def test_keepdims_on_every_reduction():
    x = np.arange(24.0).reshape(2, 3, 4)
    for name in ("sum", "prod", "max", "min", "mean", "var", "std", "argmax", "argmin"):
        axes = [None, 0, -1] + ([] if name.startswith("arg") else [(0, 2), (-1, -3)])
        outs = tfn.jit(lambda a, n=name: [getattr(tnp, n)(a, axis=ax, keepdims=True) for ax in axes])(x)
        for out, axis in zip(outs, axes):
            assert_close(out, getattr(np, name)(x, axis=axis, keepdims=True), scale=1e3)


# ---------------------------------------------------------------- zero-size arrays

def test_zero_size_bool_and_other_arrays():
    b = np.zeros((0, 3), bool)
    assert_close(tnp.logical_not(b), np.logical_not(b))
    assert_close(tnp.sum(b), np.sum(b))
    assert_close(tnp.where(b, 1, 2.5), np.where(b, 1, 2.5))
    z = np.zeros((2, 0), np.float32)
    out = tfn.jit(lambda z: (z * 2, tnp.sum(z, axis=1), tnp.concatenate([z, z], 1), z.T @ z, tnp.zeros_like(z, bool),
                             tnp.array([]), tnp.full((0, 2), True)))(z)
    refs = (z * 2, np.sum(z, axis=1), np.concatenate([z, z], 1), z.T @ z, np.zeros_like(z, bool), np.array([]),
            np.full((0, 2), True))
    for o, r in zip(out, refs):
        assert_close(o, r)
    # nn functions shift by a maximum that an empty axis lacks; logsumexp of nothing is -inf.
    from tfn import nn
    e = np.zeros((0, 3), np.float32)
    out = tfn.jit(lambda e: (nn.softmax(e, axis=0), nn.log_softmax(e), nn.logsumexp(e, axis=0), nn.logsumexp(e)))(e)
    for o, r in zip(out, (e, e, np.full(3, -np.inf, np.float32), np.float32(-np.inf))):
        assert_close(o, r)
    key = tfn.random.key(0)
    assert tfn.random.uniform(key, (0, 3)).shape == (0, 3) and tfn.random.split(key, 0).shape == (0, 2)
    assert_close(tnp.at(np.ones(3))[1:].add(2.0), np.array([1.0, 3.0, 3.0]))  # x.at for numpy arrays, eagerly


# ---------------------------------------------------------------- indexing

@pytest.mark.parametrize("index", [1.5, np.float64(0.0), (0, 1.5), "a"])
def test_float_index_is_an_index_error(index):
    with pytest.raises(IndexError, match="only integers, slices") as info:
        tfn.jit(lambda a: a[index])(np.ones((3, 2)))
    assert HERE in str(info.value)


def test_out_of_range_index_names_axis_size_and_line():
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3") as info:
        tfn.jit(lambda a: a[0, 3])(np.ones((2, 3)))
    assert HERE in str(info.value)
    with pytest.raises(IndexError, match="too many indices"):
        tfn.jit(lambda a: a[0, 0, 0])(np.ones((2, 3)))


@pytest.mark.parametrize("index", [np.int64(1), np.int32(-1), np.array(1), True, False, (0, True), (True, None, 0),
                                   (slice(None), 0, True), np.True_, (Ellipsis, np.int64(0))])
def test_numpy_scalar_and_bool_indices(index):
    x = np.arange(24).reshape(2, 3, 4)
    assert_close(tfn.jit(lambda a: a[index])(x), x[index])


# ---------------------------------------------------------------- inputs

def test_big_endian_inputs_and_lists():
    big = np.arange(3, dtype=">f4")
    assert_close(tnp.sin(big), np.sin(big).astype(np.float32))
    assert_close(tfn.jit(lambda a: a * 2)(big), (big * 2).astype(np.float32))
    assert_close(tfn.jit(lambda a: a + 1)(np.arange(4, dtype=">i8").reshape(2, 2)), np.arange(4).reshape(2, 2) + 1)
    assert_close(tnp.sin([1.0, 2.0]), np.sin([1.0, 2.0]))
    assert_close(tnp.add([1, 2], (3, 4)), np.add([1, 2], (3, 4)))
    assert_close(tnp.sum([[True, False], [True, True]], axis=0), np.sum([[True, False], [True, True]], axis=0))


# ---------------------------------------------------------------- arrays of traced values

def test_array_of_traced_values():
    assert_close(tfn.jit(lambda a, b: tnp.array([a, b]))(1.0, 2.0), np.array([1.0, 2.0]))
    x, y = np.arange(3, dtype=np.float32), np.ones(3, np.int32)
    out = tfn.jit(lambda x, y: (tnp.array([x, y]), tnp.asarray([[x[0], 2], [y[1], x[2]]]), tnp.array([x, [1, 2, 3]]),
                                tnp.array([x[0], 1.5]), tnp.array([[x]]), tnp.array([x, y], dtype=np.int32)))(x, y)
    refs = (np.array([x, y]), np.asarray([[x[0], 2], [y[1], x[2]]]), np.array([x, [1, 2, 3]]), np.array([x[0], 1.5]),
            np.array([[x]]), np.array([x, y], dtype=np.int32))
    for o, r in zip(out, refs):
        assert_close(o, r)
    with pytest.raises(ValueError, match="inhomogeneous|sequence"):
        tfn.jit(lambda x: tnp.array([x, x[:2]]))(x)
    # Differentiable and batchable like any other op.
    assert_close(tfn.grad(lambda a, b: tnp.sum(tnp.array([a, b * a]) ** 2))(1.5, 2.0), np.float64(15.0))
    xs = np.arange(6.0).reshape(3, 2)
    assert_close(tfn.vmap(lambda r: tnp.array([[r[1], r[0]], [r[0], 1.0]]))(xs),
                 np.stack([np.array([[r[1], r[0]], [r[0], 1.0]]) for r in xs]))


# ---------------------------------------------------------------- x.at[idx]

UPDATES = [((1, slice(None, None, 2)), (2,)), ((Ellipsis, 1), (3,)), ((slice(1, None), None, slice(0, 3)), (2, 1, 3)),
           ((-1,), ()), ((slice(0, 3, 2), slice(1, 4, 2)), (2, 2)), ((None,), (1, 3, 4)), ((0, 0), ())]


def _np_update(x, index, v, kind):
    out = x.copy()
    if kind == "set":
        out[index] = v
    elif kind == "add":
        out[index] += v
    elif kind == "multiply":
        out[index] *= v
    elif kind == "min":
        out[index] = np.minimum(out[index], v)
    else:
        out[index] = np.maximum(out[index], v)
    return out


def test_at_updates_match_numpy_setitem():
    x = np.arange(12.0).reshape(3, 4)
    for index, vshape in UPDATES:
        v = np.arange(1.0, 1.0 + np.prod(vshape)).reshape(vshape) * 1.5
        outs = tfn.jit(lambda x, v: (x.at[index].set(v), x.at[index].add(v), x.at[index].multiply(v),
                                     x.at[index].mul(v), x.at[index].min(v), x.at[index].max(v), x.at[index].get()))(x, v)
        refs = [_np_update(x, index, v, k) for k in ("set", "add", "multiply", "multiply", "min", "max")] + [x[index]]
        for o, r in zip(outs, refs):
            assert_close(o, r)
    # Values cast to the array's dtype, as numpy's item assignment; scalars broadcast.
    xi = np.arange(5, dtype=np.int32)
    assert_close(tfn.jit(lambda a: a.at[1:3].set(7.9))(xi), np.array([0, 7, 7, 3, 4], np.int32))
    assert_close(tfn.jit(lambda a: a.at[::2].add(True))(xi > 2), np.array([True, False, True, True, True]))
    assert_close(tfn.jit(lambda a: a.at[2:2].set(1.0))(np.zeros(3)), np.zeros(3))


def test_at_under_grad_matches_finite_differences():
    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    v = np.array([0.3, -0.7])

    def loss(x, v):
        y = x.at[1, ::2].set(v * v).at[0].multiply(x[2]).at[:, 3].add(tnp.sin(v[0])).at[2, 1:3].max(v)
        return tnp.sum(tnp.tanh(y) * x)

    gx, gv = tfn.grad(loss, argnums=(0, 1))(x, v)
    f = tfn.jit(loss)
    for arg, g, k in ((x, gx, 0), (v, gv, 1)):
        fd = np.zeros_like(arg)
        for i in np.ndindex(arg.shape):
            e = np.zeros_like(arg)
            e[i] = 1e-6
            args_p, args_m = [x, v], [x, v]
            args_p[k], args_m[k] = arg + e, arg - e
            fd[i] = (f(*args_p) - f(*args_m)) / 2e-6
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


def test_at_under_vmap_matches_a_loop():
    xs = np.arange(30.0).reshape(5, 2, 3)
    vs = np.arange(10.0).reshape(5, 2)
    f = lambda x, v: x.at[:, 1].set(v).at[0, ::2].add(v[0])  # noqa: E731
    out = tfn.vmap(f)(xs, vs)
    ref = np.stack([_np_update(_np_update(x, (slice(None), 1), v, "set"), (0, slice(None, None, 2)), v[0], "add")
                    for x, v in zip(xs, vs)])
    assert_close(out, ref)
    assert_close(tfn.vmap(f, in_dims=(0, None))(xs, vs[0]), np.stack([np.asarray(f_ref) for f_ref in (
        _np_update(_np_update(x, (slice(None), 1), vs[0], "set"), (0, slice(None, None, 2)), vs[0][0], "add")
        for x in xs)]))


def test_item_assignment_points_to_at():
    def f(x):
        x[0] = 1.0
        return x
    with pytest.raises(TypeError, match=r"x.at\[index\].set\(value\)") as info:
        tfn.jit(f)(np.ones((2, 3)))
    assert "[2, 3]" in str(info.value) and HERE in str(info.value)


# ---------------------------------------------------------------- threads

def test_eager_calls_in_one_thread_while_another_traces():
    """Trace state is per thread: an eager tnp call must not land in (or be refused by) another
    thread's trace, however the two interleave."""
    from mlir import ir
    from tfn.api.jit import _COMPILE_LOCK
    from tfn.frontend.tracer import context, trace

    errors, stop = [], threading.Event()

    def eager():
        x = np.linspace(0.0, 1.0, 3)
        try:
            for _ in range(400):
                assert_close(tnp.sin(x), np.sin(x))
                assert_close(tnp.sum(x * 2.0), np.sum(x * 2.0))
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            stop.set()

    def many_ops(a):
        for _ in range(20):
            a = tnp.tanh(a) * 0.5 + tnp.sum(a)
        return a

    def tracing():
        try:
            while not stop.is_set():  # tracing only: the thread is inside tnp functions nearly all the time
                with _COMPILE_LOCK, context(), ir.Location.unknown():
                    trace(many_ops, (np.ones(3),), {}, ir.Module.create(), "f")
            y = np.full(2, 0.5)
            assert_close(tfn.jit(many_ops)(y), tfn.jit(many_ops)(y))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=tracing), threading.Thread(target=eager)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors


# ---------------------------------------------------------------- errors name the function, shapes and line

@pytest.mark.parametrize("call, words", [
    (lambda: tnp.add(np.ones(3), np.ones(4)), ["add", "(3,)", "(4,)"]),
    (lambda: tnp.negative(np.ones(2, bool)), ["negative", "bool[2]"]),
    (lambda: tnp.sum(np.ones(3), axis=1.5), ["sum", "axis"]),
    (lambda: tnp.reshape(np.ones(6), (4, -1)), ["reshape", "(6,)"]),
    (lambda: tnp.sin(np.ones(2, np.complex64)), ["sin", "complex64"]),
    (lambda: tnp.arange(3, dtype=bool), ["arange"]),
    (lambda: tnp.zeros((2, -1)), ["zeros", "negative"]),
    (lambda: tnp.concatenate([np.ones(2), np.ones((2, 2))]), ["concatenate"]),
    (lambda: tnp.power(np.arange(3), -1), ["power", "negative"]),
    (lambda: tnp.array([np.ones(2), np.ones(3)]), ["asarray"]),
])
def test_bad_input_errors_name_function_and_line(call, words):
    with pytest.raises((TypeError, ValueError, IndexError)) as info:
        call()
    message = str(info.value)
    assert not isinstance(info.value, (KeyError, AttributeError))
    assert "tfn" in message and HERE in message, message
    for word in words:
        assert word in message, (word, message)


BAD_ARGUMENTS = ["abc", None, {"a": 1}, object(), 1j, np.ones(2, np.complex64), np.array(["x"]), [[1, 2], [3]]]


def test_every_function_names_itself_on_bad_arguments():
    """Each public function, each positional parameter in turn given a value it cannot take,
    eagerly and under jit: a TypeError or ValueError naming tfn and the user's line, never an
    error from inside tfn (KeyError, AttributeError, ...)."""
    import inspect
    names = [n for n in dir(tnp) if not n.startswith("_") and callable(getattr(tnp, n))
             and getattr(getattr(tnp, n), "__module__", "") == "tfn.numpy" and n not in ("at", "ndarray")]
    problems = []
    for name in names:
        fn = getattr(tnp, name)
        params = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty]
        arity = 1 if any(p.kind == p.VAR_POSITIONAL for p in params) else max(1, len(params))
        good = np.ones((2, 3))
        for i in range(arity):
            for bad in BAD_ARGUMENTS:
                args = [good] * arity
                args[i] = bad
                if name == "einsum":
                    args = ["ij->i"] + args
                for how, call in (("eager", lambda: fn(*args)),
                                  ("jit", lambda: tfn.jit(lambda x: fn(*[x if a is good else a for a in args]))(good))):
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)  # full_like(x, 1j), as numpy
                            call()
                    except (TypeError, ValueError, IndexError) as error:
                        if "tfn" not in str(error) or HERE not in str(error):
                            problems.append(f"{how} {name} arg {i} = {bad!r}: {type(error).__name__}: {error}")
                    except Exception as error:  # noqa: BLE001
                        problems.append(f"{how} {name} arg {i} = {bad!r}: {type(error).__name__}: {error}")
    assert not problems, "\n".join(problems[:20])


def test_float_remainder_and_floor_divide_are_exact_like_numpy():
    """numpy's mod is fmod based: 1 % 0.001 is 0.000999..., and 1 // 0.001 is 999 (the quotient
    a / b rounds to 1000); x % 0 is nan, x // 0 is +-inf for floats and 0 for integers."""
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        a = np.concatenate([rng.normal(size=50) * 10, [1, -1, 0, 1, 5, 7.5, -7.5, 1e10, 3, 0.3]]).astype(dtype)
        b = np.concatenate([rng.normal(size=50), [0.001, 0.001, 3, 0, -0.1, 2, -2, 0.3, 0.1, 0.1]]).astype(dtype)
        with np.errstate(all="ignore"):
            r, q = tfn.jit(lambda a, b: (a % b, a // b))(a, b)
            assert_close(r, a % b)
            assert_close(q, a // b)
    inf = np.inf
    a = np.array([1.0, -1.0, 0.0, -0.0, inf, -inf, np.nan, 3.0, 1.0, 1.0, -2.0])
    b = np.array([inf, inf, inf, -inf, 2.0, 2.0, 2.0, 0.0, -inf, np.nan, 0.0])  # infinities and zeros
    with np.errstate(all="ignore"):
        for o, r in zip(tfn.jit(lambda a, b: (a % b, a // b))(a, b), (a % b, a // b)):
            assert_close(o, r)
    ai, bi = np.array([7, -7, 3, 0, 5], np.int32), np.array([2, 2, 0, 0, -3], np.int32)
    with np.errstate(all="ignore"):
        for o, r in zip(tfn.jit(lambda a, b: (a % b, a // b))(ai, bi), (ai % bi, ai // bi)):
            assert_close(o, r)
    g = tfn.grad(lambda x, y: tnp.sum(x % y), argnums=(0, 1))(np.array([1.0, 7.5]), np.array([0.001, 2.0]))
    assert_close(g[0], np.ones(2))
    assert_close(g[1], -np.floor(np.array([1.0, 7.5]) / np.array([0.001, 2.0])) + np.array([1.0, 0.0]))


def test_edges_the_fuzzer_found():
    """logaddexp of equal infinities, sinh/cosh just below their overflow, round of integers to
    tens, and arguments numpy rejects (constant out-of-bounds take indices, tensordot axes out of
    range, negative pad widths)."""
    x = np.array([-711.0, -710.2, -30.0, -1e-7, 0.0, 5.0, 21.0, 88.9, 709.9, 710.3])
    with np.errstate(all="ignore"):
        for dtype in (np.float64, np.float32):
            xx = x.astype(dtype)
            s, c = tfn.jit(lambda x: (tnp.sinh(x), tnp.cosh(x)))(xx)
            assert_close(s, np.sinh(xx))
            assert_close(c, np.cosh(xx))
    assert_close(tfn.grad(lambda x: tnp.sum(tnp.cosh(x) + tnp.sinh(x)))(np.array([1.0, 30.0, -30.0])),
                 np.exp(np.array([1.0, 30.0, -30.0])))
    e = np.array([np.inf, -np.inf, 1.0])
    assert_close(tfn.jit(lambda x: tnp.logaddexp(x, x))(e), np.logaddexp(e, e))
    i = np.array([15, 25, -35, 149])
    assert_close(tfn.jit(lambda a: tnp.round(a, -1))(i), np.round(i, -1))
    for bad in (lambda a: tnp.take(a, [5]), lambda a: tnp.take_along_axis(a[None], np.array([[3]]), 1),
                lambda a: tnp.tensordot(a, a, axes=([5], [0])), lambda a: tnp.pad(a[0], -1)):
        with pytest.raises((IndexError, ValueError)) as info:
            tfn.jit(bad)(np.ones(3))
        assert HERE in str(info.value)
