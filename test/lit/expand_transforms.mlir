// RUN: %tfn-opt %s --tfn-expand-transforms | FileCheck %s

// vmap(grad(f)): the inner grad is expanded first, then the vmap of the gradient;
// the indirect call of the result becomes a direct call.
// CHECK-LABEL: func.func @main
// CHECK-NOT: tfn.grad
// CHECK-NOT: tfn.vmap
// CHECK: call @f_grad_vmap(%arg0) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-LABEL: func.func private @f_grad(%arg0: tensor<3xf32>) -> tensor<3xf32>
// CHECK: "tfn.add"
// CHECK-LABEL: func.func private @f_grad_vmap(%arg0: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: "tfn.mul"(%arg0, %{{.*}}) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
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
