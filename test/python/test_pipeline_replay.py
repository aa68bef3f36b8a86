"""The compile paths are pipeline strings: `tfn-opt --pass-pipeline=<it>` on a program's tfn
text reproduces exactly the LLVM dialect that `tfn.jit`, `tfn-compile` and the CUDA
path compile. And the passes themselves: one file and one lit test per pass."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from mlir import ir

import tfn
import tfn.numpy as tnp
from tfn.api.jit import trace_module
from tfn.frontend.tracer import ShapeDtype, context
from tfn.lowering.driver import lower_for_cpu, lower_for_cuda
from tfn.passes import pipelines
from tfn.passes.registry import PASS_MODULES, pass_names
from tfn.tools import opt

REPO = Path(__file__).resolve().parents[2]
PASSES_DIR = REPO / "python" / "tfn" / "passes"
RNG = np.random.default_rng(7)


def mlp(params, x):
    h = x
    for w, b in params[:-1]:
        h = tnp.tanh(h @ w + b)
    w, b = params[-1]
    return tnp.sum((h @ w + b) ** 2)


def _params(widths=(16, 32, 32, 4)):
    return tuple((RNG.standard_normal((m, n)).astype(np.float32) * 0.3, RNG.standard_normal(n).astype(np.float32))
                 for m, n in zip(widths[:-1], widths[1:]))


def replay(tmp_path: Path, tfn_text: str, pipeline: str) -> str:
    """What `tfn-opt input.mlir --pass-pipeline=<pipeline>` prints."""
    source, out = tmp_path / "input.mlir", tmp_path / "output.mlir"
    source.write_text(tfn_text)
    assert opt.main([str(source), f"--pass-pipeline={pipeline}", "-o", str(out)]) == 0
    return out.read_text()


def _assert_same(got: str, want: str) -> None:
    if got != want:
        diff = next(i for i, (a, b) in enumerate(zip(got.splitlines(), want.splitlines())) if a != b)
        pytest.fail(f"replay differs from line {diff + 1}:\n  tfn-opt: {got.splitlines()[diff]}\n"
                    f"  jit:     {want.splitlines()[diff]}")


def _trace(f, *args):
    leaves = tfn.tree_leaves(args)
    module, _ = trace_module(f, args, {}, [ShapeDtype.of(a) for a in leaves])
    return module


@pytest.mark.parametrize("kind", ["grad", "vmap_grad"])
def test_jit_on_the_cpu_is_its_pipeline(tmp_path, kind):
    params = _params()
    if kind == "grad":
        f, args = tfn.grad(mlp), (params, RNG.standard_normal((8, 16)).astype(np.float32))
    else:
        per_example = tfn.vmap(tfn.grad(lambda p, x: mlp(p, x[None])), in_dims=(None, 0))
        f, args = per_example, (params, RNG.standard_normal((8, 16)).astype(np.float32))
    lowered = tfn.jit(f).lower(*args)
    pipeline = lowered.pipeline
    assert pipeline.startswith("builtin.module(tfn-lower-to-linalg,tfn-entry-wrapper{callee=main},")
    from tfn.runtime import blas
    assert ("tfn-linalg-to-blas{entry=_tfn_entry threads=" in pipeline) == blas.available()
    _assert_same(replay(tmp_path, lowered.as_text("tfn"), pipeline), lowered.as_text("llvm"))


def test_the_expansion_of_transforms_is_a_pipeline_too(tmp_path):
    params, x = _params(), RNG.standard_normal((8, 16)).astype(np.float32)
    f = tfn.vmap(tfn.grad(lambda p, x: mlp(p, x[None])), in_dims=(None, 0))
    with context(), ir.Location.unknown():
        module = ir.Module.create()
        from tfn.frontend.tracer import trace
        leaves = tfn.tree_leaves((params, x))
        trace(f, (params, x), {}, module, "main", leaf_avals=[ShapeDtype.of(a) for a in leaves])
        traced = str(module)
        expanded = str(_trace(f, params, x))
    assert "tfn.vmap" in traced and "tfn.vmap" not in expanded
    got = replay(tmp_path, traced, f"builtin.module({pipelines.EXPAND})")
    _assert_same(got, expanded.replace(' attributes {tfn.source_name = "main"}', ""))


def test_ahead_of_time_is_the_cpu_pipeline_without_blas(tmp_path):
    params, x = _params(), RNG.standard_normal((8, 16)).astype(np.float32)
    art = tfn.aot.compile(tfn.grad(mlp), params, x, name="mlp_grad")
    assert "tfn-linalg-to-blas" not in art.pipeline and "tfn-pool-host-allocations" in art.pipeline
    with context(), ir.Location.unknown():
        module = _trace(tfn.grad(mlp), params, x)
        stages = lower_for_cpu(module, "main", use_blas=False)
    assert stages["pipeline"] == art.pipeline
    _assert_same(replay(tmp_path, stages["tfn"], stages["pipeline"]), stages["llvm"])


def test_cuda_is_its_pipeline_without_a_gpu(tmp_path):
    params, x = _params(), RNG.standard_normal((8, 16)).astype(np.float32)
    with context(), ir.Location.unknown():
        module = _trace(tfn.grad(mlp), params, x)
        stages = lower_for_cuda(module, "main", "sm_90")
    pipeline = stages["pipeline"]
    assert "tfn-gpu-pool-allocations{entry=_tfn_entry}" in pipeline and "chip=sm_90" in pipeline
    # Serialization (gpu-module-to-binary) records how long it took in each binary: that differs.
    timing = re.compile(r"LLVMIRToISATimeInMs = \d+")
    got = replay(tmp_path, stages["tfn"], pipeline)
    _assert_same(timing.sub("LLVMIRToISATimeInMs = _", got), timing.sub("LLVMIRToISATimeInMs = _", stages["llvm"]))



def test_cuda_control_flow_is_its_pipeline_without_a_gpu(tmp_path):
    # A while loop (its predicate read on the host through tfn-gpu-host-reads), a scan over
    # rows and a cond, differentiated.
    def f(x):
        y = tfn.lax.while_loop(lambda y: tnp.sum(y * y) < 4.0, lambda y: y * 1.5, x)
        c, ys = tfn.lax.scan(lambda c, row: (c * row + 1.0, tnp.sum(c)), y[:2], tnp.reshape(y, (2, 2)))
        return tfn.lax.cond(tnp.sum(ys) > 0, lambda c: tnp.sum(c * c), lambda c: tnp.sum(tnp.sin(c)), c)
    x = RNG.standard_normal(4)
    with context(), ir.Location.unknown():
        module = _trace(tfn.grad(f), x)
        stages = lower_for_cuda(module, "main", "sm_90")
    assert "tfn-gpu-host-reads" in stages["pipeline"]
    timing = re.compile(r"LLVMIRToISATimeInMs = \d+")
    got = replay(tmp_path, stages["tfn"], stages["pipeline"])
    _assert_same(timing.sub("LLVMIRToISATimeInMs = _", got), timing.sub("LLVMIRToISATimeInMs = _", stages["llvm"]))

# ---- one pass, one file, one lit test

def test_every_pass_lives_in_the_file_named_after_it_and_has_its_lit_test():
    for name in pass_names():
        stem = name.removeprefix("tfn-").replace("-", "_")
        module = PASS_MODULES[name]
        assert module == f"tfn.passes.{stem}", name
        assert (REPO / "test" / "lit" / f"{stem}.mlir").is_file(), f"{name} has no test/lit/{stem}.mlir"
        lit = (REPO / "test" / "lit" / f"{stem}.mlir").read_text()
        assert re.search(r"CHECK|expected-(error|remark|warning)", lit), f"test/lit/{stem}.mlir checks nothing"


def test_pass_modules_do_not_import_the_registry():
    for name in pass_names():
        path = PASSES_DIR / (PASS_MODULES[name].rsplit(".", 1)[1] + ".py")
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
        assert "tfn.passes.registry" not in imported, path.name
        assert {"NAME", "DESCRIPTION", "run"} <= set(vars(__import__(PASS_MODULES[name], fromlist=["run"]))), name


def _tfn_passes(pipeline: str) -> set[str]:
    return set(re.findall(r"(?:^|[(,])(tfn-[a-z-]+)", pipeline))


def test_every_tfn_pass_of_the_pipelines_is_listed(capsys):
    assert opt.main(["--list-passes"]) == 0
    listed = set(re.findall(r"^  (tfn-[a-z-]+)", capsys.readouterr().out, re.M))
    assert listed == set(pass_names())
    used = set()
    for text in [pipelines.EXPAND, pipelines.join(pipelines.cpu_stages(threads=2)),
                 pipelines.join(pipelines.cpu_stages(blas=False, bare_pointers=False)),
                 pipelines.join(pipelines.cuda_stages("sm_90"))]:
        used |= _tfn_passes(text)
    assert used and used <= listed, used - listed
    assert len(used) >= 25


def test_a_bad_option_or_pass_is_a_one_line_error(tmp_path, capsys):
    source = tmp_path / "f.mlir"
    source.write_text("func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {\n  return %a : tensor<2xf32>\n}\n")
    for pipeline, message in [
        ("builtin.module(tfn-linalg-to-blas{threads=many})",
         "pass 'tfn-linalg-to-blas' option 'threads': expected an integer, got 'many'"),
        ("builtin.module(tfn-entry-wrapper{calee=main})", "pass 'tfn-entry-wrapper' has no option 'calee'"),
        ("builtin.module(tfn-no-such-pass)", "unknown pass 'tfn-no-such-pass'"),
    ]:
        assert opt.main([str(source), f"--pass-pipeline={pipeline}"]) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
