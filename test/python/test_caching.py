"""Compile caches: shared across transform objects, weakly keyed, bounded; memory stays bounded."""
import gc
import os
import warnings
import weakref

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn.api import caching, jit as jit_module
from tfn.api.caching import compile_count
from tfn.api.transforms import _EAGER, _TRANSFORMS

X = np.linspace(0.1, 1.0, 4)
XS = np.linspace(0.1, 1.0, 12).reshape(3, 4)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def loss(x):
    return tnp.sum(tnp.sin(x) ** 2)


def rss_mb() -> float:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


@pytest.fixture(autouse=True)
def limits():
    old = tfn.set_cache_limits()
    yield
    tfn.set_cache_limits(**old)


def compiles(fn, n=100):
    """Compiles done by n calls of fn, after a first call."""
    fn()
    before = compile_count()
    for _ in range(n):
        fn()
    return compile_count() - before


# ---------------------------------------------------------------- shared across transform objects

def test_grad_written_in_a_loop_compiles_once():
    before = compile_count()
    for _ in range(100):
        g = tfn.grad(loss)(X)
    assert compile_count() - before == 1
    close(g, 2 * np.sin(X) * np.cos(X))


@pytest.mark.parametrize("make", [
    lambda: tfn.vmap(tfn.grad(loss))(XS),
    lambda: tfn.vmap(lambda x, w: x * w, in_dims=(0, None))(XS, X),
    lambda: tfn.grad_and_value(loss)(X),
    lambda: tfn.jacrev(tnp.sin)(X),
    lambda: tfn.jacfwd(tnp.sin)(X),
    lambda: tfn.hessian(loss)(X),
    lambda: tfn.jvp(tnp.sin, (X,), (X,)),
    lambda: tfn.vjp(tnp.sin, X)[1](X),
    lambda: tfn.linearize(tnp.sin, X)[1](X),
    lambda: tfn.grad(lambda x, n: tnp.sum(x ** n))(X, 3),
], ids=["vmap-grad", "vmap-in-dims", "grad-and-value", "jacrev", "jacfwd", "hessian", "jvp", "vjp",
        "linearize", "grad-static"])
def test_transforms_written_inline_compile_once(make):
    assert compiles(make, 30) == 0


def test_options_key_the_cache():
    f = lambda x: x * 2.0  # noqa: E731
    close(tfn.vmap(tfn.jacrev(f))(XS), np.broadcast_to(2 * np.eye(4), (3, 4, 4)))
    close(tfn.vmap(f, in_dims=1)(XS), 2 * XS.T)
    close(tfn.vmap(f, in_dims=0)(XS), 2 * XS)
    g = lambda x, y: tnp.sum(x * y * y)  # noqa: E731
    close(tfn.grad(g, argnums=0)(X, X), X * X)
    close(tfn.grad(g, argnums=1)(X, X), 2 * X * X)


def test_fresh_lambdas_share_a_program_when_their_closures_are_equal():
    before = compile_count()
    for _ in range(50):
        g = tfn.grad(lambda x: loss(x) * 2)(X)
    assert compile_count() - before == 1
    close(g, 4 * np.sin(X) * np.cos(X))


def test_closure_values_key_the_cache():
    # Numbers by value (0.0 and -0.0 apart), lists (unkeyable) by the function, arrays by identity.
    for k in (1.0, 2.0, 3):
        close(tfn.grad(lambda x: tnp.sum(x * k))(X), np.full(4, float(k)))
    for k in (0.0, -0.0):
        with np.errstate(divide="ignore"):
            close(tfn.grad(lambda x: tnp.sum(x / k))(X), np.full(4, 1 / np.float64(k)))
    for k in (1.0, 2.0):
        box = [k]
        close(tfn.grad(lambda x: tnp.sum(x * box[0]))(X), np.full(4, k))
    for k in range(5):
        c = np.full(4, float(k)) + np.arange(4)   # a fresh array may reuse a dead one's id
        close(tfn.grad(lambda x: tnp.sum(x * c))(X), c)
        close(tfn.jit(lambda x: x * c)(X), X * c)


W = np.ones(4)


def global_loss(x):
    return tnp.sum(x * W)


def test_arrays_rebound_or_written_in_place_are_new_keys():
    global W
    for k in range(3):
        W = np.full(4, float(k))                  # a global rebound, as a training step does
        close(tfn.grad(global_loss)(X), W)
    for k in range(3):
        W[:] = k + 10.0                           # ... or written in place
        close(tfn.grad(global_loss)(X), W)
    c = np.ones(4)
    for k in range(3):
        c[:] = k
        close(tfn.grad(lambda x: tnp.sum(x * c))(X), c)

    class State:
        k = 1.0
    s = State()
    for k in range(3):                            # an object: fresh lambdas key by themselves
        s.k = float(k)
        close(tfn.grad(lambda x: tnp.sum(x * s.k))(X), np.full(4, float(k)))
    assert compiles(lambda: tfn.grad(global_loss)(X)) == 0


def test_entries_die_with_their_function_and_constants():
    table = len(_TRANSFORMS)
    c = np.random.rand(1000)
    ref = weakref.ref(c)
    tfn.grad(lambda x: tnp.sum(x * c[:4]))(X)
    tfn.vjp(lambda x: x * c[:4], X)[1](X)
    tfn.jit(lambda x: x + c[:4])(X)
    box = [2.0]
    f = lambda x: tnp.sum(x * box[0])  # noqa: E731
    tfn.grad(f)(X)
    assert len(_TRANSFORMS) == table + 2
    del c, f
    gc.collect()
    assert ref() is None and len(_TRANSFORMS) == table


def test_bound_methods_key_by_function_and_instance():
    class Model:
        def __init__(self, w):
            self.w = w

        def loss(self, x):
            return tnp.sum(x * self.w)
    m = Model(2.0)
    assert compiles(lambda: tfn.grad(m.loss)(X), 10) == 0
    close(tfn.grad(Model(3.0).loss)(X), np.full(4, 3.0))


# ---------------------------------------------------------------- vjp and linearize bound at call time

def test_vjp_fn_computes_at_the_primals_and_state_of_the_vjp_call():
    state = {"k": 2.0}
    x = X.copy()
    out, vjp_fn = tfn.vjp(lambda x: tnp.sin(x) * state["k"], x)
    expected = 2.0 * np.cos(X) * X
    state["k"] = 5.0
    x[:] = 0.0
    before = compile_count()
    close(vjp_fn(X)[0], expected)
    close(vjp_fn(1.0 * X)[0], expected)
    assert compile_count() == before     # f is not traced again
    close(out, 2.0 * np.sin(X))


def test_linearize_fn_computes_at_the_primals_and_state_of_the_linearize_call():
    state = {"k": 2.0}
    x = X.copy()
    out, jvp_fn = tfn.linearize(lambda x: tnp.sin(x) * state["k"], x)
    state["k"] = 5.0
    x[:] = 0.0
    before = compile_count()
    close(jvp_fn(X), 2.0 * np.cos(X) * X)
    assert compile_count() == before


def test_vjp_fn_still_checks_cotangents():
    _, vjp_fn = tfn.vjp(tnp.sin, X)
    with pytest.raises(ValueError, match="cotangent"):
        vjp_fn(np.ones(3))
    with pytest.raises(TypeError, match="dtype"):
        vjp_fn(np.ones(4, np.float32))
    close(tfn.vjp(lambda x: tnp.sum(x), X)[1](1.0)[0], np.ones(4))   # a Python scalar takes the dtype


# ---------------------------------------------------------------- clearing and limits

def test_cache_clear_and_clear_caches():
    f = tfn.jit(lambda x: x + 1)
    f(X), f(XS)
    assert f.cache_size() == 2
    f.cache_clear()
    assert f.cache_size() == 0
    close(f(X), X + 1)
    g = tfn.grad(loss)
    g(X)
    tfn.clear_caches()
    assert f.cache_size() == 0 and len(_TRANSFORMS) == 0 and len(_EAGER) == 0
    before = compile_count()
    g(X)
    assert compile_count() == before + 1


def test_signature_limit_evicts_and_warns():
    tfn.set_cache_limits(signatures=3, warn_after=1000)
    f = tfn.jit(lambda x: x * 2)
    with pytest.warns(tfn.RecompileWarning, match=r"more than 3 signatures(.|\n)*test_caching.py"):
        for n in range(1, 6):
            f(np.ones(n))
    assert f.cache_size() == 3
    close(f(np.ones(5)), np.full(5, 2.0))


def test_retracing_warns_once_naming_the_change():
    tfn.set_cache_limits(warn_after=3)
    f = tfn.jit(lambda x, n: x * n, static_argnums=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(6):
            f(X, n)
    messages = [str(w.message) for w in caught if issubclass(w.category, tfn.RecompileWarning)]
    assert len(messages) == 1 and "traced and compiled 3 times" in messages[0]
    assert "static argument n 1 -> 2" in messages[0] and caught[0].filename == __file__
    with pytest.raises(ValueError, match="positive int"):
        tfn.set_cache_limits(signatures=0)


def test_lower_keeps_stages_and_reports_compile_stats():
    f = tfn.jit(lambda x: tnp.exp(x) * 2)
    f(X)
    lowered = f.lower(X)
    assert '"tfn.exp"' in lowered.as_text("tfn") and lowered.compile_stats()["trace"] > 0
    assert f.cache_size() == 1


# ---------------------------------------------------------------- memory

def test_many_calls_of_one_jitted_function_keep_no_memory():
    f = tfn.jit(lambda x: tnp.sin(x) * 2)
    for _ in range(1000):
        f(X)
    before = rss_mb()
    for _ in range(100_000):
        f(X)
    assert rss_mb() - before < 5


def test_eager_vjp_of_new_lambdas_keeps_bounded_memory():
    def run(n, fresh):
        for i in range(n):
            c = np.full(4, float(i)) if fresh else 2.0
            out, vjp_fn = tfn.vjp(lambda x: tnp.sin(x) * c, X)
            vjp_fn(X)
    run(3, True)
    run(10, False)
    before, table = rss_mb(), len(_EAGER)
    run(10_000, False)   # new lambda objects, one program
    run(25, True)        # new closures over new arrays: compiled, then dropped with them
    assert rss_mb() - before < 15 and len(_EAGER) <= table + 2


def test_rejitting_closures_over_large_constants_keeps_bounded_memory():
    x = np.ones(131072)

    def run(n):
        for _ in range(n):
            c = np.random.rand(131072)   # 1 MiB read by the program, an argument of it
            tfn.jit(lambda x: x + c)(x)
    run(60)                              # malloc's pools reach their working size
    before, entries = rss_mb(), sum(len(table) for table in caching._TABLES)
    run(200)                             # 200 MiB of constants, if anything kept them
    assert rss_mb() - before < 8
    assert sum(len(table) for table in caching._TABLES) <= entries + 4   # entries died with their arrays


def test_large_constants_in_ir_are_renewed_with_the_context(monkeypatch):
    """Constants that stay in the IR (hoisting off) are freed with the context they live in."""
    monkeypatch.setitem(jit_module.CONTEXT_RENEWAL, "constant_bytes", 8 << 20)
    monkeypatch.setattr(jit_module, "HOIST_CONSTANT_BYTES", None)
    x = np.ones(131072)

    def run(n):
        for _ in range(n):
            c = np.random.rand(131072)
            tfn.jit(lambda x: x + c)(x)
    run(10)
    before = rss_mb()
    run(60)
    assert rss_mb() - before < 30


def test_large_captured_arrays_are_arguments_read_as_they_were_at_trace_time():
    w = np.random.default_rng(0).standard_normal((64, 64))
    x = np.random.default_rng(1).standard_normal((3, 64))
    f = tfn.jit(lambda x: tnp.tanh(x @ w))
    text = f.lower(x).as_text("tfn")
    assert "tensor<64x64xf64>) ->" in text.splitlines()[1] and "dense<" not in text
    expected = np.tanh(x @ w)
    close(f(x), expected)
    w[:] = 0.0                                   # a write after the trace is not seen, as for a constant
    close(f(x), expected)
    # Under transforms the array is captured through every nested function.
    v = np.random.default_rng(2).standard_normal(64)
    g = tfn.jit(tfn.vmap(tfn.grad(lambda v, x: tnp.sum(tnp.sin(x @ w2) * v)), in_dims=(None, 0)))
    w2 = np.random.default_rng(3).standard_normal((64, 64))
    got = g(v, x)
    close(got, np.sin(x @ w2))
    small = np.arange(4.0)                       # below the threshold: a constant
    assert "dense<" in tfn.jit(lambda y: y + small).lower(np.ones(4)).as_text("tfn")


def test_evicted_programs_are_freed():
    tfn.set_cache_limits(signatures=4, warn_after=1000)
    f = tfn.jit(lambda x: tnp.tanh(x) * 2 + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tfn.RecompileWarning)
        for n in range(1, 9):
            f(np.ones(n))
        before = rss_mb()
        for n in range(9, 39):   # 30 programs of ~1 MB each compiled, 4 kept
            f(np.ones(n))
    assert f.cache_size() == 4 and rss_mb() - before < 12


def test_jit_written_in_a_loop_compiles_once():
    assert compiles(lambda: tfn.jit(loss)(X)) == 0
    assert compiles(lambda: tfn.jit(lambda x: loss(x) * 2)(X)) == 0
    n = 3
    assert compiles(lambda: tfn.jit(lambda x, k: loss(x) * k * n, static_argnums=1)(X, 2)) == 0
    close(tfn.jit(lambda x: x * n)(X), 3 * X)
    n = 4
    close(tfn.jit(lambda x: x * n)(X), 4 * X)   # the cell's value keys the cache
