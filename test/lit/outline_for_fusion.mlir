// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,tfn-outline-for-fusion)' | FileCheck %s

// The matmul, and the tanh that a broadcast reads, move into private functions called
// with no_inline, out of the reach of linalg-fuse-elementwise-ops.
// CHECK-LABEL: func.func private @__tfn_outlined_1(%arg0: tensor<32xf32>, %arg1: tensor<32xf32>) -> tensor<32xf32>
// CHECK: math.tanh
// CHECK-LABEL: func.func private @__tfn_outlined_0(%arg0: tensor<32x64xf32>, %arg1: tensor<64x32xf32>, %arg2: tensor<32x32xf32>) -> tensor<32x32xf32>
// CHECK-NEXT: %[[C:.*]] = linalg.matmul ins(%arg0, %arg1 : tensor<32x64xf32>, tensor<64x32xf32>) outs(%arg2 : tensor<32x32xf32>)
// CHECK-NEXT: return %[[C]]
// CHECK-LABEL: func.func @f
// CHECK-NOT: linalg.matmul
// CHECK: call @__tfn_outlined_0(%{{.*}}, %{{.*}}, %{{.*}}) {no_inline}
// CHECK-NOT: math.tanh
// CHECK: call @__tfn_outlined_1(%arg2, %{{.*}}) {no_inline}
func.func @f(%x: tensor<32x64xf32>, %w: tensor<64x32xf32>, %v: tensor<32xf32>) -> tensor<32x32xf32> {
  %0 = "tfn.dot_general"(%x, %w) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<32x64xf32>, tensor<64x32xf32>) -> tensor<32x32xf32>
  %1 = "tfn.tanh"(%v) : (tensor<32xf32>) -> tensor<32xf32>
  %2 = "tfn.broadcast_in_dim"(%1) {broadcast_dimensions = array<i64: 1>} : (tensor<32xf32>) -> tensor<32x32xf32>
  %3 = "tfn.add"(%0, %2) : (tensor<32x32xf32>, tensor<32x32xf32>) -> tensor<32x32xf32>
  return %3 : tensor<32x32xf32>
}
