// RUN: %tfn-opt %s --tfn-batch | FileCheck %s

// vmap of a scan over batched xs: xs get their batch dim behind the scanned one, the carry
// is batched because the body makes it so (a fixed point: its start is broadcast), the body
// is vmapped, and the stacked ys come back with the batch dim first.
// CHECK-LABEL: func.func private @f_vmap(%arg0: tensor<f32>, %arg1: tensor<2x4xf32>)
// CHECK: %[[XS:.*]] = "tfn.transpose"(%arg1) {permutation = array<i64: 1, 0>}
// CHECK: %[[C:.*]] = "tfn.broadcast_in_dim"(%arg0)
// CHECK: %[[B:.*]] = constant @step_vmap : (tensor<2xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
// CHECK: %[[S:.*]] = "tfn.scan"(%[[B]]) {length = 4 : i64, num_carry = 1 : i64
// CHECK: %[[R:.*]]:2 = call_indirect %[[S]](%[[C]], %[[XS]])
// CHECK: "tfn.transpose"(%[[R]]#1) {permutation = array<i64: 1, 0>}

func.func private @step(%c: tensor<f32>, %x: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %0 = "tfn.mul"(%c, %x) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %0, %c : tensor<f32>, tensor<f32>
}
func.func private @f(%c0: tensor<f32>, %xs: tensor<4xf32>) -> tensor<4xf32> {
  %b = func.constant @step : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  %s = "tfn.scan"(%b) {num_consts = 0 : i64, num_carry = 1 : i64, length = 4 : i64, reverse = 0 : i64} : ((tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)) -> ((tensor<f32>, tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>))
  %r:2 = func.call_indirect %s(%c0, %xs) : (tensor<f32>, tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>)
  return %r#1 : tensor<4xf32>
}
func.func @main(%c0: tensor<f32>, %xs: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %f = func.constant @f : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: -1, 0>, out_dims = array<i64: 0>, batch_size = 2 : i64} : ((tensor<f32>, tensor<4xf32>) -> tensor<4xf32>) -> ((tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>)
  %r = func.call_indirect %v(%c0, %xs) : (tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
