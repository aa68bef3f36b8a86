"""Regressions of the compiler back end, each checked against numpy: contractions without a
contracting dim, bool and integer contractions, broadcast-lhs batched matmuls around the
BLAS threshold, zero-size dims, allocations too large for memory, and compiler failures
reported at the user's line (jit, AOT and the command-line tools)."""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import aot
from tfn.lowering.contraction import BLAS_MIN_FLOPS

RNG = np.random.default_rng(0)

# ---------------------------------------------------------------- contractions without a contracting dim

A2 = np.array([[1., 2.], [3., 4.]])
W3 = np.arange(3.)

# (name, function, arguments, numpy reference). Each is an outer product (a dot_general
# with no contracting dim) consumed by a broadcasting op, which fusion used to re-accumulate.
NO_CONTRACTION = [
    ("grad_quadratic_form", tfn.grad(lambda x: x @ (A2 @ x)), (np.array([1., 10.]),),
     lambda x: (A2 + A2.T) @ x),
    ("outer_plus_zeros", lambda v, c: tnp.tensordot(v, c, axes=0) + tnp.zeros((4, 3)),
     (np.ones(3), np.array(1.)), lambda v, c: np.tensordot(v, c, axes=0) + np.zeros((4, 3))),
    ("grad_sum_then_dot", tfn.grad(lambda x: tnp.sum(x, axis=0) @ W3), (np.ones((4, 3)),),
     lambda x: np.broadcast_to(W3, x.shape)),
    ("outer_times_row", lambda a, b: tnp.outer(a, b) * b, (np.arange(1., 4.), np.arange(1., 5.)),
     lambda a, b: np.outer(a, b) * b),
]


@pytest.mark.parametrize("name,fn,args,ref", NO_CONTRACTION, ids=[c[0] for c in NO_CONTRACTION])
def test_contraction_free_dot_general_is_a_product(name, fn, args, ref):
    np.testing.assert_allclose(tfn.jit(fn)(*args), ref(*args), rtol=1e-12)


def test_contraction_free_dot_general_aot():
    fn = tfn.grad(lambda x: x @ (A2 @ x))
    lib = aot.compile(fn, np.zeros(2), name="quadratic_form_grad").load()
    (out,) = lib(np.array([1., 10.]))
    np.testing.assert_allclose(out, [52., 85.])


# ---------------------------------------------------------------- bool and integer contractions

def _bools(*shape):
    return RNG.random(shape) < 0.4


BOOL_CONTRACTIONS = [
    ("matmul_ones", lambda a: a @ a, lambda a: a @ a, (np.ones((2, 2), bool),)),
    ("matmul", lambda a, b: a @ b, np.matmul, (_bools(3, 4), _bools(4, 5))),
    ("batched", lambda a, b: a @ b, np.matmul, (_bools(2, 3, 4), _bools(2, 4, 2))),
    ("dot", tnp.dot, np.dot, (_bools(6), _bools(6))),
    ("inner", tnp.inner, np.inner, (_bools(3, 4), _bools(5, 4))),
    ("tensordot", lambda a, b: tnp.tensordot(a, b, axes=1), lambda a, b: np.tensordot(a, b, axes=1),
     (_bools(3, 4), _bools(4, 2))),
    ("einsum", lambda a, b: tnp.einsum("ij,jk->ik", a, b), lambda a, b: np.einsum("ij,jk->ik", a, b),
     (_bools(3, 4), _bools(4, 5))),
]


@pytest.mark.parametrize("name,fn,ref,args", BOOL_CONTRACTIONS, ids=[c[0] for c in BOOL_CONTRACTIONS])
def test_bool_contraction_is_or_of_ands(name, fn, ref, args):
    out, want = tfn.jit(fn)(*args), ref(*args)
    assert out.dtype == want.dtype == np.bool_
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_contractions_wrap_like_numpy(dtype):
    near_half = np.full((3, 3), np.iinfo(dtype).max // 2 + 7, dtype)   # products and sums overflow
    x, y = RNG.integers(-1000, 1000, (40, 50)).astype(dtype), RNG.integers(-1000, 1000, (50, 30)).astype(dtype)
    f = tfn.jit(lambda a, b, c, d: (a @ b, c @ d, tnp.einsum("ij,ij->i", a, a), tnp.outer(c[0], d[0])))
    with np.errstate(over="ignore"):
        want = (near_half @ near_half, x @ y, np.einsum("ij,ij->i", near_half, near_half), np.outer(x[0], y[0]))
    for out, w in zip(f(near_half, near_half, x, y), want):
        assert out.dtype == w.dtype
        np.testing.assert_array_equal(out, w)


# ---------------------------------------------------------------- broadcast lhs of a batched matmul

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jacrev_of_matmul_around_blas_threshold(dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for n, k in ((4, 3), (16, 3), (64, 3), (130, 8)):   # flops from below to far above BLAS_MIN_FLOPS
        x, w = RNG.standard_normal((n, k)).astype(dtype), RNG.standard_normal((k, 3)).astype(dtype)
        eye = np.eye(3, dtype=dtype)
        got = tfn.jacrev(lambda w: x @ w)(w)                      # rhs [K, N]
        np.testing.assert_allclose(got, np.einsum("ia,jb->ijab", x, eye), atol=tol)
        got_t = tfn.jacrev(lambda wt: x @ wt.T)(np.ascontiguousarray(w.T))   # rhs [N, K]
        np.testing.assert_allclose(got_t, np.einsum("ia,jb->ijba", x, eye), atol=tol)
    assert 3 * 130 * 8 * 3 * 3 > BLAS_MIN_FLOPS


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ensemble_gradients_with_a_shared_input(dtype):
    per_model = tfn.vmap(tfn.grad(lambda w, b, x: tnp.sum(tnp.tanh(x @ w.T + b))), in_dims=(0, 0, None))
    for models, hidden, n in ((3, 8, 100), (2, 40, 100), (5, 3, 300)):
        x = RNG.standard_normal((n, 2)).astype(dtype)
        w, b = RNG.standard_normal((models, hidden, 2)).astype(dtype), RNG.standard_normal((models, hidden)).astype(dtype)
        want = np.stack([(1 - np.tanh(x @ w[e].T + b[e]) ** 2).T @ x for e in range(models)])
        np.testing.assert_allclose(per_model(w, b, x), want, rtol=1e-4 if dtype == np.float32 else 1e-10,
                                   atol=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shared_input_against_batched_weights_all_layouts(dtype):
    """x [M, K] (M < K) against weights [E, K, N] or [E, N, K]: the lhs broadcast over E."""
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for m, k, n, models in ((2, 16, 4, 3), (3, 100, 16, 5)):   # below and above BLAS_MIN_FLOPS
        x = RNG.standard_normal((m, k)).astype(dtype)
        w = RNG.standard_normal((models, k, n)).astype(dtype)
        wt = np.ascontiguousarray(w.transpose(0, 2, 1))
        np.testing.assert_allclose(tfn.vmap(lambda w: x @ w)(w), np.einsum("mk,ekn->emn", x, w), **tol)
        np.testing.assert_allclose(tfn.vmap(lambda w: x @ w.T)(wt), np.einsum("mk,ekn->emn", x, w), **tol)
        np.testing.assert_allclose(tfn.vmap(lambda w: tnp.inner(x, w))(wt), np.einsum("mk,ekn->emn", x, w), **tol)
        xt = np.ascontiguousarray(x.T)
        np.testing.assert_allclose(tfn.vmap(lambda w: xt.T @ w)(w), np.einsum("mk,ekn->emn", x, w), **tol)


# ---------------------------------------------------------------- zero-size dims

E03, E30 = np.ones((0, 3)), np.ones((3, 0))

# (name, make, arguments): make(tnp) is compiled, make(np) is the reference.
ZERO_SIZE = [
    ("index_into_empty", lambda xp: lambda v: v[1, 2], (np.ones((3, 4, 0)),)),
    ("slice_of_empty", lambda xp: lambda v: v[1:, 2:], (np.ones((3, 4, 0)),)),
    ("empty_slice", lambda xp: lambda v: v[2:2] * 2, (np.arange(12.).reshape(3, 4),)),
    ("sum_over_empty_axis", lambda xp: lambda v: xp.sum(v, axis=0), (E03,)),
    ("sum_all_empty", lambda xp: xp.sum, (E03,)),
    ("prod_over_empty_axis", lambda xp: lambda v: xp.prod(v, axis=0), (E03,)),
    ("sum_keeping_empty", lambda xp: lambda v: xp.sum(v, axis=1), (E03,)),
    ("matmul_k0", lambda xp: xp.matmul, (E30, np.ones((0, 4)))),
    ("matmul_k0_large", lambda xp: xp.matmul, (np.ones((64, 0)), np.ones((0, 128)))),
    ("matmul_m0", lambda xp: xp.matmul, (np.ones((0, 5)), np.ones((5, 4)))),
    ("matmul_k0_int", lambda xp: xp.matmul, (np.ones((3, 0), np.int32), np.ones((0, 4), np.int32))),
    ("matmul_k0_bool", lambda xp: xp.matmul, (np.ones((2, 0), bool), np.ones((0, 3), bool))),
    ("concatenate_empty_first", lambda xp: lambda a, b: xp.concatenate([a, b]), (E03, np.ones((2, 3)))),
    ("concatenate_empty_last", lambda xp: lambda a, b: xp.concatenate([a, b]), (np.ones((2, 3)), E03)),
    ("concatenate_axis1", lambda xp: lambda a, b: xp.concatenate([a, b], axis=1), (E30, np.ones((3, 2)))),
    ("pad_empty", lambda xp: lambda a: xp.pad(a, ((1, 1), (2, 0))), (E03,)),
    ("broadcast_to_empty", lambda xp: lambda a: xp.broadcast_to(a, (0, 3)) + 1, (np.ones(3),)),
    ("broadcast_empty", lambda xp: lambda a: a + xp.ones((2, 1, 3)), (E03,)),
    ("transpose_empty", lambda xp: lambda a: a.T * 2, (E03,)),
    ("reshape_empty", lambda xp: lambda a: xp.reshape(a, (3, 0, 2)), (np.ones((0, 6)),)),
    ("einsum_k0", lambda xp: lambda a, b: xp.einsum("ij,jk->ik", a, b), (np.ones((2, 0)), np.ones((0, 3)))),
    ("grad_through_empty",
     lambda xp: (tfn.grad(lambda v: tnp.sum(v @ v.T) + 1.0) if xp is tnp else np.zeros_like), (E30,)),
    ("vmap_over_empty_rows", lambda xp: tfn.vmap(tnp.sum) if xp is tnp else lambda v: v.sum(axis=1),
     (np.ones((4, 0)),)),
]


@pytest.mark.parametrize("name,make,args", ZERO_SIZE, ids=[c[0] for c in ZERO_SIZE])
def test_zero_size_dims(name, make, args):
    out, want = tfn.jit(make(tnp))(*args), np.asarray(make(np)(*args))
    assert out.shape == want.shape and out.dtype == want.dtype
    np.testing.assert_array_equal(out, want)


def test_zero_size_dims_aot():
    lib = aot.compile(lambda v, a, b: (v[1, 2], tnp.sum(v, axis=(1, 2)), a @ b),
                      np.ones((3, 4, 0)), E30, np.ones((0, 4)), name="zero_size").load()
    sliced, sums, product = lib(np.ones((3, 4, 0)), E30, np.ones((0, 4)))
    assert sliced.shape == (0,)
    np.testing.assert_array_equal(sums, np.zeros(3))
    np.testing.assert_array_equal(product, np.zeros((3, 4)))


# ---------------------------------------------------------------- memory

_TOO_BIG = '''
import numpy as np, tfn, tfn.numpy as tnp
from tfn import aot

def big(a):
    return tnp.sum(tnp.broadcast_to(a, (1 << 20, 1 << 20)) * 2.0, axis=0)

try:
    tfn.jit(big)(np.ones(1))
except MemoryError as e:
    print("jit:", e)
lib = aot.compile(big, np.ones(1), name="big").load()
try:
    lib(np.ones(1))
except MemoryError as e:
    print("aot:", e)
try:   # beyond a 64-bit address space
    tfn.jit(lambda a: tnp.sum(tnp.broadcast_to(a, (1 << 31, 1 << 31)), axis=0))(np.ones(1))
except MemoryError as e:
    print("jit:", e)
import tfn.runtime.cpu
tfn.runtime.cpu.physical_memory = lambda: None   # skip the check when compiling: allocation fails at the call
try:
    tfn.jit(big)(np.ones(1))
except MemoryError as e:
    print("call:", e)
'''


def _overcommit_always() -> bool:
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


@pytest.mark.skipif(_overcommit_always(), reason="with overcommit always on, 8 TiB is granted until touched")
def test_allocation_too_large_is_a_memory_error_not_a_segfault():
    import subprocess
    import sys
    run = subprocess.run([sys.executable, "-c", _TOO_BIG], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    jit_line, aot_line, huge_line, call_line = run.stdout.splitlines()
    assert "'big' (defined at <string>:5)" in jit_line and "8.0 TiB" in jit_line
    assert "TFN_AOT_ERROR_OUT_OF_MEMORY" in aot_line
    assert "'<lambda>' (defined at <string>:18)" in huge_line and "32.0 EiB of temporaries" in huge_line
    assert call_line == "call: big: cannot allocate the 8.0 TiB that a call needs (results and temporaries)"


def test_temporaries_share_one_workspace(monkeypatch):
    from tfn.runtime import cpu

    def f(x, w):
        h = tnp.tanh(x @ w)
        return tnp.sum(tnp.exp(h) * h, axis=0), tnp.max(h @ w.T, axis=1)
    x, w = RNG.standard_normal((64, 32)), RNG.standard_normal((32, 32))
    want = (np.sum(np.exp(np.tanh(x @ w)) * np.tanh(x @ w), axis=0), np.max(np.tanh(x @ w) @ w.T, axis=1))
    lowered = tfn.jit(f).lower(x, w)
    assert "memref.alloc" not in lowered.as_text("buffers") and "@malloc" not in lowered.as_text("llvm")
    for keep in (cpu.KEEP_WORKSPACE_BYTES, 0):   # a kept workspace, and one allocated per call
        monkeypatch.setattr(cpu, "KEEP_WORKSPACE_BYTES", keep)
        for got, ref in zip(tfn.jit(f)(x, w), want):
            np.testing.assert_allclose(got, ref, rtol=1e-12)
    art = aot.compile(f, x, w, name="shared_workspace")
    assert "#define SHARED_WORKSPACE_WORKSPACE_BYTES " in art.header
    assert "#define TFN_AOT_ERROR_OUT_OF_MEMORY 2" in art.header
    for got, ref in zip(art.load()(x, w), want):
        np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_workspace_slots_reuse_dead_buffers():
    from tfn.passes.pool_host_allocations import _assign_slots
    # (start, end, size): the third buffer starts after the first died and takes its slot;
    # the fourth finds no dead slot and gets a new one.
    slots, sizes = _assign_slots([(0, 2, 100), (1, 5, 64), (3, 6, 120), (4, 6, 10)])
    assert slots == [0, 1, 0, 2] and sizes == [120, 64, 10]


def test_workspace_temporaries_are_noalias_slots():
    # Views of one i8 workspace hid from LLVM that temporaries never overlap: the loops of a
    # row softmax stayed scalar. Each slot is a noalias argument of the entry's body.
    x = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    low = tfn.jit(lambda x: tnp.exp(x - tnp.max(x, axis=-1, keepdims=True))).lower(x)
    buffers = low.as_text("buffers")
    assert "llvm.noalias" in buffers and "memref.alloc" not in buffers
    got = tfn.jit(lambda x: tnp.exp(x - tnp.max(x, axis=-1, keepdims=True)))(x)
    np.testing.assert_allclose(got, np.exp(x - x.max(-1, keepdims=True)), rtol=1e-6)


# ---------------------------------------------------------------- compiler failures at the user's line

def _broken_tanh(op, x):
    """A lowering that builds an invalid op (a slice out of bounds): the verifier rejects it later."""
    from mlir.dialects import tensor
    n = len(ir_shape(x))
    return tensor.ExtractSliceOp(op.result.type, x, [], [], [], [5] * n, ir_shape(op.result), [1] * n).result


def ir_shape(value):
    from tfn.lowering.builders import shape
    return shape(value)


def _model(x):
    return tnp.tanh(x) * 2


def _raise_internal(op, x):
    raise ValueError("an internal invariant failed")


@pytest.mark.parametrize("lowering,message", [(_broken_tanh, "offset 0 is out-of-bounds"),
                                              (_raise_internal, "ValueError: an internal invariant failed")])
def test_compiler_failure_names_the_function_not_the_ir(monkeypatch, lowering, message):
    from tfn.lowering.rules import LOWERINGS
    from tfn.runtime.errors import CompileError
    monkeypatch.setitem(LOWERINGS, "tfn.tanh", lowering)
    line = _model.__code__.co_firstlineno
    for compile_ in (lambda: tfn.jit(_model)(np.ones(3)), lambda: aot.compile(_model, np.ones(3), name="m")):
        with pytest.raises(CompileError) as info:
            compile_()
        text = str(info.value)
        assert f"'_model' (defined at {__file__}:{line})" in text and message in text
        assert f"at {__file__}:{line + 1}" in text   # the op that failed: the tanh
        assert "%" not in text and "see current operation" not in text and "^bb0" not in text


def test_tfn_compile_reports_a_compiler_failure_at_the_line(monkeypatch, capsys, tmp_path):
    from tfn.lowering.rules import LOWERINGS
    from tfn.tools import compile as cli
    monkeypatch.setitem(LOWERINGS, "tfn.tanh", _broken_tanh)
    source = tmp_path / "model.py"
    source.write_text("import tfn.numpy as tnp\n\ndef model(x):\n    return tnp.tanh(x) * 2\n")
    assert cli.main([f"{source}:model", "--shapes", "f32[3]", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{source}:4: error: internal compiler error while compiling 'model' "
                          f"(defined at {source}:3)")
    assert "failing op: tensor.extract_slice : (tensor<3xf32>) -> tensor<3xf32>" in err
    assert "Traceback" not in err and "%" not in err
