// RUN: %tfn-opt %s --split-input-file --tfn-merge-identical-functions | FileCheck %s

// Three traces of one loss differ only in their symbol: one function is left, and
// every tfn.grad now transforms it (so the expansion memo builds one gradient).
// CHECK-LABEL: func.func @main
// CHECK-COUNT-3: constant @loss :
// CHECK-NOT: @loss_
// CHECK: func.func private @loss(
// CHECK-NOT: func.func private
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %f0 = func.constant @loss : (tensor<3xf32>) -> tensor<f32>
  %f1 = func.constant @loss_1 : (tensor<3xf32>) -> tensor<f32>
  %f2 = func.constant @loss_2 : (tensor<3xf32>) -> tensor<f32>
  %g0 = "tfn.grad"(%f0) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>) -> tensor<3xf32>)
  %g1 = "tfn.grad"(%f1) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>) -> tensor<3xf32>)
  %g2 = "tfn.grad"(%f2) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>) -> tensor<3xf32>)
  %a = func.call_indirect %g0(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %b = func.call_indirect %g1(%a) : (tensor<3xf32>) -> tensor<3xf32>
  %c = func.call_indirect %g2(%b) : (tensor<3xf32>) -> tensor<3xf32>
  return %c : tensor<3xf32>
}
func.func private @loss(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "tfn.tanh"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func private @loss_1(%y: tensor<3xf32>) -> tensor<f32> {
  %0 = "tfn.tanh"(%y) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func private @loss_2(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "tfn.tanh"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Different bodies (tanh vs sin), different types, and public functions stay apart;
// merging two callees makes their callers identical, so those merge too.
// CHECK-LABEL: func.func @pub
// CHECK-LABEL: func.func @pub_1
// CHECK: call @outer(
// CHECK: call @outer(
// CHECK-LABEL: func.func private @a(
// CHECK: tfn.tanh
// CHECK-LABEL: func.func private @b(
// CHECK: tfn.sin
// CHECK-LABEL: func.func private @c(%{{.*}}: tensor<4xf32>)
// CHECK-LABEL: func.func private @outer(
// CHECK: call @a(
// CHECK-NOT: func.func private
func.func @pub(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.tanh"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func @pub_1(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = func.call @outer(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = func.call @outer_1(%0) : (tensor<3xf32>) -> tensor<3xf32>
  return %1 : tensor<3xf32>
}
func.func private @a(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.tanh"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func private @a_1(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.tanh"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func private @b(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func private @c(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "tfn.tanh"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func private @outer(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = func.call @a(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func private @outer_1(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = func.call @a_1(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
