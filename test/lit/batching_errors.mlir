// RUN: not %tfn-opt %s --pass-pipeline='builtin.module(tfn-batch)' 2>&1 | FileCheck %s

// A random op on an unmapped key inside vmap with randomness = "error" (the default).
// CHECK: error: tfn-batch: vmap: random op 'tfn.random_bits' inside vmap with randomness='error'
func.func private @r(%k: tensor<2xi32>, %x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.random_bits"(%k) : (tensor<2xi32>) -> tensor<3xi32>
  %1 = "tfn.convert"(%0) : (tensor<3xi32>) -> tensor<3xf32>
  %2 = "tfn.add"(%1, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %2 : tensor<3xf32>
}
func.func @error(%k: tensor<2xi32>, %x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %f = func.constant @r : (tensor<2xi32>, tensor<3xf32>) -> tensor<3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: -1, 0>, out_dims = array<i64: 0>, batch_size = 4 : i64} : ((tensor<2xi32>, tensor<3xf32>) -> tensor<3xf32>) -> ((tensor<2xi32>, tensor<4x3xf32>) -> tensor<4x3xf32>)
  %r = func.call_indirect %v(%k, %x) : (tensor<2xi32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
