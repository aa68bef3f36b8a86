// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,tfn-outline-for-fusion,tfn-allow-inlining)' | FileCheck %s
// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,tfn-outline-for-fusion,tfn-allow-inlining,inline,symbol-dce)' | FileCheck %s --check-prefix=INLINED

// The calls that tfn-outline-for-fusion made lose no_inline, so inline puts them back.
// CHECK-LABEL: func.func @f
// CHECK: call @__tfn_outlined_0(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<32x64xf32>, tensor<64x32xf32>, tensor<32x32xf32>) -> tensor<32x32xf32>
// CHECK: call @__tfn_outlined_1(%arg2, %{{.*}}) : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
// CHECK-NOT: no_inline

// INLINED-NOT: __tfn_outlined
// INLINED: linalg.matmul
// INLINED: math.tanh
// INLINED-NOT: __tfn_outlined
func.func @f(%x: tensor<32x64xf32>, %w: tensor<64x32xf32>, %v: tensor<32xf32>) -> tensor<32x32xf32> {
  %0 = "tfn.dot_general"(%x, %w) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<32x64xf32>, tensor<64x32xf32>) -> tensor<32x32xf32>
  %1 = "tfn.tanh"(%v) : (tensor<32xf32>) -> tensor<32xf32>
  %2 = "tfn.broadcast_in_dim"(%1) {broadcast_dimensions = array<i64: 1>} : (tensor<32xf32>) -> tensor<32x32xf32>
  %3 = "tfn.add"(%0, %2) : (tensor<32x32xf32>, tensor<32x32xf32>) -> tensor<32x32xf32>
  return %3 : tensor<32x32xf32>
}
