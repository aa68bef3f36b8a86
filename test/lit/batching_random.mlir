// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-batch)' | FileCheck %s

// randomness = "different": an unmapped key is split into one key per example
// (random_bits of shape [batch, 2]), then each example draws from its own key.
// CHECK-LABEL: func.func private @r_vmap(%arg0: tensor<2xi32>, %arg1: tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK: %[[K:.*]] = "tfn.random_bits"(%arg0) : (tensor<2xi32>) -> tensor<4x2xi32>
// CHECK: "tfn.random_bits"(%[[K]]) : (tensor<4x2xi32>) -> tensor<4x3xi32>
func.func private @r(%k: tensor<2xi32>, %x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.random_bits"(%k) : (tensor<2xi32>) -> tensor<3xi32>
  %1 = "tfn.convert"(%0) : (tensor<3xi32>) -> tensor<3xf32>
  %2 = "tfn.add"(%1, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %2 : tensor<3xf32>
}
func.func @different(%k: tensor<2xi32>, %x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %f = func.constant @r : (tensor<2xi32>, tensor<3xf32>) -> tensor<3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: -1, 0>, out_dims = array<i64: 0>, batch_size = 4 : i64, randomness = "different"} : ((tensor<2xi32>, tensor<3xf32>) -> tensor<3xf32>) -> ((tensor<2xi32>, tensor<4x3xf32>) -> tensor<4x3xf32>)
  %r = func.call_indirect %v(%k, %x) : (tensor<2xi32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// randomness = "same": one draw, broadcast where it meets batched values.
// CHECK-LABEL: func.func private @r_vmap(%arg0: tensor<2xi32>, %arg1: tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: %[[B:.*]] = "tfn.random_bits"(%arg0) : (tensor<2xi32>) -> tensor<3xi32>
// CHECK-NEXT: %[[C:.*]] = "tfn.convert"(%[[B]]) : (tensor<3xi32>) -> tensor<3xf32>
// CHECK-NEXT: "tfn.broadcast_in_dim"(%[[C]]) {broadcast_dimensions = array<i64: 1>} : (tensor<3xf32>) -> tensor<4x3xf32>
func.func private @r(%k: tensor<2xi32>, %x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.random_bits"(%k) : (tensor<2xi32>) -> tensor<3xi32>
  %1 = "tfn.convert"(%0) : (tensor<3xi32>) -> tensor<3xf32>
  %2 = "tfn.add"(%1, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %2 : tensor<3xf32>
}
func.func @same(%k: tensor<2xi32>, %x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %f = func.constant @r : (tensor<2xi32>, tensor<3xf32>) -> tensor<3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: -1, 0>, out_dims = array<i64: 0>, batch_size = 4 : i64, randomness = "same"} : ((tensor<2xi32>, tensor<3xf32>) -> tensor<3xf32>) -> ((tensor<2xi32>, tensor<4x3xf32>) -> tensor<4x3xf32>)
  %r = func.call_indirect %v(%k, %x) : (tensor<2xi32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
