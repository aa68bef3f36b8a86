// RUN: %tfn-opt %s --tfn-batch | FileCheck %s

// tfn-batch expands tfn.vmap only. Unbatched values (the weight %w) are used as they
// are; the product with a batched operand gets the batch dim. (More: batching_*.mlir.)
// CHECK-LABEL: func.func @main
// CHECK: call @f_vmap(%arg0, %arg1) : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
// CHECK-LABEL: func.func private @f_vmap(%arg0: tensor<4x3xf32>, %arg1: tensor<3xf32>) -> tensor<4x3xf32>
// CHECK: %[[W:.*]] = "tfn.broadcast_in_dim"(%arg1) {broadcast_dimensions = array<i64: 1>} : (tensor<3xf32>) -> tensor<4x3xf32>
// CHECK: "tfn.mul"(%arg0, %[[W]]) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
func.func private @f(%x: tensor<3xf32>, %w: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.mul"(%x, %w) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func @main(%xs: tensor<4x3xf32>, %w: tensor<3xf32>) -> tensor<4x3xf32> {
  %f = func.constant @f : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, -1>, out_dims = array<i64: 0>, batch_size = 4 : i64} : ((tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>) -> ((tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>)
  %r = func.call_indirect %v(%xs, %w) : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
