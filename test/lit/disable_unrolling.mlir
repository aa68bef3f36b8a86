// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,one-shot-bufferize{bufferize-function-boundaries},convert-linalg-to-loops,convert-scf-to-cf,finalize-memref-to-llvm,convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts,tfn-disable-unrolling)' | FileCheck %s

// Each loop's back edge (a branch to an earlier block) says "do not unroll";
// the forward branches into the loops do not.
// CHECK: #[[UNROLL:.*]] = #llvm.loop_unroll<disable = true>
// CHECK: #[[NO_UNROLL:.*]] = #llvm.loop_annotation<unroll = #[[UNROLL]]>
// CHECK-LABEL: llvm.func @f
// CHECK: llvm.br ^bb1(%{{.*}} : i64)
// CHECK-NOT: loop_annotation
// CHECK: llvm.br ^bb3(%{{.*}} : i64)
// CHECK-NOT: loop_annotation
// CHECK: llvm.br ^bb3(%{{.*}} : i64) {loop_annotation = #[[NO_UNROLL]]}
// CHECK: llvm.br ^bb1(%{{.*}} : i64) {loop_annotation = #[[NO_UNROLL]]}
func.func @f(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = "tfn.exp"(%a) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
