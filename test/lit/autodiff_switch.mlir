// RUN: %tfn-opt %s --tfn-autodiff | FileCheck %s

// jvp of a switch: the primal switch, then a switch of the branches' JVPs on (index, x,
// tangent of x), whose tangent result is the output tangent.
// CHECK-LABEL: func.func private @f_jvp(%arg0: tensor<i32>, %arg1: tensor<3xf32>, %arg2: tensor<3xf32>)
// CHECK: %[[S:.*]] = "tfn.switch"
// CHECK: %[[Y:.*]] = call_indirect %[[S]](%arg0, %arg1)
// CHECK: %[[J0:.*]] = constant @b0_jvp
// CHECK: %[[J1:.*]] = constant @b1_jvp
// CHECK: %[[T:.*]] = "tfn.switch"(%[[J0]], %[[J1]])
// CHECK: %[[R:.*]]:2 = call_indirect %[[T]](%arg0, %arg1, %arg2)
// CHECK: return %[[Y]], %[[R]]#1

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
func.func @main(%i: tensor<i32>, %x: tensor<3xf32>, %t: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %f = func.constant @f : (tensor<i32>, tensor<3xf32>) -> tensor<3xf32>
  %j = "tfn.jvp"(%f) {argnums = array<i64: 1>, num_aux = 0 : i64} : ((tensor<i32>, tensor<3xf32>) -> tensor<3xf32>) -> ((tensor<i32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>))
  %r:2 = func.call_indirect %j(%i, %x, %t) : (tensor<i32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %r#0, %r#1 : tensor<3xf32>, tensor<3xf32>
}
