// Lowering edge cases: a dot_general without contracting dims is a plain product that never
// reads its init (elementwise fusion would otherwise re-accumulate it), bool contractions are
// an OR of ANDs, results with a zero-size dim read nothing, and an empty reduction is a no-op.
// RUN: %tfn-opt %s --tfn-lower-to-linalg | FileCheck %s
// RUN: %tfn-opt %s --tfn-lower-to-linalg | %mlir-opt -o /dev/null

// CHECK-LABEL: func.func @outer
func.func @outer(%a: tensor<3xf32>, %b: tensor<4xf32>) -> tensor<3x4xf32> {
  // CHECK: %[[INIT:.*]] = tensor.empty() : tensor<3x4xf32>
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<3xf32>, tensor<4xf32>) outs(%[[INIT]] : tensor<3x4xf32>)
  // CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
  // CHECK-NEXT: %[[P:.*]] = arith.mulf %[[X]], %[[Y]] : f32
  // CHECK-NEXT: linalg.yield %[[P]] : f32
  %d = "tfn.dot_general"(%a, %b) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64>, rhs_contracting_dimensions = array<i64>} : (tensor<3xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %d : tensor<3x4xf32>
}

// CHECK-LABEL: func.func @bool_matmul
func.func @bool_matmul(%a: tensor<2x3xi1>, %b: tensor<3x4xi1>) -> tensor<2x4xi1> {
  // CHECK: iterator_types = ["parallel", "parallel", "reduction"]
  // CHECK: %[[AND:.*]] = arith.andi %{{.*}}, %{{.*}} : i1
  // CHECK-NEXT: arith.ori %{{.*}}, %[[AND]] : i1
  %d = "tfn.dot_general"(%a, %b) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<2x3xi1>, tensor<3x4xi1>) -> tensor<2x4xi1>
  return %d : tensor<2x4xi1>
}

// CHECK-LABEL: func.func @empty_slice
func.func @empty_slice(%a: tensor<3x4x0xf32>) -> tensor<1x1x0xf32> {
  // CHECK-NEXT: %[[E:.*]] = tensor.empty() : tensor<1x1x0xf32>
  // CHECK-NEXT: return %[[E]]
  %s = "tfn.slice"(%a) {start_indices = array<i64: 1, 2, 0>, limit_indices = array<i64: 2, 3, 0>, strides = array<i64: 1, 1, 1>} : (tensor<3x4x0xf32>) -> tensor<1x1x0xf32>
  return %s : tensor<1x1x0xf32>
}

// CHECK-LABEL: func.func @concatenate_empty
func.func @concatenate_empty(%a: tensor<0x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NEXT: return %arg1
  %c = "tfn.concatenate"(%a, %b) {dimension = 0 : i64} : (tensor<0x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %c : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @reduce_no_dims
func.func @reduce_no_dims(%a: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK-NEXT: return %arg0
  %s = "tfn.reduce_sum"(%a) {dimensions = array<i64>} : (tensor<3xf32>) -> tensor<3xf32>
  return %s : tensor<3xf32>
}
