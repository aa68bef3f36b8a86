// Shape ops lower to linalg.generic indexing maps, tensor reshapes and slices.
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-lower-to-linalg)' | FileCheck %s
// The output is plain upstream IR: stock mlir-opt (no tfn dialect) verifies it.
// RUN: %tfn-opt %s --split-input-file --tfn-lower-to-linalg | %mlir-opt --split-input-file -o /dev/null

// CHECK: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @broadcast_in_dim
func.func @broadcast_in_dim(%v: tensor<3xf32>) -> tensor<2x3xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.*}} : tensor<3xf32>) outs(%{{.*}} : tensor<2x3xf32>)
  %0 = "tfn.broadcast_in_dim"(%v) {broadcast_dimensions = array<i64: 1>} : (tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @reshape
func.func @reshape(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<2x3xf32> into tensor<6xf32>
  // CHECK: tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [3, 2] : tensor<6xf32> into tensor<3x2xf32>
  %0 = "tfn.reshape"(%a) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// CHECK: #[[SWAP:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @transpose
func.func @transpose(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[SWAP]], #{{.*}}]{{.*}} ins(%{{.*}} : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>)
  %0 = "tfn.transpose"(%a) {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// The lowering of slice, concatenate and pad may index (tensor.extract_slice /
// insert_slice) or gather (linalg.generic with linalg.index); the checks follow
// the data: every operand is read, no tfn op is left, the result type holds.

// CHECK-LABEL: func.func @strided_slice
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>) -> tensor<2x1xf32>
func.func @strided_slice(%a: tensor<2x3xf32>) -> tensor<2x1xf32> {
  // CHECK-NOT: "tfn.
  // CHECK: %[[A]]
  // CHECK-NOT: "tfn.
  // CHECK: return %{{.*}} : tensor<2x1xf32>
  %0 = "tfn.slice"(%a) {start_indices = array<i64: 0, 1>, limit_indices = array<i64: 2, 3>, strides = array<i64: 1, 2>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// CHECK-LABEL: func.func @concatenate
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<1x3xf32>) -> tensor<3x3xf32>
func.func @concatenate(%a: tensor<2x3xf32>, %b: tensor<1x3xf32>) -> tensor<3x3xf32> {
  // CHECK-NOT: "tfn.
  // CHECK-DAG: %[[A]]
  // CHECK-DAG: %[[B]]
  // CHECK-DAG: tensor.empty() : tensor<3x3xf32>
  // CHECK: return %{{.*}} : tensor<3x3xf32>
  %0 = "tfn.concatenate"(%a, %b) {dimension = 0 : i64} : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

// CHECK-LABEL: func.func @pad
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[Z:.*]]: tensor<f32>) -> tensor<3x7xf32>
func.func @pad(%a: tensor<2x3xf32>, %z: tensor<f32>) -> tensor<3x7xf32> {
  // The padding value is read as a scalar.
  // CHECK-NOT: "tfn.
  // CHECK-DAG: tensor.extract %[[Z]][] : tensor<f32>
  // CHECK-DAG: %[[A]]
  // CHECK: return %{{.*}} : tensor<3x7xf32>
  %0 = "tfn.pad"(%a, %z) {edge_padding_low = array<i64: 1, 0>, edge_padding_high = array<i64: 0, 2>, interior_padding = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<3x7xf32>
  return %0 : tensor<3x7xf32>
}

// -----

// CHECK-LABEL: func.func @iota
func.func @iota() -> tensor<2x3xi32> {
  // CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xi32>)
  // CHECK: %[[I:.*]] = linalg.index 1 : index
  // CHECK: arith.index_cast %[[I]] : index to i64
  // CHECK: arith.trunci %{{.*}} : i64 to i32
  %0 = "tfn.iota"() {dimension = 1 : i64} : () -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}
