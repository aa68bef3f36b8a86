// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,cse,tfn-private-zero-inits)' | FileCheck %s

// CSE merged the zero fills of the two sums into one; each sum accumulates into a fill
// of its own again (bufferization would otherwise copy the shared zeros).
// CHECK-LABEL: func.func @f
// CHECK: %[[FILL1:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[FILL2:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
// CHECK: ins(%arg0 : tensor<4x8xf32>) outs(%[[FILL2]] : tensor<4xf32>)
// CHECK: ins(%arg1 : tensor<4x8xf32>) outs(%[[FILL1]] : tensor<4xf32>)
func.func @f(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  %1 = "tfn.reduce_sum"(%y) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  %2 = "tfn.exp"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = "tfn.neg"(%y) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2, %3 : tensor<4xf32>, tensor<4xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
