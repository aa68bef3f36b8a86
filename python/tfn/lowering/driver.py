"""The compile driver: runs a target's pipeline (tfn.passes.pipelines) stage by stage.

`lower_for_cpu` and `lower_for_cuda` lower a tfn module in place to the LLVM dialect,
timing each stage (`stats`), keeping the IR text of some when asked (`keep_stages`),
and returning what the runtimes need: the pipeline string that ran (`stages["pipeline"]`:
`tfn-opt --pass-pipeline=<it>` on the text of stage "tfn" reproduces stage "llvm"),
the workspace size, the calling convention.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from mlir import ir

from tfn.passes.outline_kernels import passes_as_bare_pointer
from tfn.passes.pipelines import cpu_stages, cuda_stages, join
from tfn.passes.pool_host_allocations import workspace_bytes
from tfn.passes.registry import run_pipeline

# The keys of `compile_stats`: seconds per stage, in order, then sizes.
COMPILE_STAGES = ("to_linalg", "linalg_cleanup", "bufferize", "blas_workspace", "outline_kernels", "to_llvm",
                  "print_stages", "llvm_opt", "llvm_codegen")
COMPILE_SIZES = ("kernels_before_dedup", "kernels", "llvm_ops")
# The IR text kept (with `keep_stages`) after each stage, besides "tfn" before the first.
_KEPT_AFTER = {"linalg_cleanup": "linalg", "outline_kernels": "buffers", "gpu_buffers": "buffers",
               "gpu_loops": "gpu", "to_llvm": "llvm"}
# Chips whose PTX version +ptx80 covers; another chip would make LLVM abort the process.
SUPPORTED_CHIPS = ("sm_70", "sm_72", "sm_75", "sm_80", "sm_86", "sm_87", "sm_89", "sm_90")


class CudaUnavailable(RuntimeError):
    """No usable NVIDIA driver, device or CUDA runtime library in this process (or an unsupported GPU)."""


class StageClock:
    """Seconds per compile stage, added into `stats[name]` by `lap(name)` (time since the last lap)."""

    def __init__(self, stats: dict):
        self.stats = stats
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stats[name] = self.stats.get(name, 0.0) + (now - self._last)
        self._last = now


def run_stages(module: ir.Module, plan: list[tuple[str, str]], stats: dict | None, keep_stages: bool,
               before_stage=None) -> dict:
    """Runs each (name, pipeline) of `plan` on `module`, timed as stage `name` in `stats`.

    `before_stage(name, pipeline)`, when given, may return the pipeline to run instead
    (options that depend on the IR so far). Returns the stages: the IR texts kept, and
    "pipeline", the whole pipeline that ran.
    """
    stats = {} if stats is None else stats
    clock = StageClock(stats)
    stages: dict = {}

    def keep(name: str | None) -> None:
        if keep_stages and name:
            stages[name] = str(module)
            clock.lap("print_stages")
    keep("tfn")
    ran = []
    for name, pipeline in plan:
        if before_stage is not None:
            pipeline = before_stage(name, pipeline)
        run_pipeline(module.operation, pipeline, stats)
        if name == "to_llvm":
            stats["llvm_ops"] = count_ops(module)
        clock.lap(name)
        keep(_KEPT_AFTER.get(name))
        ran.append((name, pipeline))
    stages["pipeline"] = join(ran)
    return stages


def lower_for_cpu(module: ir.Module, entry: str, use_blas: bool = False, keep_stages: bool = True,
                  stats: dict | None = None, threads: int | None = None) -> dict:
    """Lowers a tfn module in place to the LLVM dialect (`cpu_stages`); returns the stages.

    `use_blas` turns large f32/f64 contractions into calls of the BLAS that numpy loaded
    (gemms on at most `threads` threads, default the cores of this process); code meant
    to run elsewhere passes False. The entry point's temporaries are views of one
    workspace, a trailing `memref<Nxi8>` argument that the caller allocates;
    `stages["host_workspace_bytes"]` is N (0: no such argument), `stages["bare_pointers"]`
    whether memrefs cross calls as bare pointers.

    With `keep_stages=False` no IR is printed. `stats`, when given, receives the seconds
    of each stage and the sizes of the program (see `COMPILE_STAGES`).
    """
    if threads is None:
        from tfn.passes.linalg_to_blas import cores
        threads = cores()
    bare = [True]

    def choose_calling_convention(name: str, pipeline: str) -> str:
        if name != "to_llvm":
            return pipeline
        bare[0] = all(passes_as_bare_pointer(t) for t in _signature_types(module))
        return pipeline if bare[0] else dict(cpu_stages(entry, use_blas, threads, False))["to_llvm"]
    stages = run_stages(module, cpu_stages(entry, use_blas, threads), stats, keep_stages, choose_calling_convention)
    stages["host_workspace_bytes"] = workspace_bytes(module.operation)
    stages["bare_pointers"] = bare[0]
    return stages


def lower_for_cuda(module: ir.Module, entry: str, chip: str, keep_stages: bool = True,
                   stats: dict | None = None) -> dict:
    """Lowers a tfn module in place to LLVM with embedded PTX kernels (`cuda_stages`); returns
    the stages. No GPU is needed.

    The entry point gains a trailing workspace argument (`memref<Nxi8>`, device memory);
    `stages["workspace_bytes"]` is N.
    """
    if chip not in SUPPORTED_CHIPS:
        raise CudaUnavailable(f"GPU {chip} is not supported (supported: {', '.join(SUPPORTED_CHIPS)})")
    bitcode = libdevice()
    plan = cuda_stages(chip, entry, [str(bitcode)] if bitcode else [])
    stages = run_stages(module, plan, stats, keep_stages)
    stages["workspace_bytes"] = workspace_bytes(module.operation)
    return stages


def libdevice() -> Path | None:
    """NVIDIA's libdevice bitcode (f64 transcendentals on the GPU), if a CUDA toolkit is installed."""
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    for root in filter(None, roots):
        candidate = Path(root) / "nvvm" / "libdevice" / "libdevice.10.bc"
        if candidate.is_file():
            return candidate
    return None


def _signature_types(module: ir.Module):
    for op in module.body.operations:
        if op.operation.name == "func.func":
            yield from ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value).inputs


def count_ops(module: ir.Module) -> int:
    """Ops in the bodies of a module's functions, one level deep (all of them in the LLVM dialect)."""
    n = 0
    for op in module.body.operations:
        for region in op.regions:
            for block in region.blocks:
                n += len(block.operations)
    return n


def report_compile_stats(name: str, stats: dict, file=None) -> None:
    """Prints `stats` (see COMPILE_STAGES) as one line per stage, each naming the function."""
    file = sys.stderr if file is None else file
    total = 0.0
    stages = [k for k in COMPILE_STAGES if k in stats]
    stages += [k for k, v in stats.items() if isinstance(v, float) and k not in COMPILE_STAGES]
    for key in stages:
        if key in stats:
            total += stats[key]
            print(f"tfn compile {name}: {key:<16}{stats[key] * 1e3:9.1f} ms", file=file)
    print(f"tfn compile {name}: {'total':<16}{total * 1e3:9.1f} ms", file=file)
    sizes = ", ".join(f"{key} {stats[key]}" for key in COMPILE_SIZES if key in stats)
    if sizes:
        print(f"tfn compile {name}: {sizes}", file=file)
