"""tfn.jit: caching and re-tracing, static arguments, pytrees, scalars, constants, lowering text."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from conftest import assert_close

F32 = np.float32


def counting(fn):
    """fn wrapped (keeping its signature) to count how often it is traced."""
    @functools.wraps(fn)
    def traced(*args, **kwargs):
        traced.count += 1
        return fn(*args, **kwargs)
    traced.count = 0
    return traced


def test_same_signature_traces_once():
    body = counting(lambda x, y: x * y + 1)
    f = tfn.jit(body)
    x, y = np.arange(6, dtype=F32).reshape(2, 3), np.ones((2, 3), F32)
    for k in range(3):
        assert_close(f(x + k, y), (x + k) * y + 1)
    assert body.count == 1 and f.cache_size() == 1


@pytest.mark.parametrize("variant", [
    lambda x: x[:, :2],                       # new shape
    lambda x: x.astype(np.float64),           # new dtype
    lambda x: x.reshape(-1),                  # new rank
    lambda x: x.astype(np.int32),             # float -> int
])
def test_retrace_on_new_abstract_value(variant):
    body = counting(lambda x: x * 2)
    f = tfn.jit(body)
    x = np.arange(6, dtype=F32).reshape(2, 3)
    f(x)
    y = variant(x)
    out = f(y)
    assert_close(out, y * 2)
    assert body.count == 2
    f(y)
    assert body.count == 2


def test_retrace_on_pytree_structure():
    body = counting(lambda t: tnp.sum(tnp.stack(tfn.tree_leaves(t))))
    f = tfn.jit(body)
    a = np.ones(2, F32)
    assert_close(f((a, a)), np.array(4, F32))
    assert_close(f([a, a]), np.array(4, F32))
    assert_close(f({"x": a, "y": a}), np.array(4, F32))
    assert_close(f((a, a, a)), np.array(6, F32))
    assert body.count == 4
    f((a * 3, a))
    assert body.count == 4


def test_static_argnums():
    body = counting(lambda x, n, op: getattr(tnp, op)(x ** n))
    f = tfn.jit(body, static_argnums=(1, 2))
    x = np.arange(1.0, 4.0)
    assert_close(f(x, 2, "sum"), np.sum(x ** 2))
    assert_close(f(x, 3, "sum"), np.sum(x ** 3))
    assert_close(f(x, 3, "max"), np.max(x ** 3))
    assert_close(f(x * 2, 3, "max"), np.max((x * 2) ** 3))
    assert body.count == 3


def test_static_argnums_negative_and_scalar_types():
    """1, 1.0 and True are equal as static values but give different programs."""
    f = tfn.jit(lambda x, s: x + s, static_argnums=-1)
    x = np.arange(3, dtype=np.int32)
    for s in (1, 1.0, True):
        assert_close(f(x, s), x + s)


def test_static_argnames_by_keyword_and_position():
    body = counting(lambda x, power=1: x ** power)
    f = tfn.jit(body, static_argnames="power")
    x = np.arange(4.0)
    assert_close(f(x, power=3), x ** 3)
    assert_close(f(x, 3), x ** 3)          # the same parameter passed by position is static too
    assert_close(f(x), x)
    assert body.count == 2


def test_kwargs_are_dynamic():
    body = counting(lambda x, *, scale, shift=0.0: x * scale + shift)
    f = tfn.jit(body)
    x = np.arange(3, dtype=F32)
    assert_close(f(x, scale=np.float32(2)), x * np.float32(2))
    assert_close(f(x, scale=np.float32(3), shift=np.float32(1)), x * 3 + np.float32(1))
    assert_close(f(x, scale=np.float32(4)), x * np.float32(4))
    assert body.count == 2


def test_pytrees_in_and_out():
    @tfn.jit
    def f(params, batch):
        (w, b), extra = params["layer"], params["extra"]
        x, = batch
        y = x @ w + b
        return {"y": y, "both": [y, (extra, None)], "nothing": None, "sum": tnp.sum(y)}

    w, b, x = np.ones((3, 2), F32), np.arange(2, dtype=F32), np.arange(6, dtype=F32).reshape(2, 3)
    extra = np.float64(5.0)
    out = f({"layer": (w, b), "extra": extra}, [x])
    y = x @ w + b
    assert set(out) == {"y", "both", "nothing", "sum"} and out["nothing"] is None
    assert isinstance(out["both"], list) and isinstance(out["both"][1], tuple) and out["both"][1][1] is None
    assert_close(out["y"], y)
    assert_close(out["both"][0], y)
    assert_close(out["both"][1][0], np.asarray(extra))
    assert_close(out["sum"], np.sum(y))


def test_none_leaves_in_arguments():
    f = tfn.jit(lambda t: t[0] * 2 if t[1] is None else t[0] + t[1])
    a = np.ones(3)
    assert_close(f((a, None)), a * 2)
    assert_close(f((a, a)), a + a)


def test_python_scalars_are_weak():
    f = tfn.jit(lambda x, s: x * s)
    x32 = np.arange(3, dtype=F32)
    assert_close(f(x32, 2.5), x32 * 2.5)                       # stays float32
    assert_close(f(x32, 2), x32 * 2)
    xi = np.arange(3, dtype=np.int32)
    assert_close(f(xi, 2), xi * 2)                             # stays int32
    assert_close(f(xi, 2.5), xi * 2.5)                         # float64
    assert_close(f(2.0, 3), np.asarray(6.0))                   # two Python scalars: float64 0-d
    assert_close(f(True, xi), True * xi)


def test_numpy_scalars_are_strong():
    f = tfn.jit(lambda x, s: x * s)
    x32 = np.arange(3, dtype=F32)
    assert_close(f(x32, np.float64(2.5)), x32 * np.float64(2.5))   # float64, numpy 2 semantics
    assert_close(f(x32, np.float32(2.5)), x32 * np.float32(2.5))
    assert_close(f(np.arange(3, dtype=np.int32), np.int64(3)), np.arange(3, dtype=np.int32) * np.int64(3))
    assert_close(f(np.int32(4), np.int32(3)), np.int32(4) * np.int32(3))


def test_unsupported_dtypes_are_canonicalized_or_rejected():
    f = tfn.jit(lambda x: x + 1)
    assert_close(f(np.arange(3, dtype=np.int16)), (np.arange(3, dtype=np.int16) + 1).astype(np.int32))
    with pytest.raises(TypeError, match="complex"):
        f(np.ones(2, np.complex64))


def test_closure_constants():
    table = np.arange(6.0).reshape(2, 3)
    bias = np.float32(0.5)
    f = tfn.jit(lambda x: x * table + bias + tnp.ones(3, tnp.float32))
    x = np.ones((2, 3), F32)
    assert_close(f(x), x * table + bias + np.ones(3, F32))


def test_outputs_that_are_inputs_or_constants():
    @tfn.jit
    def f(x, y):
        return x, (x, y), 3.0, np.arange(3), tnp.zeros((2,), tnp.int32), 7

    x, y = np.arange(4, dtype=F32), np.ones((2, 2))
    ox, (ox2, oy), c, ar, z, seven = f(x, y)
    assert_close(ox, x)
    assert_close(ox2, x)
    assert_close(oy, y)
    assert_close(c, np.asarray(3.0))
    assert_close(ar, np.arange(3))
    assert_close(z, np.zeros(2, np.int32))
    assert_close(seven, np.asarray(7))
    ox[0] = 100                             # outputs are fresh arrays, not views of the inputs
    assert x[0] == 0 and ox2[0] == 0


def test_input_not_modified_and_noncontiguous_inputs():
    f = tfn.jit(lambda x: x * 2)
    base = np.arange(12.0).reshape(3, 4)
    view = base.T
    assert_close(f(view), view * 2)
    assert_close(f(base[:, ::2]), base[:, ::2] * 2)
    np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4))


def test_lower_as_text_stages():
    f = tfn.jit(lambda x, y: tnp.sum(tnp.exp(x) * y, axis=0))
    x = np.ones((2, 3), F32)
    lowered = f.lower(x, x)
    tfn_text, linalg_text, llvm_text = (lowered.as_text(s) for s in ("tfn", "linalg", "llvm"))
    assert '"tfn.exp"' in tfn_text and '"tfn.reduce_sum"' in tfn_text and "tensor<2x3xf32>" in tfn_text
    assert "linalg.generic" in linalg_text and "tfn." not in linalg_text.replace("tfn.source_name", "")
    assert "llvm.func" in llvm_text and "linalg." not in llvm_text
    assert lowered.as_text() == tfn_text
    with pytest.raises(ValueError, match="unknown stage"):
        lowered.as_text("ptx")
    assert f(x, x).shape == (3,) and f.cache_size() == 1   # lower() filled the cache


def test_jit_inside_jit():
    inner_body = counting(lambda a, b: tnp.tanh(a) * b)
    inner = tfn.jit(inner_body)
    outer = tfn.jit(lambda x: inner(x, 2.0) + inner(x * 2, x))
    x = np.linspace(-1, 1, 5)
    assert_close(outer(x), np.tanh(x) * 2.0 + np.tanh(x * 2) * x)
    assert_close(inner(x, x), np.tanh(x) * x)                 # the inner function still works on its own


def test_jit_inside_jit_with_static_args():
    inner = tfn.jit(lambda x, n: x ** n, static_argnums=1)
    outer = tfn.jit(lambda x: inner(x, 3) - inner(x, 2))
    x = np.arange(4.0)
    assert_close(outer(x), x ** 3 - x ** 2)


def test_decorator_forms_and_metadata():
    @tfn.jit(static_argnums=1)
    def scaled(x, k):
        """Doc."""
        return x * k

    assert scaled.__name__ == "scaled" and scaled.__doc__ == "Doc."
    assert_close(scaled(np.ones(2), 3), np.full(2, 3.0))


def test_large_function_compiles_and_runs():
    def mlp(params, x):
        for w, b in params:
            x = tnp.tanh(x @ w + b)
        return tfn.nn.log_softmax(x)

    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((8, 8)) * 0.3, rng.standard_normal(8)) for _ in range(6)]
    x = rng.standard_normal((4, 8))
    ref = x
    for w, b in params:
        ref = np.tanh(ref @ w + b)
    ref = ref - ref.max(-1, keepdims=True)
    ref = ref - np.log(np.exp(ref).sum(-1, keepdims=True))
    assert_close(tfn.jit(mlp)(params, x), ref, scale=10.0)


def test_threads_share_compiled_functions_safely():
    import threading
    f = tfn.jit(lambda x: tnp.tanh(x) * 2.0 + tnp.sum(x))
    inputs = [np.full((64,), i, np.float64) / 10 for i in range(8)]
    results, errors = {}, []

    def work(i):
        try:
            for _ in range(50):
                results[i] = f(inputs[i])
            # Tracing in threads: each trace stays in its own thread.
            results[("g", i)] = tfn.jit(lambda x, k=i: x * k)(inputs[i])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, x in enumerate(inputs):
        np.testing.assert_allclose(results[i], np.tanh(x) * 2 + x.sum(), rtol=1e-12)
        np.testing.assert_allclose(results[("g", i)], x * i)
