// RUN: %tfn-opt %s --tfn-expand-transforms --symbol-dce | FileCheck %s

// custom_vjp: the gradient calls fwd for the residuals and then bwd (through the adapter
// that transposes the tangent linear_call); f itself is never differentiated.
// CHECK-LABEL: func.func private @safe_grad
// CHECK: %[[SEED:.*]] = "tfn.constant"() {value = dense<1.000000e+00>
// CHECK: %[[FWD:.*]]:2 = call @fwd(%arg0)
// CHECK: call @bwd_transpose(%[[FWD]]#1, %[[SEED]])
// CHECK-NOT: tfn.log1p
// CHECK-LABEL: func.func private @bwd_transpose
// CHECK: call @bwd(%arg0, %arg1)
// CHECK-LABEL: func.func private @remat_grad
// CHECK: call @f_tangent_transpose(%arg0,
// checkpoint: only the input reaches the reverse pass, which recomputes exp(x) from it
// through an optimization barrier (so CSE does not merge the recomputation away).
// CHECK-LABEL: func.func private @f_tangent_transpose
// CHECK: %[[X:.*]] = "tfn.optimization_barrier"(%arg0)
// CHECK: "tfn.exp"(%[[X]])

func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  %0 = "tfn.exp"(%x) : (tensor<f32>) -> tensor<f32>
  %1 = "tfn.log1p"(%0) : (tensor<f32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func private @fwd(%x: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %0 = "tfn.exp"(%x) : (tensor<f32>) -> tensor<f32>
  %1 = "tfn.log1p"(%0) : (tensor<f32>) -> tensor<f32>
  return %1, %x : tensor<f32>, tensor<f32>
}
func.func private @bwd(%x: tensor<f32>, %g: tensor<f32>) -> tensor<f32> {
  %0 = "tfn.logistic"(%x) : (tensor<f32>) -> tensor<f32>
  %1 = "tfn.mul"(%g, %0) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func private @safe(%x: tensor<f32>) -> tensor<f32> {
  %f = func.constant @f : (tensor<f32>) -> tensor<f32>
  %a = func.constant @fwd : (tensor<f32>) -> (tensor<f32>, tensor<f32>)
  %b = func.constant @bwd : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %c = "tfn.custom_vjp"(%f, %a, %b) {num_res = 1 : i64} : ((tensor<f32>) -> tensor<f32>, (tensor<f32>) -> (tensor<f32>, tensor<f32>), (tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<f32>) -> tensor<f32>)
  %r = func.call_indirect %c(%x) : (tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}
func.func private @remat(%x: tensor<f32>) -> tensor<f32> {
  %f = func.constant @f : (tensor<f32>) -> tensor<f32>
  %c = "tfn.checkpoint"(%f) : ((tensor<f32>) -> tensor<f32>) -> ((tensor<f32>) -> tensor<f32>)
  %r = func.call_indirect %c(%x) : (tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}
func.func @main(%x: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %s = func.constant @safe : (tensor<f32>) -> tensor<f32>
  %gs = "tfn.grad"(%s) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<f32>) -> tensor<f32>) -> ((tensor<f32>) -> tensor<f32>)
  %r0 = func.call_indirect %gs(%x) : (tensor<f32>) -> tensor<f32>
  %m = func.constant @remat : (tensor<f32>) -> tensor<f32>
  %gm = "tfn.grad"(%m) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<f32>) -> tensor<f32>) -> ((tensor<f32>) -> tensor<f32>)
  %r1 = func.call_indirect %gm(%x) : (tensor<f32>) -> tensor<f32>
  return %r0, %r1 : tensor<f32>, tensor<f32>
}
