"""The pass pipelines of tfn's targets, as strings `tfn-opt --pass-pipeline=...` runs.

Each target's pipeline is a list of named stages (compile time is measured per stage,
`compile_stats`); the pipeline is their concatenation, `join(stages)`:

- `EXPAND`: a traced module -> plain tfn functions (run by the tracer, `trace_module`);
- `cpu_stages`: tfn -> LLVM dialect for the in-process ExecutionEngine (`tfn.jit`),
  or, with `blas=False`, for `tfn-compile` (ahead of time);
- `cuda_stages`: tfn -> LLVM dialect with the kernels embedded as PTX.

Every input of a step is an option in the string (the entry function, the BLAS
threads, the calling convention, the chip, libdevice), so that replaying the string
on the module's tfn text reproduces the LLVM dialect exactly. DESIGN.md lists the
steps.
"""
from __future__ import annotations

from typing import Sequence

ENTRY = "_tfn_entry"   # tfn.passes.entry_wrapper.ENTRY: the function the runtimes call

# Before lowering: a transform of a function traced K times is expanded once; the
# functions the transforms were applied to are dead afterwards.
EXPAND = "tfn-merge-identical-functions,tfn-expand-transforms,symbol-dce"

# After tfn-lower-to-linalg: linalg on tensors, fused and cleaned. The inliner runs no
# pipeline of its own on the functions it visits (by default a canonicalize on each):
# the canonicalize after it sees the inlined result once (0.05 s of a 64-layer gradient).
LINALG_CLEANUP = ("inline{default-pipeline=},symbol-dce,canonicalize,cse,linalg-fuse-elementwise-ops,"
                  "canonicalize,cse")
# The CPU path fuses with matmuls and some producers outlined (tfn-outline-for-fusion),
# then inlines them.
INLINE_OUTLINED = "tfn-allow-inlining,inline{default-pipeline=},symbol-dce,canonicalize,cse"
BUFFERIZE = ("one-shot-bufferize{bufferize-function-boundaries "
             "function-boundary-type-conversion=identity-layout-map}")
# Memrefs cross calls as bare pointers (every shape and layout is static): a descriptor
# is 3 + 2 * rank values, and calls passing hundreds of them made LLVM's interprocedural
# passes and instruction selection superlinear. A signature a bare pointer cannot carry
# (a zero-size dim: `memref<2x0xf32>` does not convert) keeps descriptors.
CPU_BUFFERS_TO_LLVM = (
    "convert-linalg-to-loops,buffer-deallocation-pipeline,convert-scf-to-cf,"
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
    # ipowi needs a software routine; libm keeps tanh/expm1/log1p accurate in f64.
    "math-expand-ops{ops=rsqrt},convert-math-to-funcs,convert-math-to-libm,convert-math-to-llvm,"
    "convert-arith-to-llvm,convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},convert-cf-to-llvm,"
    # The memref descriptors of views, built and taken apart again as LLVM structs, fold away
    # (the entry's body is compiled optnone: LLVM would not clean them up there).
    "reconcile-unrealized-casts,canonicalize")

# Threads per block along the first two mapped dims of a parallel loop nest (x, y).
TILE_SIZES = (32, 8)


def join(stages: Sequence[tuple[str, str]]) -> str:
    """The pipeline of `stages` ((name, pipeline) pairs) as one string."""
    return "builtin.module(" + ",".join(text for _, text in stages) + ")"


def cpu_stages(callee: str = "main", blas: bool = True, threads: int = 0,
               bare_pointers: bool = True) -> list[tuple[str, str]]:
    """The CPU pipeline from tfn (function `callee` the entry point) to the LLVM dialect.

    `blas`: f32/f64 matmuls call the BLAS that numpy loaded (`tfn-linalg-to-blas`, on at
    most `threads` threads; 0: the cores of the process compiling); `bare_pointers`: memrefs
    cross calls as bare pointers, else as descriptors (the entry through `_mlir_ciface_`).
    """
    to_llvm = CPU_BUFFERS_TO_LLVM if bare_pointers else \
        CPU_BUFFERS_TO_LLVM.replace("{use-bare-ptr-memref-call-conv=1}", "")
    return [
        ("to_linalg", f"tfn-lower-to-linalg,tfn-entry-wrapper{{callee={callee}}}"),
        ("linalg_cleanup", f"tfn-outline-for-fusion,{LINALG_CLEANUP},{INLINE_OUTLINED},"
                           "tfn-fold-transposed-matmuls,tfn-accumulate-into-matmuls,tfn-relax-reductions"),
        ("bufferize", f"tfn-approximate-math,tfn-private-zero-inits,tfn-split-empty-tensors,"
                      f"tfn-write-into-results,{BUFFERIZE},tfn-drop-self-copies"),
        ("blas_workspace", (f"tfn-linalg-to-blas{{entry={ENTRY} threads={threads}}}," if blas else "")
         + f"tfn-lower-strided-copies,tfn-pool-host-allocations{{entry={ENTRY}}}"),
        ("outline_kernels", "tfn-outline-kernels"),
        ("to_llvm", (f"tfn-internal-linkage{{keep={ENTRY}}}," if bare_pointers else "tfn-internal-linkage,")
         + f"tfn-optnone-glue{{function={ENTRY}_body}},{to_llvm},tfn-disable-unrolling"),
    ]


def cuda_stages(chip: str, callee: str = "main", bitcode_libraries: Sequence[str] = ()) -> list[tuple[str, str]]:
    """The CUDA pipeline from tfn to the LLVM dialect with the kernels as PTX (JIT-compiled
    by the driver at load time) for `chip`; `bitcode_libraries` (libdevice) are linked into
    the kernels for f64 math calls."""
    tiles = ",".join(map(str, TILE_SIZES))
    link = "".join(f" l={path}" for path in bitcode_libraries)
    return [
        ("to_linalg", f"tfn-split-reductions,tfn-lower-to-linalg{{target=cuda}},tfn-entry-wrapper{{callee={callee}}}"),
        ("linalg_cleanup", LINALG_CLEANUP),
        # No deallocation pass: every buffer becomes a view of the workspace (tfn-gpu-pool-allocations),
        # and where a branch yields aliasing buffers the ownership-based deallocation would add
        # host bookkeeping (pointers and flags stored in buffers, which are device memory here).
        ("bufferize", f"{BUFFERIZE},linalg-generalize-named-ops"),
        ("gpu_buffers", "tfn-gpu-thread-buffers,tfn-gpu-host-reads,tfn-lower-strided-copies,tfn-gpu-reorder-loops,"
                        f"tfn-gpu-device-memory,tfn-gpu-pool-allocations{{entry={ENTRY}}}"),
        # Bufferized linalg (device memory) -> gpu.launch_func of outlined kernels on one stream;
        # an scf.forall (a loop per batch element, the linear algebra ops) is a parallel loop too.
        ("gpu_loops", "func.func(scf-forall-to-parallel,convert-linalg-to-parallel-loops,"
                      f"scf-parallel-loop-tiling{{parallel-loop-tile-sizes={tiles} no-min-max-bounds=true}},"
                      "gpu-map-parallel-loops,convert-parallel-loops-to-gpu),"
                      "gpu-kernel-outlining,func.func(gpu-async-region),lower-affine,convert-scf-to-cf,"
                      "tfn-gpu-check-host-access"),
        ("to_llvm", f"nvvm-attach-target{{chip={chip} O=3{link}}},"
                    f"gpu-lower-to-nvvm-pipeline{{cubin-format=isa cubin-chip={chip} cubin-features=+ptx80 "
                    "opt-level=3}"),
    ]
