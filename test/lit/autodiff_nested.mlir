// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-autodiff)' | FileCheck %s

// grad(grad(sin)): the inner transform is expanded first, then differentiated
// again; the second derivative of sin is -sin.
// CHECK-LABEL: func.func @main
// CHECK: call @s_grad_grad
// CHECK-NOT: "tfn.grad"
// CHECK-LABEL: func.func private @s_grad(
// CHECK: "tfn.cos"
// CHECK-LABEL: func.func private @s_grad_grad(
// CHECK: "tfn.sin"
// CHECK: "tfn.neg"
func.func private @s(%x: tensor<f64>) -> tensor<f64> {
  %0 = "tfn.sin"(%x) : (tensor<f64>) -> tensor<f64>
  return %0 : tensor<f64>
}
func.func @main(%x: tensor<f64>) -> tensor<f64> {
  %f = func.constant @s : (tensor<f64>) -> tensor<f64>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<f64>) -> tensor<f64>) -> ((tensor<f64>) -> tensor<f64>)
  %gg = "tfn.grad"(%g) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<f64>) -> tensor<f64>) -> ((tensor<f64>) -> tensor<f64>)
  %r = func.call_indirect %gg(%x) : (tensor<f64>) -> tensor<f64>
  return %r : tensor<f64>
}
