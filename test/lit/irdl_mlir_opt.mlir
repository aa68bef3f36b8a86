// The dialect is plain IRDL: stock mlir-opt loads it, without Python, and
// round-trips tfn ops in generic form.
// RUN: %mlir-opt --irdl-file=%dialect %s | %mlir-opt --irdl-file=%dialect | FileCheck %s

// CHECK-LABEL: func.func @mlp
func.func @mlp(%x: tensor<4x3xf32>, %w: tensor<3x2xf32>) -> tensor<f32> {
  // CHECK: %[[H:.*]] = "tfn.dot_general"(%{{.*}}, %{{.*}}) {{{.*}}} : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %h = "tfn.dot_general"(%x, %w) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  // CHECK: %[[T:.*]] = "tfn.tanh"(%[[H]])
  %t = "tfn.tanh"(%h) : (tensor<4x2xf32>) -> tensor<4x2xf32>
  // CHECK: "tfn.reduce_sum"(%[[T]]) {dimensions = array<i64: 0, 1>}
  %s = "tfn.reduce_sum"(%t) {dimensions = array<i64: 0, 1>} : (tensor<4x2xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
