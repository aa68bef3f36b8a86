// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-autodiff)' | FileCheck %s

// jvp: (x, t) -> (f(x), f'(x) t); exp's tangent multiplies by the primal result.
// CHECK-LABEL: func.func private @f_jvp
// CHECK-SAME: (%[[X:.*]]: tensor<2xf64>, %[[T:.*]]: tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>)
// CHECK: %[[Y:.*]] = "tfn.exp"(%[[X]])
// CHECK: %[[DY:.*]] = "tfn.mul"(%[[T]], %[[Y]])
// CHECK: return %[[Y]], %[[DY]]
func.func private @f(%x: tensor<2xf64>) -> tensor<2xf64> {
  %0 = "tfn.exp"(%x) : (tensor<2xf64>) -> tensor<2xf64>
  return %0 : tensor<2xf64>
}
func.func @main(%x: tensor<2xf64>, %t: tensor<2xf64>) -> tensor<2xf64> {
  %f = func.constant @f : (tensor<2xf64>) -> tensor<2xf64>
  %j = "tfn.jvp"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64} : ((tensor<2xf64>) -> tensor<2xf64>) -> ((tensor<2xf64>, tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>))
  %r:2 = func.call_indirect %j(%x, %t) : (tensor<2xf64>, tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>)
  return %r#1 : tensor<2xf64>
}

// -----

// vjp: the forward pass runs once; the log's primal input is reused by the backward pass.
// CHECK-LABEL: func.func private @g_vjp
// CHECK-SAME: (%[[X:.*]]: tensor<2xf64>, %[[CT:.*]]: tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>)
// CHECK-COUNT-1: "tfn.log"
// CHECK: "tfn.div"({{.*}}, %[[X]])
// CHECK-NOT: "tfn.log"
func.func private @g(%x: tensor<2xf64>) -> tensor<2xf64> {
  %0 = "tfn.log"(%x) : (tensor<2xf64>) -> tensor<2xf64>
  return %0 : tensor<2xf64>
}
func.func @main(%x: tensor<2xf64>, %ct: tensor<2xf64>) -> tensor<2xf64> {
  %f = func.constant @g : (tensor<2xf64>) -> tensor<2xf64>
  %v = "tfn.vjp"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64} : ((tensor<2xf64>) -> tensor<2xf64>) -> ((tensor<2xf64>, tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>))
  %r:2 = func.call_indirect %v(%x, %ct) : (tensor<2xf64>, tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>)
  return %r#1 : tensor<2xf64>
}
