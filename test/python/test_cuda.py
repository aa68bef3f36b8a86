"""The CUDA target: PTX kernels compiled here (no GPU needed); results checked on a GPU when present."""
from __future__ import annotations

import re

import numpy as np
import pytest
from mlir import ir

import tfn
import tfn.numpy as tnp
from tfn import nn
from tfn.api.jit import trace_module
from tfn.frontend.tracer import ShapeDtype, context
from tfn.runtime.cuda import CudaUnavailable, device_chip, lower_for_cuda

RNG = np.random.default_rng(3)


def _lower(f, *args, chip="sm_90"):
    with context(), ir.Location.unknown():
        module, _ = trace_module(f, args, {}, [ShapeDtype.of(a) for a in args])
        return lower_for_cuda(module, "main", chip)


def _mlp_loss(w1, b1, w2, b2, x, y):
    h = nn.relu(x @ w1 + b1)
    return -tnp.mean(tnp.sum(nn.log_softmax(h @ w2 + b2) * y, axis=-1))


def test_kernels_are_compiled_to_ptx_for_the_chip():
    x = RNG.standard_normal((8, 3)).astype(np.float32)
    w = RNG.standard_normal((3, 5)).astype(np.float32)
    stages = _lower(lambda x, w: tnp.sum(tnp.tanh(x @ w), axis=1), x, w)
    assert "gpu.launch_func" in stages["buffers"] or "scf.parallel" not in stages["buffers"]
    llvm = stages["llvm"]
    assert llvm.count("gpu.binary") >= 2
    assert ".target sm_90" in llvm
    assert "mgpuMemcpy" in llvm and "mgpuMemAlloc" not in llvm  # buffers live in the workspace


def test_every_buffer_is_a_view_of_one_device_workspace():
    x = RNG.standard_normal((4, 4)).astype(np.float32)
    stages = _lower(lambda x: (x @ x.T) * tnp.arange(4.0, dtype=np.float32), x)
    buffers = stages["buffers"]
    assert "memref.alloc" not in buffers and "memref.copy" not in buffers and "gpu.alloc" not in buffers
    assert "gpu.dealloc" not in buffers
    views = re.findall(r"memref.view %arg2\[%c(\d+)\]", buffers)
    assert len(views) >= 2 and all(int(offset) % 256 == 0 for offset in views)
    assert stages["workspace_bytes"] >= 256 * len(views)
    assert buffers.count("gpu.memcpy") >= 1  # the constant; arguments are staged by the caller
    host = stages["gpu"][:stages["gpu"].index("gpu.module")]
    assert re.search(r"gpu.wait \[%\d+\]\s+return", host)  # one stream, waited on before returning


def test_full_reductions_run_as_kernels_with_coalesced_threads():
    x = RNG.standard_normal((8, 64)).astype(np.float32)
    stages = _lower(lambda x: (tnp.sum(x), tnp.sum(x * 2.0, axis=0)), x)
    gpu_stage = stages["gpu"]
    host = gpu_stage[:gpu_stage.index("gpu.module")]
    assert "memref.load" not in host and "memref.store" not in host
    assert gpu_stage.count("gpu.launch_func") >= 2
    # The innermost (contiguous) dim of each loop nest is walked by thread x.
    assert "affine_map<(d0, d1) -> (d1, d0)>" in stages["buffers"]


def test_f64_math_is_linked_from_libdevice_not_left_external():
    x = RNG.standard_normal(16)
    llvm = _lower(lambda x: tnp.tanh(x) + tnp.exp(x), x)["llvm"]
    assert not re.search(r"\.extern\s+\.func", llvm)


def test_unsupported_chip_is_a_clear_error_not_an_abort():
    with pytest.raises(CudaUnavailable, match="sm_120 is not supported"):
        _lower(lambda x: x * 2.0, np.ones(3, np.float32), chip="sm_120")


def _gpu_or_skip():
    try:
        return device_chip()
    except CudaUnavailable as e:
        pytest.skip(f"no CUDA device: {e}")


def test_results_match_numpy_on_the_gpu():
    _gpu_or_skip()
    x = RNG.standard_normal((64, 784)).astype(np.float32)
    w1 = (RNG.standard_normal((784, 128)) * 0.05).astype(np.float32)
    b1 = np.zeros(128, np.float32)
    w2 = (RNG.standard_normal((128, 10)) * 0.05).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    y = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 64)]
    args = (w1, b1, w2, b2, x, y)
    for f in (_mlp_loss, tfn.grad(_mlp_loss, argnums=(0, 1, 2, 3))):
        on_gpu = tfn.jit(f, device="cuda")(*args)
        on_cpu = tfn.jit(f)(*args)
        for a, b in zip(tfn.tree_leaves(on_gpu), tfn.tree_leaves(on_cpu)):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    per_sample = tfn.vmap(tfn.grad(lambda w, x, y: _mlp_loss(w, b1, w2, b2, x[None], y[None])),
                          in_dims=(None, 0, 0))
    np.testing.assert_allclose(tfn.jit(per_sample, device="cuda")(w1, x, y), tfn.jit(per_sample)(w1, x, y),
                               rtol=2e-4, atol=2e-6)


def test_device_arrays_stay_on_the_gpu_between_calls():
    _gpu_or_skip()
    x = RNG.standard_normal((64, 32)).astype(np.float32)
    w = RNG.standard_normal((32, 16)).astype(np.float32)
    layer = tfn.jit(lambda w, x: tnp.tanh(x @ w), device="cuda")
    dx, dw = tfn.device_put(x), tfn.device_put(w)
    h = layer(dw, dx)
    assert isinstance(h, tfn.DeviceArray) and h.shape == (64, 16)
    loss = tfn.jit(lambda h: tnp.sum(h * h), device="cuda")(h)
    np.testing.assert_allclose(np.asarray(loss), np.sum(np.tanh(x @ w) ** 2), rtol=1e-5)
    np.testing.assert_allclose(layer(w, x), np.tanh(x @ w), rtol=1e-5, atol=1e-6)  # numpy in, numpy out


def test_device_put_without_a_gpu_is_a_clear_error():
    try:
        device_chip()
    except CudaUnavailable:
        with pytest.raises(CudaUnavailable):
            tfn.device_put(np.ones(3))
    else:
        np.testing.assert_array_equal(np.asarray(tfn.device_put(np.arange(3.0))), np.arange(3.0))



def test_split_reductions_compute_the_same_values():
    # The GPU pipeline's reduction split, run through the CPU pipeline: only rounding changes.
    from tfn.runtime.cpu import CpuExecutable
    from tfn.passes.split_reductions import split_reductions
    x = RNG.standard_normal((4, 1024))
    f = lambda x: (tnp.sum(x, axis=-1), tnp.max(x * x), tnp.prod(1.0 + x * 1e-3, axis=1))
    with context(), ir.Location.unknown():
        module, _ = trace_module(f, (x,), {}, [ShapeDtype.of(x)])
        assert split_reductions(module.operation) == 3
        got = CpuExecutable(module, "main")(x)
    for a, b in zip(got, tfn.jit(f)(x)):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_gather_and_scatter_lower_to_kernels_and_match_the_cpu():
    # gather is a parallel generic; scatter, on the GPU, a reduction over the updates per
    # result element (no atomics, set's last update wins): both stay off the host.
    x = RNG.standard_normal((50, 8)).astype(np.float32)
    idx = RNG.integers(-50, 50, 30)
    v = RNG.standard_normal((30, 8)).astype(np.float32)
    cases = [(lambda x, i: x[i], (x, idx)),
             (tfn.grad(lambda x, i, v: tnp.sum(tnp.take(x, i, axis=0) * v)), (x, idx, v)),
             (lambda x, i, v: x.at[i].set(v), (x, idx, v)),
             (lambda x, i, v: x.at[i].max(v), (x > 0, idx, v > 0)),
             (lambda x, i, v: x.at[i].multiply(v), (np.arange(50, dtype=np.int32), idx, np.arange(30, dtype=np.int32)))]
    for f, args in cases:
        stages = _lower(f, *args)   # check_no_host_access ran: nothing reads device memory on the host
        assert "gpu.launch_func" in stages["gpu"] and ".target sm_90" in stages["llvm"]
    _gpu_or_skip()
    for f, args in cases:
        np.testing.assert_allclose(tfn.jit(f, device="cuda")(*args), tfn.jit(f)(*args), rtol=1e-6, atol=1e-6)


# ---- control flow: the loops and branches run on the host, their bodies as kernels

def _newton(a):
    return tfn.lax.while_loop(lambda y: tnp.abs(y * y - a) > 1e-10, lambda y: 0.5 * (y + a / y), a)


def _scan_rows(xs, w):
    # Each step reads a row of xs (a view at an offset) and writes a row of ys.
    c, ys = tfn.lax.scan(lambda c, row: (tnp.tanh(c * row + w), tnp.sum(c * row)), w, xs, reverse=True)
    return tnp.sum(c) + tnp.sum(ys * ys)


def _branchy(x):
    return tfn.lax.cond(tnp.sum(x) > 0, lambda v: tnp.sin(v) * v, lambda v: v ** 3, x)


def _switch_on_element(idx, x):
    return tfn.lax.switch(idx[2], [lambda v: v + 1.0, lambda v: v * 2.0, lambda v: -v], x)


_XS = RNG.standard_normal((5, 4))
_W = RNG.standard_normal(4)
_CONTROL_FLOW = [
    ("while", _newton, (np.float64(2.0),)),
    ("grad while", tfn.grad(_newton), (np.float64(2.0),)),
    ("vmap while", tfn.vmap(_newton), (np.array([2.0, 3.0, 10.0]),)),
    ("scan", _scan_rows, (_XS, _W)),
    ("grad scan", tfn.grad(_scan_rows, argnums=(0, 1)), (_XS, _W)),
    ("cond", _branchy, (_W,)),
    ("grad cond", tfn.grad(lambda x: tnp.sum(_branchy(x))), (_W,)),
    ("switch", _switch_on_element, (np.array([2, 0, 1, 2], np.int32), _W)),
]


def _blocks_on_cycles(func_op) -> set:
    """The blocks of a function's body that lie on a cycle of its control-flow graph (in loops)."""
    blocks = list(func_op.regions[0].blocks)
    successors = {i: [blocks.index(s) for s in b.operations[len(b.operations) - 1].successors]
                  for i, b in enumerate(blocks)}

    def reaches(start, goal):
        seen, todo = set(), list(successors[start])
        while todo:
            b = todo.pop()
            if b == goal:
                return True
            if b not in seen:
                seen.add(b)
                todo.extend(successors[b])
        return False
    return {i for i in range(len(blocks)) if reaches(i, i)}


def _host_ops(stage: str, name: str):
    """(op name or callee, block index, whether the block is in a loop, what a memref.load reads)
    for every op of function `name`'s body (not nested), parsed from a stage's text."""
    with ir.Context():
        module = ir.Module.parse(stage)
        entry = next(op for op in module.body.operations
                     if op.operation.name in ("func.func", "llvm.func")
                     and ir.StringAttr(op.operation.attributes["sym_name"]).value == name)
        cyclic = _blocks_on_cycles(entry)
        found = []
        for i, block in enumerate(entry.regions[0].blocks):
            for op in block.operations:
                op = op.operation
                callee = op.attributes["callee"] if op.name == "llvm.call" and "callee" in op.attributes else None
                read = None
                if op.name == "memref.load":
                    owner = op.operands[0].owner
                    read = "a block argument" if isinstance(owner, ir.Block) else owner.operation.name
                found.append((str(callee).lstrip("@") if callee is not None else op.name, i, i in cyclic, read))
        return found


@pytest.mark.parametrize("name, f, args", _CONTROL_FLOW, ids=[c[0] for c in _CONTROL_FLOW])
def test_control_flow_runs_its_bodies_as_kernels_and_reads_only_host_copies(name, f, args):
    stages = _lower(f, *args)
    host = _host_ops(stages["gpu"], "_tfn_entry")
    # The host reads a predicate or an index only from a stack buffer the device copied it into.
    assert {owner for op, _, _, owner in host if op == "memref.load"} <= {"memref.alloca"}
    llvm = _host_ops(stages["llvm"], "_tfn_entry")
    launches = [(block, cyclic) for op, block, cyclic, _ in llvm if op == "gpu.launch_func"]
    copies = [(block, cyclic) for op, block, cyclic, _ in llvm if op == "mgpuMemcpy"]
    if "while" in name or "scan" in name:
        # Kernels launched by the loop, each step (not hoisted out of it, not run on the host).
        assert any(cyclic for _, cyclic in launches), name
    else:
        # The branches are blocks of their own, each launching its kernels.
        assert len({block for block, _ in launches if block != 0}) >= 2, name
    if "scan" not in name:
        assert copies and "mgpuMemAlloc" not in stages["llvm"]


def _run_host_program_on_the_cpu(f, args):
    """The CUDA program up to its buffer stage (host loops and branches, host reads through
    stack buffers, every buffer a workspace view), run on the CPU: gpu.memcpy as memref.copy,
    the linalg ops (the kernels to be) as CPU loops. Returns the results."""
    import ctypes
    from mlir.dialects import memref
    from mlir.execution_engine import ExecutionEngine
    from mlir.passmanager import PassManager
    from mlir.runtime import get_ranked_memref_descriptor
    from tfn.passes.pipelines import CPU_BUFFERS_TO_LLVM, cuda_stages, join
    from tfn.passes.registry import run_pipeline
    from tfn.passes.ir_utils import find_ops
    stages = cuda_stages("sm_90")
    upto = [name for name, _ in stages].index("gpu_buffers") + 1
    outs = [np.zeros_like(np.asarray(w)) for w in tfn.tree_leaves(tfn.jit(f)(*args))]
    with context(), ir.Location.unknown():
        module, _ = trace_module(f, args, {}, [ShapeDtype.of(a) for a in args])
        run_pipeline(module.operation, join(stages[:upto]), {})
        for copy in find_ops(module.operation, "gpu.memcpy"):
            with ir.InsertionPoint(copy), copy.location:
                memref.CopyOp(copy.operands[1], copy.operands[0])
            copy.erase()
        # Descriptors at the entry (no bare pointers), and no deallocation: nothing is allocated.
        to_llvm = CPU_BUFFERS_TO_LLVM.replace("{use-bare-ptr-memref-call-conv=1}", "").replace(
            "buffer-deallocation-pipeline,", "")
        PassManager.parse(f"builtin.module({to_llvm})").run(module.operation)
        workspace = np.zeros(ir.IntegerAttr(module.operation.attributes["tfn.workspace_bytes"]).value, np.uint8)
        engine = ExecutionEngine(module, opt_level=2)
        arrays = [np.ascontiguousarray(a) for a in args] + outs + [workspace]
        engine.invoke("_tfn_entry", *[ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(a)))
                                      for a in arrays])
    return outs


@pytest.mark.parametrize("name, f, args", [c for c in _CONTROL_FLOW if c[0] in ("grad while", "grad scan", "cond",
                                                                                 "switch")],
                         ids=["grad while", "grad scan", "cond", "switch"])
def test_control_flow_host_program_computes_the_cpu_values(name, f, args):
    # What a GPU computes, up to rounding, without one: the host reads copy the right element.
    got = _run_host_program_on_the_cpu(f, args)
    for a, b in zip(got, tfn.tree_leaves(tfn.jit(f)(*args))):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-12, atol=1e-14, err_msg=name)


def test_control_flow_matches_the_cpu_on_the_gpu():
    _gpu_or_skip()
    for name, f, args in _CONTROL_FLOW:
        got, want = tfn.jit(f, device="cuda")(*args), tfn.jit(f)(*args)
        for a, b in zip(tfn.tree_leaves(got), tfn.tree_leaves(want)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12, err_msg=name)


# ---------------------------------------------------------------- linear algebra: a thread per matrix

def _spd(shape, dtype=np.float64, seed=0):
    m = np.random.default_rng(seed).standard_normal(shape)
    return (m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def _well_conditioned(shape, dtype=np.float64, seed=1):
    n = shape[-1]
    return (np.random.default_rng(seed).standard_normal(shape) + 2.0 * np.sqrt(n) * np.eye(n)).astype(dtype)


def _linalg_cases(batch=(4,), n=5, dtype=np.float64):
    """(name, tfn function, arguments, numpy reference or None: tfn's CPU result) of every
    linalg op (lu through det/slogdet/solve/inv, triangular_solve through solve) and of
    gradients through cholesky and solve."""
    spd, a = _spd(batch + (n, n), dtype), _well_conditioned(batch + (n, n), dtype)
    b = np.random.default_rng(2).standard_normal(batch + (n, 2)).astype(dtype)
    nll = lambda a, b: tnp.sum(tnp.linalg.solve(tnp.linalg.cholesky(a), b) ** 2)  # noqa: E731
    return [
        ("cholesky", tnp.linalg.cholesky, (spd,), np.linalg.cholesky),
        ("solve", tnp.linalg.solve, (a, b), np.linalg.solve),
        ("inv", tnp.linalg.inv, (a,), np.linalg.inv),
        ("det", tnp.linalg.det, (a,), np.linalg.det),
        ("slogdet", lambda a: tnp.stack(tnp.linalg.slogdet(a)), (a,), lambda a: np.stack(np.linalg.slogdet(a))),
        ("lu permutation", lambda a: tfn.lax.linalg.lu(a)[2], (a,), None),
        ("qr", lambda a: tnp.abs(tnp.linalg.qr(a)[0]) + tnp.abs(tnp.linalg.qr(a)[1]).sum(-2, keepdims=True),
         (a,), lambda a: np.abs(np.linalg.qr(a)[0]) + np.abs(np.linalg.qr(a)[1]).sum(-2, keepdims=True)),
        ("eigvalsh", tnp.linalg.eigvalsh, (spd,), np.linalg.eigvalsh),
        ("eigh vectors", lambda a: tnp.abs(tnp.linalg.eigh(a)[1]), (spd,), lambda a: np.abs(np.linalg.eigh(a)[1])),
        ("grad cholesky", tfn.grad(lambda a: tnp.sum(tnp.linalg.cholesky(a) ** 3)), (spd,), None),
        ("grad solve", tfn.grad(lambda a, b: tnp.sum(tnp.linalg.solve(a, b) ** 2), argnums=(0, 1)), (a, b), None),
        ("grad cholesky solve", tfn.grad(nll), (spd, b), None),
    ] + ([("vmap grad slogdet", tfn.vmap(tfn.grad(lambda a: tnp.sum(tnp.linalg.slogdet(a)[1]))), (a,), None)]
         if batch else [])   # vmap needs a batch to map over


def test_linalg_ops_lower_to_kernels_with_a_thread_per_matrix():
    # The loops of each matrix run in one GPU thread (an scf.forall over the batch become
    # a kernel); nothing of them is left on the host (tfn-gpu-check-host-access ran).
    for name, f, args, _ in _linalg_cases() + [("single matrix", tnp.linalg.cholesky, (_spd((3, 3)),), None)]:
        stages = _lower(f, *args)
        assert "scf.forall" in stages["linalg"], name
        assert "gpu.launch_func" in stages["gpu"] and ".target sm_90" in stages["llvm"], name
        host = stages["gpu"][:stages["gpu"].index("gpu.module")]
        assert "scf.for" not in host and "cf.br" not in host, name


def test_linalg_cuda_form_matches_numpy_when_run_on_the_cpu(monkeypatch):
    # The CUDA lowering (forall over the batch, per-thread buffers) run by the CPU pipeline,
    # its iterations in sequence: the values a GPU computes, up to rounding.
    from tfn.lowering import driver
    from tfn.passes.pipelines import cpu_stages
    from tfn.runtime.cpu import CpuExecutable

    def cuda_form(entry="main", *args, **kwargs):
        return [(name, text.replace("tfn-lower-to-linalg,", "tfn-lower-to-linalg{target=cuda},")
                 if name == "to_linalg" else
                 text.replace("buffer-deallocation-pipeline,",
                              "buffer-deallocation-pipeline,tfn-gpu-thread-buffers,func.func(scf-forall-to-for),")
                 if name == "to_llvm" else text)
                for name, text in cpu_stages(entry, *args, **kwargs)]
    monkeypatch.setattr(driver, "cpu_stages", cuda_form)
    for name, f, args, ref in _linalg_cases(batch=(2, 3), n=4):
        with context(), ir.Location.unknown():
            module, _ = trace_module(f, args, {}, [ShapeDtype.of(a) for a in args])
            assert "tfn-gpu-thread-buffers" in (program := CpuExecutable(module, "main")).pipeline
            got = program(*args)
        monkeypatch.setattr(driver, "cpu_stages", cpu_stages)
        want = ref(*args) if ref is not None else tfn.jit(f)(*args)
        monkeypatch.setattr(driver, "cpu_stages", cuda_form)
        for g, w in zip(got, tfn.tree_leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linalg_ops_match_numpy_on_the_gpu(dtype):
    _gpu_or_skip()
    tol = dict(rtol=1e-9, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    for name, f, args, ref in _linalg_cases(dtype=dtype) + _linalg_cases(batch=(), n=7, dtype=dtype):
        got = tfn.jit(f, device="cuda")(*args)
        want = ref(*args) if ref is not None else tfn.jit(f)(*args)
        for g, w in zip(tfn.tree_leaves(got), tfn.tree_leaves(want)):
            np.testing.assert_allclose(np.asarray(g), w, err_msg=name, **tol)


def test_batched_small_cholesky_on_the_gpu():
    # The case a thread per matrix is for: 1024 8x8 systems at once.
    _gpu_or_skip()
    a, b = _spd((1024, 8, 8), np.float32), np.random.default_rng(5).standard_normal((1024, 8, 1)).astype(np.float32)
    f = lambda a, b: tnp.linalg.solve(tnp.linalg.cholesky(a), b)  # noqa: E731
    np.testing.assert_allclose(tfn.jit(f, device="cuda")(a, b), np.linalg.solve(np.linalg.cholesky(a), b),
                               rtol=2e-4, atol=2e-5)
