"""The upstream pass pipelines that the target drivers run between tfn's own steps.

`tfn.runtime.cpu.lower_for_cpu` and `tfn.runtime.cuda.lower_for_cuda` put the whole
sequence together (tfn passes, which `tfn-opt` knows by name too, between these
strings); DESIGN.md lists it step by step.
"""
from __future__ import annotations

# After tfn-lower-to-linalg: linalg on tensors, fused and cleaned. The inliner runs no
# pipeline of its own on the functions it visits (by default a canonicalize on each):
# the canonicalize after it sees the inlined result once (0.05 s of a 64-layer gradient).
LINALG_CLEANUP = ("inline{default-pipeline=},symbol-dce,canonicalize,cse,linalg-fuse-elementwise-ops,"
                  "canonicalize,cse")
# The CPU path fuses with matmuls and some producers outlined (tfn.lowering.outline),
# then inlines them.
INLINE_OUTLINED = "inline{default-pipeline=},symbol-dce,canonicalize,cse"

# linalg on tensors -> LLVM dialect, for the in-process CPU ExecutionEngine, in two
# stages: bufferization, then (after `tfn-linalg-to-blas` where a BLAS is loaded) the rest.
# Memrefs cross calls as bare pointers (every shape and layout is static): a descriptor
# is 3 + 2 * rank values, and calls passing hundreds of them made LLVM's interprocedural
# passes and instruction selection superlinear.
CPU_BUFFERIZE = (
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map}")
CPU_BUFFERS_TO_LLVM = (
    "convert-linalg-to-loops,buffer-deallocation-pipeline,convert-scf-to-cf,"
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
    # ipowi needs a software routine; libm keeps tanh/expm1/log1p accurate in f64.
    "math-expand-ops{ops=rsqrt},convert-math-to-funcs,convert-math-to-libm,convert-math-to-llvm,"
    "convert-arith-to-llvm,convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},convert-cf-to-llvm,"
    # The memref descriptors of views, built and taken apart again as LLVM structs, fold away
    # (the entry's body is compiled optnone: LLVM would not clean them up there).
    "reconcile-unrealized-casts,canonicalize")
# The same with memref descriptors, for a module whose signatures a bare pointer cannot
# carry (a zero-size dim: `memref<2x0xf32>` does not convert).
CPU_BUFFERS_TO_LLVM_DESCRIPTORS = CPU_BUFFERS_TO_LLVM.replace("{use-bare-ptr-memref-call-conv=1}", "")
