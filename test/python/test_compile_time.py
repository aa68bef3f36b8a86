"""Compile time: loop nests outlined into shared kernels, the per-stage report, stage texts on demand.

Wall-clock limits would be flaky on a shared machine; what is checked instead is the
structure that keeps compile time linear: N identical layers compile one copy of
each kernel, and the LLVM module grows linearly with N.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from mlir import ir

import tfn.numpy as tnp
from tfn.api.jit import trace_module
from tfn.frontend.tracer import ShapeDtype, context
from tfn.lowering.driver import COMPILE_SIZES, COMPILE_STAGES
from tfn.runtime.cpu import CpuExecutable

import tfn

RNG = np.random.default_rng(0)


def mlp_loss(params, x):
    h = x
    for w, b in params:
        h = tnp.tanh(h @ w + b)
    return tnp.sum(h * h)


def _mlp_inputs(n_layers, width=16, batch=8):
    params = tuple((RNG.standard_normal((width, width)).astype(np.float32) * 0.3,
                    RNG.standard_normal(width).astype(np.float32) * 0.1) for _ in range(n_layers))
    x = RNG.standard_normal((batch, width)).astype(np.float32)
    return params, x


def _numpy_grad(params, x):
    hs = [x.astype(np.float64)]
    for w, b in params:
        hs.append(np.tanh(hs[-1] @ w + b))
    g = 2 * hs[-1]
    grads = []
    for i in range(len(params) - 1, -1, -1):
        gz = g * (1 - hs[i + 1] ** 2)
        grads.append((hs[i].T @ gz, gz.sum(0)))
        g = gz @ params[i][0].T
    return grads[::-1]


def _compile(fn, args, keep_stages=True, name="main"):
    leaves = [a for p in args[0] for a in p] + [args[1]] if isinstance(args[0], tuple) else list(args)
    with context(), ir.Location.unknown():
        module, _ = trace_module(fn, args, {}, [ShapeDtype.of(a) for a in leaves], name=name)
        return CpuExecutable(module, "main", keep_stages=keep_stages), leaves


def test_identical_layers_share_kernels_and_results_stay_right():
    params, x = _mlp_inputs(16)
    exe, leaves = _compile(tfn.grad(mlp_loss), (params, x))
    stats = exe.compile_stats
    assert stats["kernels_before_dedup"] >= 3 * 16  # forward and backward loop nests of every layer
    assert stats["kernels"] <= 12  # ... made of a handful of distinct kernels
    got = exe(*leaves)
    want = [a for pair in _numpy_grad(params, x) for a in pair]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5)


def test_kernels_are_separate_noinline_functions_with_noalias_pointers():
    params, x = _mlp_inputs(4)
    exe, _ = _compile(tfn.grad(mlp_loss), (params, x))
    llvm = exe.stages["llvm"]
    kernels = re.findall(r"llvm\.func internal @(__tfn_kernel_\d+)\((.*)\) attributes \{([^}]*)\}", llvm)
    assert len(kernels) == exe.compile_stats["kernels"] >= 3
    for _, _, attributes in kernels:
        assert 'passthrough = ["noinline"]' in attributes
    # Kernels that read one buffer and write another know that the two never overlap.
    assert any("!llvm.ptr {llvm.noalias}" in signature for _, signature, _ in kernels)
    assert "tfn.noalias_args" not in llvm
    # The loops live in the kernels; the entry's body only calls.
    body = llvm[llvm.index("@_tfn_entry_body("):]
    body = body[:body.index("\n  }\n")]
    assert "llvm.call @__tfn_kernel_" in body and "loop_annotation" not in body


def test_llvm_module_grows_linearly_with_the_number_of_layers():
    ops, kernels = {}, {}
    for n in (2, 4, 8):
        exe, _ = _compile(tfn.grad(mlp_loss), _mlp_inputs(n), keep_stages=False)
        ops[n], kernels[n] = exe.compile_stats["llvm_ops"], exe.compile_stats["kernels"]
    assert kernels[8] == kernels[4]  # new layers bring no new kernels
    # ops = a + b * n: doubling the layers adds twice what the previous doubling added, no more.
    assert ops[8] - ops[4] <= 2.3 * (ops[4] - ops[2])


def test_compile_stats_has_every_stage_and_keep_stages_false_prints_nothing():
    params, x = _mlp_inputs(2)
    exe, leaves = _compile(tfn.grad(mlp_loss), (params, x), keep_stages=False)
    stats = exe.compile_stats
    for key in COMPILE_STAGES:
        if key != "print_stages":
            assert isinstance(stats[key], float) and stats[key] >= 0, key
    assert "print_stages" not in stats
    for key in COMPILE_SIZES:
        assert isinstance(stats[key], int) and stats[key] > 0, key
    assert not any(isinstance(v, str) for v in exe.stages.values())
    assert exe.stages["host_workspace_bytes"] > 0
    kept, _ = _compile(tfn.grad(mlp_loss), (params, x))
    assert {"tfn", "linalg", "buffers", "llvm"} <= {k for k, v in kept.stages.items() if isinstance(v, str)}
    assert kept.stages["host_workspace_bytes"] == exe.stages["host_workspace_bytes"]
    for a, b in zip(exe(*leaves), kept(*leaves)):
        np.testing.assert_array_equal(a, b)


def test_compile_timings_environment_variable_prints_a_report(monkeypatch, capsys):
    x = RNG.standard_normal((4, 8)).astype(np.float32)
    monkeypatch.setenv("TFN_COMPILE_TIMINGS", "1")
    _compile(lambda x: tnp.tanh(x) * 2.0, (x,), keep_stages=False, name="my_function")
    err = capsys.readouterr().err
    for key in ("to_linalg", "bufferize", "llvm_opt", "llvm_codegen", "total"):
        assert re.search(rf"^tfn compile my_function: {key} +\d+\.\d ms$", err, re.M), err
    assert re.search(r"^tfn compile my_function: kernels_before_dedup \d+, kernels \d+, llvm_ops \d+$", err, re.M)
    monkeypatch.setenv("TFN_COMPILE_TIMINGS", "0")
    _compile(lambda x: tnp.tanh(x) * 2.0, (x,), keep_stages=False, name="my_function")
    assert "tfn compile" not in capsys.readouterr().err


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 6)])
def test_kernels_on_slices_stay_right(shape):
    # Slices at static offsets: each kernel argument carries its layout in its type.
    x = RNG.standard_normal(shape).astype(np.float32)

    def f(x):
        parts = [tnp.exp(x[i:i + 1]) for i in range(x.shape[0])]
        return tnp.concatenate(parts, axis=0) * 2.0

    exe, _ = _compile(f, (x,))
    np.testing.assert_allclose(exe(x)[0], np.exp(x) * 2.0, rtol=1e-5)


def test_gemm_glue_is_one_helper_per_distinct_gemm():
    from tfn.runtime import blas
    if not blas.available():
        pytest.skip("no BLAS in this process")
    params, x = _mlp_inputs(16, width=64, batch=32)
    params = tuple((w * 0.3, b) for w, b in params)   # tanh not saturated: f32 stays close to f64
    exe, leaves = _compile(tfn.grad(mlp_loss), (params, x))
    llvm = exe.stages["llvm"]
    helpers = re.findall(r"llvm\.func internal @(__tfn_gemm_\d+)\(", llvm)
    # forward h @ W, backward g @ W.T and h.T @ g: a few signatures, not one per layer
    assert 1 <= len(helpers) <= 4, helpers
    assert llvm.count("llvm.call @scipy_cblas_sgemm64_") == len(helpers)
    body = llvm[llvm.index("@_tfn_entry_body("):]
    body = body[:body.index("\n  }\n")]
    assert body.count("llvm.call @__tfn_gemm_") >= 3 * 16 - 1
    got = exe(*leaves)
    for g, w in zip(got, [a for pair in _numpy_grad(params, x) for a in pair]):
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-4)


def test_bias_gradients_accumulate_in_place_without_copies():
    # CSE shares one zero fill among the bias-gradient reductions; each gets its own
    # fill, written in place, instead of a memref.copy of the shared zeros.
    exe, _ = _compile(tfn.grad(mlp_loss), _mlp_inputs(8))
    assert "memref.copy" not in exe.stages["buffers"]


def test_find_ops_outside_payloads_skips_only_linalg_regions():
    from tfn.passes.ir_utils import find_ops
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse("""
          func.func @f(%a: tensor<4xf32>, %c: f32) -> tensor<4xf32> {
            %e = tensor.empty() : tensor<4xf32>
            %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                                 iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
            ^bb0(%x: f32, %y: f32):
              %m = arith.mulf %x, %c : f32
              linalg.yield %m : f32
            } -> tensor<4xf32>
            %s = arith.mulf %c, %c : f32
            return %r : tensor<4xf32>
          }""")
        names = ("arith.mulf", "linalg.generic")
        assert [op.name for op in find_ops(module.operation, names)].count("arith.mulf") == 2
        outside = find_ops(module.operation, names, payloads=False)
        assert sorted(op.name for op in outside) == ["arith.mulf", "linalg.generic"]
