// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,cse,tfn-split-empty-tensors)' | FileCheck %s

// CSE merged the tensor.empty of each shape into one; every use gets its own again
// (the one of the shared fill is used once already).
// CHECK-LABEL: func.func @f
// CHECK: tensor.empty() : tensor<4xf32>
// CHECK-NOT: tensor.empty() : tensor<4xf32>
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: ins(%arg0 : tensor<4x8xf32>) outs(%[[E2]] : tensor<4x8xf32>)
// CHECK: ins(%arg1 : tensor<4x8xf32>) outs(%[[E1]] : tensor<4x8xf32>)
func.func @f(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  %1 = "tfn.reduce_sum"(%y) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  %2 = "tfn.exp"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = "tfn.neg"(%y) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2, %3 : tensor<4xf32>, tensor<4xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
