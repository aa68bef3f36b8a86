"""The Python side of compile time: tracing and transform expansion do work linear in
the program, wrap ops without import attempts, and expand a transform of a function
traced K times once. Costs are counted (imports, expansions, ops), never timed."""
import importlib.abc
import sys

import numpy as np
import pytest
from mlir import ir

import tfn
import tfn.numpy as tnp
from tfn.api import jit as jit_module
from tfn.frontend import pytree
from tfn.frontend.tracer import ShapeDtype
from tfn.passes import expand_transforms
from tfn.passes import merge_identical_functions as merge_module


def _trace(fn, *args):
    """trace_module (tracing + merging + expansion) of fn(*args); returns the module's text,
    its function names and its op count."""
    leaves, _ = pytree.flatten((args, {}))
    avals = tuple(ShapeDtype.of(x) for x in leaves)
    with jit_module.context(), ir.Location.unknown():
        module, _ = jit_module.trace_module(fn, args, {}, avals)
        names = [ir.StringAttr(op.attributes["sym_name"]).value for op in module.body.operations]
        count = [0]

        def visit(op):
            count[0] += 1
            return ir.WalkResult.ADVANCE
        module.operation.walk(visit)
        return str(module), names, count[0]


def _loss(w, x):
    return tnp.sum(tnp.tanh(x @ w) ** 2)


def _train(steps):
    def train(w, x):
        for _ in range(steps):
            w = w - 0.1 * tfn.grad(_loss)(w, x)
        return _loss(w, x)
    return train


def _np_train(w, x, steps):
    """The same program in numpy, with the gradient of sum(tanh(x @ w)**2) by hand."""
    for _ in range(steps):
        y = np.tanh(x @ w)
        w = w - 0.1 * (x.T @ (2 * y * (1 - y * y)))
    return np.sum(np.tanh(x @ w) ** 2)


def _args(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)


def _count_expansions(monkeypatch) -> list[str]:
    """The kinds of transform ops expanded from now on, one entry per expander run."""
    expansions = []
    expand_transforms._load_expanders()
    for kind, expander in list(expand_transforms.EXPANDERS.items()):
        def counting(op, callee, module_op, _expander=expander, _kind=kind):
            expansions.append(_kind)
            return _expander(op, callee, module_op)
        monkeypatch.setitem(expand_transforms.EXPANDERS, kind, counting)
    return expansions


class _ImportCounter(importlib.abc.MetaPathFinder):
    """Counts every import that reaches the finders (imports found in sys.modules do not)."""

    def __init__(self):
        self.names: list[str] = []

    def find_spec(self, name, path=None, target=None):
        self.names.append(name)
        return None


@pytest.fixture
def import_counter():
    counter = _ImportCounter()
    sys.meta_path.insert(0, counter)
    try:
        yield counter
    finally:
        sys.meta_path.remove(counter)


def test_wrapping_ops_attempts_no_imports(import_counter):
    _trace(tfn.grad(_train(2)), *_args())   # warm: imports of tfn's own modules happen once
    import_counter.names.clear()
    _, _, ops = _trace(tfn.grad(_train(4)), *_args())
    assert ops > 100
    dialects = [n for n in import_counter.names if n.startswith("mlir.dialects.")]
    assert dialects == [] and len(import_counter.names) <= 2, import_counter.names


def test_full_compile_attempts_few_imports(import_counter):
    f = tfn.jit(tfn.grad(_train(2)))
    f(*_args())
    import_counter.names.clear()
    tfn.jit(tfn.grad(_train(3)))(*_args())   # a new trace and a new compile, lowering included
    dialects = [n for n in import_counter.names if n.startswith("mlir.dialects.")]
    assert len(dialects) <= 2, dialects


def test_grad_traced_five_times_is_expanded_once(monkeypatch):
    expansions = _count_expansions(monkeypatch)
    text, names, _ = _trace(_train(5), *_args())
    assert expansions == ["tfn.grad"]
    assert [n for n in names if n.startswith("_loss")] == ["_loss_grad"], names   # _loss itself is dead
    assert text.count("call @_loss_grad(") == 5


def test_merged_program_matches_numpy_and_unmerged(monkeypatch):
    w, x = _args(1)
    merged = tfn.jit(_train(5))(w, x)
    np.testing.assert_allclose(merged, _np_train(w.astype(np.float64), x.astype(np.float64), 5), rtol=1e-4)
    monkeypatch.setattr(merge_module, "merge_identical_functions", lambda module_op: 0)
    _, names, _ = _trace(_train(5), *_args())
    assert len([n for n in names if n.startswith("_loss") and n.endswith("_grad")]) == 5   # really unmerged
    unmerged = tfn.jit(_train(5))(w, x)
    np.testing.assert_allclose(merged, unmerged, rtol=1e-6)
    g_merged = tfn.jit(tfn.grad(_train(3)))(w, x)
    assert g_merged.shape == w.shape and np.all(np.isfinite(g_merged))


def test_trace_grows_linearly_with_unrolled_steps():
    counts = {k: _trace(tfn.grad(_train(k)), *_args()) for k in (2, 4, 8)}
    functions = {k: len(names) for k, (_, names, _) in counts.items()}
    ops = {k: n for k, (_, _, n) in counts.items()}
    assert functions[2] == functions[4] == functions[8], functions
    per_step = (ops[4] - ops[2]) / 2
    assert per_step > 0
    assert abs((ops[8] - ops[4]) / 4 - per_step) <= 0.05 * per_step, ops


def test_vmap_of_repeated_grad_is_expanded_once(monkeypatch):
    """MAML's shape: a vmap of inner gradient steps, differentiated again."""
    expansions = _count_expansions(monkeypatch)

    def meta(w, xs):
        return tnp.mean(tfn.vmap(_train(4), in_dims=(None, 0))(w, xs))
    w, _ = _args()
    xs = np.random.default_rng(2).standard_normal((5, 4, 3)).astype(np.float32)
    _trace(tfn.grad(meta), w, xs)
    assert sorted(expansions) == ["tfn.grad", "tfn.grad", "tfn.vmap"]
    g = tfn.jit(tfn.grad(meta))(w, xs)
    eps = 1e-3
    w64, xs64 = w.astype(np.float64), xs.astype(np.float64)
    f = lambda w_: np.mean([_np_train(w_, x, 4) for x in xs64])  # noqa: E731
    fd = np.zeros_like(w64)
    for i in np.ndindex(w.shape):
        d = np.zeros_like(w64)
        d[i] = eps
        fd[i] = (f(w64 + d) - f(w64 - d)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=2e-2, atol=2e-3)


def test_distinct_transforms_cost_no_module_rescans(monkeypatch):
    """K different gradients: expansion looks the module's functions up a bounded number
    of times (once per round), not once per transform or per function."""
    from tfn.passes import ir_utils

    def make(k):
        def train(w, x):
            for i in range(k):
                w = w - 0.1 * tfn.grad(lambda w, x: tnp.sum(tnp.tanh(x @ w) * float(i + 1)))(w, x)
            return tnp.sum(w)
        return train

    calls = {"functions": 0, "find_ops": 0}
    for name in calls:
        original = getattr(ir_utils, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)
        monkeypatch.setattr(ir_utils, name, counting)
    seen = {}
    for k in (4, 16):
        for name in calls:
            calls[name] = 0
        _, names, _ = _trace(make(k), *_args())
        assert len(names) == k + 1   # main and k gradients (the traced lambdas are dead)
        seen[k] = dict(calls)
    assert seen[4] == seen[16], seen
