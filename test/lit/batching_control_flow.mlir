// RUN: %tfn-opt %s --tfn-batch | FileCheck %s

// vmap of a while loop whose predicate depends on a batched const: the loop runs while any
// lane runs (a max over the lanes of the batched predicate), and each step keeps the carry
// of the lanes already done (a select on the batched predicate).
// CHECK-LABEL: func.func private @f_vmap(%arg0: tensor<3xf32>, %arg1: tensor<f32>) -> tensor<3xf32>
// CHECK: %[[Y:.*]] = "tfn.broadcast_in_dim"(%arg1)
// CHECK: %[[C:.*]] = constant @cond_any_lane
// CHECK: %[[B:.*]] = constant @body_masked_body
// CHECK: %[[W:.*]] = "tfn.while_loop"(%[[C]], %[[B]]) {num_consts = 1 : i64}
// CHECK: call_indirect %[[W]](%arg0, %[[Y]])
// CHECK-LABEL: func.func private @cond_any_lane
// CHECK: "tfn.reduce_max"
// CHECK: "tfn.compare"
// CHECK-LABEL: func.func private @body_masked_body
// CHECK: %[[LIVE:.*]] = call @cond_vmap(%arg0, %arg1)
// CHECK: %[[NEW:.*]] = call @body_vmap(%arg0, %arg1)
// CHECK: %[[WIDE:.*]] = "tfn.broadcast_in_dim"(%[[LIVE]])
// CHECK: "tfn.select"(%[[WIDE]], %[[NEW]], %arg1)

func.func private @cond(%a: tensor<f32>, %y: tensor<f32>) -> tensor<i1> {
  %0 = "tfn.compare"(%y, %a) {direction = "lt"} : (tensor<f32>, tensor<f32>) -> tensor<i1>
  return %0 : tensor<i1>
}
func.func private @body(%a: tensor<f32>, %y: tensor<f32>) -> tensor<f32> {
  %0 = "tfn.add"(%y, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @f(%a: tensor<f32>, %y: tensor<f32>) -> tensor<f32> {
  %c = func.constant @cond : (tensor<f32>, tensor<f32>) -> tensor<i1>
  %b = func.constant @body : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %w = "tfn.while_loop"(%c, %b) {num_consts = 1 : i64} : ((tensor<f32>, tensor<f32>) -> tensor<i1>, (tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<f32>, tensor<f32>) -> tensor<f32>)
  %r = func.call_indirect %w(%a, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}
func.func @main(%a: tensor<3xf32>, %y: tensor<f32>) -> tensor<3xf32> {
  %f = func.constant @f : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, -1>, out_dims = array<i64: 0>, batch_size = 3 : i64} : ((tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<3xf32>, tensor<f32>) -> tensor<3xf32>)
  %r = func.call_indirect %v(%a, %y) : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}
