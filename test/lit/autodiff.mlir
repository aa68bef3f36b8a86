// RUN: %tfn-opt %s --tfn-autodiff | FileCheck %s

// Only the differentiation transforms are expanded: the tfn.vmap now transforms
// f_grad, d/dx sum(x * x) = x * 1 + 1 * x. (More: autodiff_*.mlir.)
// CHECK-LABEL: func.func @main
// CHECK: %[[F:.*]] = constant @f_grad : (tensor<3xf32>) -> tensor<3xf32>
// CHECK: "tfn.vmap"(%[[F]])
// CHECK-LABEL: func.func private @f_grad(%arg0: tensor<3xf32>) -> tensor<3xf32>
// CHECK: %[[ONE:.*]] = "tfn.constant"() {value = dense<1.000000e+00> : tensor<f32>}
// CHECK: %[[SEED:.*]] = "tfn.broadcast_in_dim"(%[[ONE]])
// CHECK: %[[A:.*]] = "tfn.mul"(%arg0, %[[SEED]])
// CHECK: %[[B:.*]] = "tfn.mul"(%[[SEED]], %arg0)
// CHECK: %[[G:.*]] = "tfn.add"(%[[A]], %[[B]])
// CHECK: return %[[G]] : tensor<3xf32>
func.func private @f(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "tfn.mul"(%x, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func @main(%xs: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %f = func.constant @f : (tensor<3xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>) -> tensor<3xf32>)
  %v = "tfn.vmap"(%g) {in_dims = array<i64: 0>, out_dims = array<i64: 0>, batch_size = 2 : i64} : ((tensor<3xf32>) -> tensor<3xf32>) -> ((tensor<2x3xf32>) -> tensor<2x3xf32>)
  %r = func.call_indirect %v(%xs) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}
