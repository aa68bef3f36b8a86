// RUN: %tfn-opt %s --tfn-autodiff | FileCheck %s

// grad through a scan: a forward scan records the carry of every step, then a reverse
// scan (reverse = 1) applies the transpose of the step's tangent function to the recorded
// carries; the step's primal is recomputed inside that transpose (cos of c * x).
// CHECK-LABEL: func.func private @f_grad
// CHECK: %[[REC:.*]] = constant @step_tangent_step_record
// CHECK: %[[FWD:.*]] = "tfn.scan"(%[[REC]]) {length = 4 : i64, num_carry = 1 : i64, num_consts = 0 : i64, reverse = 0 : i64}
// CHECK: %[[TAPE:.*]]:2 = call_indirect %[[FWD]](%arg0, %arg1)
// CHECK: %[[BACK:.*]] = constant @step_tangent_step_back
// CHECK: %[[REV:.*]] = "tfn.scan"(%[[BACK]]) {length = 4 : i64, num_carry = 1 : i64, num_consts = 0 : i64, reverse = 1 : i64}
// CHECK: call_indirect %[[REV]](%{{.*}}, %[[TAPE]]#1, %arg1,
// CHECK-LABEL: func.func private @step_tangent_step_record
// CHECK: return %{{.*}}, %arg0
// CHECK-LABEL: func.func private @step_tangent_step_transpose
// CHECK: "tfn.cos"

func.func private @step(%c: tensor<f32>, %x: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %0 = "tfn.mul"(%c, %x) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %1 = "tfn.sin"(%0) : (tensor<f32>) -> tensor<f32>
  return %1, %0 : tensor<f32>, tensor<f32>
}
func.func private @f(%c0: tensor<f32>, %xs: tensor<4xf32>) -> tensor<f32> {
  %b = func.constant @step : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  %s = "tfn.scan"(%b) {num_consts = 0 : i64, num_carry = 1 : i64, length = 4 : i64, reverse = 0 : i64} : ((tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)) -> ((tensor<f32>, tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>))
  %r:2 = func.call_indirect %s(%c0, %xs) : (tensor<f32>, tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>)
  return %r#0 : tensor<f32>
}
func.func @main(%c0: tensor<f32>, %xs: tensor<4xf32>) -> tensor<f32> {
  %f = func.constant @f : (tensor<f32>, tensor<4xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<f32>, tensor<4xf32>) -> tensor<f32>) -> ((tensor<f32>, tensor<4xf32>) -> tensor<f32>)
  %r = func.call_indirect %g(%c0, %xs) : (tensor<f32>, tensor<4xf32>) -> tensor<f32>
  return %r : tensor<f32>
}
