// RUN: %tfn-opt %s --tfn-batch | FileCheck %s

// vmap of a switch whose index is batched: every branch runs batched, the index is clamped
// to [0, n-1], and each lane keeps its branch's result (a select per lane).
// CHECK-LABEL: func.func private @f_vmap(%arg0: tensor<4xi32>, %arg1: tensor<4x3xf32>)
// CHECK: %[[Y0:.*]] = call @b0_vmap(%arg1)
// CHECK: %[[Y1:.*]] = call @b1_vmap(%arg1)
// CHECK: %[[LO:.*]] = "tfn.min"(%arg0,
// CHECK: %[[K:.*]] = "tfn.max"(%[[LO]],
// CHECK: %[[IS0:.*]] = "tfn.compare"(%[[K]], %{{.*}}) {direction = "eq"}
// CHECK: %[[WIDE:.*]] = "tfn.broadcast_in_dim"(%[[IS0]])
// CHECK: "tfn.select"(%[[WIDE]], %[[Y0]], %[[Y1]])

func.func private @b0(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func private @b1(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "tfn.mul"(%x, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func private @f(%i: tensor<i32>, %x: tensor<3xf32>) -> tensor<3xf32> {
  %f0 = func.constant @b0 : (tensor<3xf32>) -> tensor<3xf32>
  %f1 = func.constant @b1 : (tensor<3xf32>) -> tensor<3xf32>
  %s = "tfn.switch"(%f0, %f1) : ((tensor<3xf32>) -> tensor<3xf32>, (tensor<3xf32>) -> tensor<3xf32>) -> ((tensor<i32>, tensor<3xf32>) -> tensor<3xf32>)
  %r = func.call_indirect %s(%i, %x) : (tensor<i32>, tensor<3xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}
func.func @main(%i: tensor<4xi32>, %x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %f = func.constant @f : (tensor<i32>, tensor<3xf32>) -> tensor<3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, 0>, out_dims = array<i64: 0>, batch_size = 4 : i64} : ((tensor<i32>, tensor<3xf32>) -> tensor<3xf32>) -> ((tensor<4xi32>, tensor<4x3xf32>) -> tensor<4x3xf32>)
  %r = func.call_indirect %v(%i, %x) : (tensor<4xi32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
