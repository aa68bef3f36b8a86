// Shape ops lower to indexing maps of linalg.generic and to tensor reshapes and slices.
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-lower-to-linalg)' | FileCheck %s

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

// CHECK-LABEL: func.func @strided_slice
func.func @strided_slice(%a: tensor<2x3xf32>) -> tensor<2x1xf32> {
  // Columns 1, 3, ... of every row: the slice reads d1 * 2 + 1.
  // CHECK: {{tensor.extract_slice %.*\[0, 1\] \[2, 1\] \[1, 2\]|affine_map<\(d0, d1\) -> \(d0, d1 \* 2 \+ 1\)>}}
  %0 = "tfn.slice"(%a) {start_indices = array<i64: 0, 1>, limit_indices = array<i64: 2, 3>, strides = array<i64: 1, 2>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// CHECK-LABEL: func.func @concatenate
func.func @concatenate(%a: tensor<2x3xf32>, %b: tensor<1x3xf32>) -> tensor<3x3xf32> {
  // CHECK: %[[OUT:.*]] = tensor.empty() : tensor<3x3xf32>
  // CHECK: %[[FIRST:.*]] = tensor.insert_slice %{{.*}} into %[[OUT]][0, 0] [2, 3] [1, 1] : tensor<2x3xf32> into tensor<3x3xf32>
  // CHECK: tensor.insert_slice %{{.*}} into %[[FIRST]][2, 0] [1, 3] [1, 1] : tensor<1x3xf32> into tensor<3x3xf32>
  %0 = "tfn.concatenate"(%a, %b) {dimension = 0 : i64} : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

// CHECK-LABEL: func.func @pad
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[Z:.*]]: tensor<f32>)
func.func @pad(%a: tensor<2x3xf32>, %z: tensor<f32>) -> tensor<3x7xf32> {
  // The padded tensor is filled with the padding value, then the operand is
  // inserted at the low edge with stride interior + 1.
  // CHECK: %[[V:.*]] = tensor.extract %[[Z]][] : tensor<f32>
  // CHECK: %[[FILLED:.*]] = linalg.generic
  // CHECK: linalg.yield %[[V]] : f32
  // CHECK: tensor.insert_slice %{{.*}} into %[[FILLED]][1, 0] [2, 3] [1, 2] : tensor<2x3xf32> into tensor<3x7xf32>
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
