// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-autodiff)' | FileCheck %s

// Elementwise family: tanh's derivative reuses the primal tanh (1 - y*y), and the
// product rule of mul keeps only the term of the differentiated argument.
// CHECK-LABEL: func.func @main
// CHECK: call @f_grad
// CHECK-LABEL: func.func private @f_grad
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[W:.*]]: tensor<3xf32>) -> tensor<3xf32>
// CHECK: %[[XW:.*]] = "tfn.mul"(%[[X]], %[[W]])
// CHECK: %[[Y:.*]] = "tfn.tanh"(%[[XW]])
// CHECK: "tfn.mul"(%[[Y]], %[[Y]])
// CHECK: "tfn.sub"
// CHECK: %[[CT:.*]] = "tfn.mul"
// CHECK: %[[G:.*]] = "tfn.mul"(%[[CT]], %[[W]])
// CHECK: return %[[G]]
// CHECK-NOT: "tfn.grad"
func.func private @f(%x: tensor<3xf32>, %w: tensor<3xf32>) -> tensor<f32> {
  %0 = "tfn.mul"(%x, %w) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "tfn.tanh"(%0) : (tensor<3xf32>) -> tensor<3xf32>
  %2 = "tfn.reduce_sum"(%1) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
func.func @main(%x: tensor<3xf32>, %w: tensor<3xf32>) -> tensor<3xf32> {
  %f = func.constant @f : (tensor<3xf32>, tensor<3xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>, tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>)
  %r = func.call_indirect %g(%x, %w) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

// Contraction family: the gradient of sum(x @ w) with respect to w is a
// dot_general of x with the broadcast cotangent laid out as w: no transpose, no loop.
// CHECK-LABEL: func.func private @mm_grad
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>, %[[W:.*]]: tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[CT:.*]] = "tfn.broadcast_in_dim"
// CHECK: %[[G:.*]] = "tfn.dot_general"(%[[X]], %[[CT]]) {{.*}}lhs_contracting_dimensions = array<i64: 0>{{.*}}rhs_contracting_dimensions = array<i64: 0>{{.*}} -> tensor<3x2xf32>
// CHECK-NEXT: return %[[G]]
// CHECK-NOT: scf.
func.func private @mm(%x: tensor<4x3xf32>, %w: tensor<3x2xf32>) -> tensor<f32> {
  %0 = "tfn.dot_general"(%x, %w) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %1 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0, 1>} : (tensor<4x2xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func @main(%x: tensor<4x3xf32>, %w: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %f = func.constant @mm : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 1>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<f32>) -> ((tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>)
  %r = func.call_indirect %g(%x, %w) : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

// Shape family: the transpose of broadcast_in_dim is a sum over the new dim,
// of transpose the inverse permutation, of slice a pad with interior gaps.
// CHECK-LABEL: func.func private @shapes_grad
// CHECK-DAG: "tfn.reduce_sum"{{.*}}dimensions = array<i64: 0>{{.*}}(tensor<2x6xf32>) -> tensor<6xf32>
// CHECK-DAG: "tfn.pad"{{.*}}edge_padding_high = array<i64: 0>, edge_padding_low = array<i64: 1>, interior_padding = array<i64: 1>{{.*}}(tensor<3xf32>, tensor<f32>) -> tensor<6xf32>
func.func private @shapes(%x: tensor<6xf32>) -> tensor<f32> {
  %0 = "tfn.broadcast_in_dim"(%x) {broadcast_dimensions = array<i64: 1>} : (tensor<6xf32>) -> tensor<2x6xf32>
  %1 = "tfn.slice"(%x) {start_indices = array<i64: 1>, limit_indices = array<i64: 6>, strides = array<i64: 2>} : (tensor<6xf32>) -> tensor<3xf32>
  %2 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0, 1>} : (tensor<2x6xf32>) -> tensor<f32>
  %3 = "tfn.reduce_sum"(%1) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  %4 = "tfn.mul"(%2, %3) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %4 : tensor<f32>
}
func.func @main(%x: tensor<6xf32>) -> tensor<6xf32> {
  %f = func.constant @shapes : (tensor<6xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<6xf32>) -> tensor<f32>) -> ((tensor<6xf32>) -> tensor<6xf32>)
  %r = func.call_indirect %g(%x) : (tensor<6xf32>) -> tensor<6xf32>
  return %r : tensor<6xf32>
}

// -----

// Reduction and control families: reduce_max's derivative picks the maximum
// (ties share it), relu-like max(x, 0) routes the cotangent through a select.
// CHECK-LABEL: func.func private @rm_grad
// CHECK: %[[M:.*]] = "tfn.reduce_max"
// CHECK: %[[B:.*]] = "tfn.broadcast_in_dim"(%[[M]])
// CHECK: %[[AT:.*]] = "tfn.compare"(%{{.*}}, %[[B]]) {direction = "eq"}
// CHECK: "tfn.convert"(%[[AT]])
// CHECK: "tfn.select"
func.func private @rm(%x: tensor<2x3xf32>) -> tensor<f32> {
  %z = "tfn.constant"() {value = dense<0.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %r = "tfn.max"(%x, %z) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = "tfn.reduce_max"(%r) {dimensions = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
  %1 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %f = func.constant @rm : (tensor<2x3xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<2x3xf32>) -> tensor<f32>) -> ((tensor<2x3xf32>) -> tensor<2x3xf32>)
  %r = func.call_indirect %g(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}
