"""The named pass pipelines of each target, as MLIR pipeline strings.

Each stage is a string `tfn-opt --pass-pipeline=...` accepts too (tfn passes are
registered by name there).
"""
from __future__ import annotations

# tfn IR (transform ops expanded) -> linalg on tensors, fused and cleaned.
TO_LINALG = "tfn-lower-to-linalg"
LINALG_CLEANUP = ("inline,symbol-dce,canonicalize,cse,linalg-fuse-elementwise-ops,"
                  "canonicalize,cse")
# The CPU path fuses with matmuls and some producers outlined (tfn.lowering.outline),
# then inlines them.
INLINE_OUTLINED = "inline,symbol-dce,canonicalize,cse"

# linalg on tensors -> LLVM dialect, for the in-process CPU ExecutionEngine, in two
# stages: bufferization, then (after `tfn-linalg-to-blas` where a BLAS is loaded) the rest.
CPU_BUFFERIZE = (
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map}")
BLAS = "tfn-linalg-to-blas"
CPU_BUFFERS_TO_LLVM = (
    "convert-linalg-to-loops,buffer-deallocation-pipeline,convert-scf-to-cf,"
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
    # ipowi needs a software routine; libm keeps tanh/expm1/log1p accurate in f64.
    "math-expand-ops{ops=rsqrt},convert-math-to-funcs,convert-math-to-libm,convert-math-to-llvm,"
    "convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts")
CPU_TO_LLVM = f"{CPU_BUFFERIZE},{CPU_BUFFERS_TO_LLVM}"

# Before bufferization: vectorizable f32 transcendentals (tfn.lowering.math_approx).
APPROXIMATE_MATH = "tfn-approximate-math"

PIPELINES = {
    "linalg": f"{TO_LINALG},{LINALG_CLEANUP}",
    "cpu": f"{APPROXIMATE_MATH},{CPU_TO_LLVM}",
    "cpu-blas": f"{APPROXIMATE_MATH},{CPU_BUFFERIZE},{BLAS},{CPU_BUFFERS_TO_LLVM}",
}
