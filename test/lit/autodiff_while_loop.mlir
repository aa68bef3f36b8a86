// RUN: %tfn-opt %s --tfn-autodiff | FileCheck %s

// jvp of a while loop: the primal loop, then a tangent loop whose consts gain the tangent of
// the differentiated const and whose carries are (primal carry, its tangent), the tangent
// starting at zero.
// CHECK-LABEL: func.func private @f_jvp
// CHECK: "tfn.while_loop"(%{{.*}}, %{{.*}}) {num_consts = 1 : i64}
// CHECK: %[[C:.*]] = constant @cond_tangent_cond
// CHECK: %[[B:.*]] = constant @body_tangent_step
// CHECK: %[[W:.*]] = "tfn.while_loop"(%[[C]], %[[B]]) {num_consts = 2 : i64}
// CHECK: call_indirect %[[W]](%arg0, %arg2, %arg1, %{{.*}})
// grad through the while loop (trip count known at run time): count the steps, record a
// checkpoint per stride into 256 + 1 slots, then step backwards through the body's
// transpose, each carry replayed from its checkpoint.
// CHECK-LABEL: func.func private @f_grad
// CHECK: constant @body_tangent_step_1_count_cond
// CHECK: "tfn.while_loop"
// CHECK: constant @body_tangent_step_1_record_cond
// CHECK-SAME: tensor<257xf32>
// CHECK: constant @body_tangent_step_1_back_cond
// CHECK: "tfn.while_loop"
// CHECK: constant @body_tangent_step_1_replay_cond

func.func private @cond(%a: tensor<f32>, %y: tensor<f32>) -> tensor<i1> {
  %0 = "tfn.compare"(%y, %a) {direction = "lt"} : (tensor<f32>, tensor<f32>) -> tensor<i1>
  return %0 : tensor<i1>
}
func.func private @body(%a: tensor<f32>, %y: tensor<f32>) -> tensor<f32> {
  %0 = "tfn.mul"(%y, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %1 = "tfn.add"(%0, %a) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func private @f(%a: tensor<f32>, %y: tensor<f32>) -> tensor<f32> {
  %c = func.constant @cond : (tensor<f32>, tensor<f32>) -> tensor<i1>
  %b = func.constant @body : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %w = "tfn.while_loop"(%c, %b) {num_consts = 1 : i64} : ((tensor<f32>, tensor<f32>) -> tensor<i1>, (tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<f32>, tensor<f32>) -> tensor<f32>)
  %r = func.call_indirect %w(%a, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}
func.func @main(%a: tensor<f32>, %y: tensor<f32>) -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %f = func.constant @f : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %j = "tfn.jvp"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64} : ((tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<f32>, tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>))
  %r:2 = func.call_indirect %j(%a, %y, %a) : (tensor<f32>, tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>)
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<f32>, tensor<f32>) -> tensor<f32>)
  %d = func.call_indirect %g(%a, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %r#0, %r#1, %d : tensor<f32>, tensor<f32>, tensor<f32>
}
