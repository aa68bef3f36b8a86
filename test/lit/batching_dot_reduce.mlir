// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-batch)' | FileCheck %s

// Both operands batched: a new batching dimension pair (lhs dim 0, rhs dim 1), first
// in the result. No loop, no transpose.
// CHECK-LABEL: func.func private @mm_vmap(%arg0: tensor<7x2x3xf32>, %arg1: tensor<3x7x4xf32>) -> tensor<7x2x4xf32>
// CHECK-NEXT: "tfn.dot_general"(%arg0, %arg1) {lhs_batching_dimensions = array<i64: 0>, lhs_contracting_dimensions = array<i64: 2>, rhs_batching_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<7x2x3xf32>, tensor<3x7x4xf32>) -> tensor<7x2x4xf32>
// CHECK-NEXT: return

// Only rhs batched: its batch dim is a free dim; the unbatched lhs is not broadcast,
// and the result already has the batch at out_dims = 2.
// CHECK-LABEL: func.func private @mm2_vmap(%arg0: tensor<2x3xf32>, %arg1: tensor<3x4x7xf32>) -> tensor<2x4x7xf32>
// CHECK-NOT: "tfn.broadcast_in_dim"
// CHECK-NEXT: "tfn.dot_general"(%arg0, %arg1) {lhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_batching_dimensions = array<i64>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<2x3xf32>, tensor<3x4x7xf32>) -> tensor<2x4x7xf32>
// CHECK-NEXT: return

// Reductions shift their axes around the batch dim (2 here), which stays in place.
// CHECK-LABEL: func.func private @red_vmap(%arg0: tensor<2x3x5x4xf32>) -> tensor<5x3xf32>
// CHECK-NEXT: %[[R:.*]] = "tfn.reduce_max"(%arg0) {dimensions = array<i64: 0, 3>} : (tensor<2x3x5x4xf32>) -> tensor<3x5xf32>
// CHECK-NEXT: "tfn.transpose"(%[[R]]) {permutation = array<i64: 1, 0>} : (tensor<3x5xf32>) -> tensor<5x3xf32>
func.func private @mm(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = "tfn.dot_general"(%a, %b) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
func.func @both(%a: tensor<7x2x3xf32>, %b: tensor<3x7x4xf32>) -> tensor<7x2x4xf32> {
  %f = func.constant @mm : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, 1>, out_dims = array<i64: 0>, batch_size = 7 : i64} : ((tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>) -> ((tensor<7x2x3xf32>, tensor<3x7x4xf32>) -> tensor<7x2x4xf32>)
  %r = func.call_indirect %v(%a, %b) : (tensor<7x2x3xf32>, tensor<3x7x4xf32>) -> tensor<7x2x4xf32>
  return %r : tensor<7x2x4xf32>
}
func.func private @mm2(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = "tfn.dot_general"(%a, %b) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
func.func @rhs_only(%a: tensor<2x3xf32>, %b: tensor<3x4x7xf32>) -> tensor<2x4x7xf32> {
  %f = func.constant @mm2 : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: -1, 2>, out_dims = array<i64: 2>, batch_size = 7 : i64} : ((tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>) -> ((tensor<2x3xf32>, tensor<3x4x7xf32>) -> tensor<2x4x7xf32>)
  %r = func.call_indirect %v(%a, %b) : (tensor<2x3xf32>, tensor<3x4x7xf32>) -> tensor<2x4x7xf32>
  return %r : tensor<2x4x7xf32>
}
func.func private @red(%x: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %0 = "tfn.reduce_max"(%x) {dimensions = array<i64: 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func @reduce(%x: tensor<2x3x5x4xf32>) -> tensor<5x3xf32> {
  %f = func.constant @red : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 2>, out_dims = array<i64: 0>, batch_size = 5 : i64} : ((tensor<2x3x4xf32>) -> tensor<3xf32>) -> ((tensor<2x3x5x4xf32>) -> tensor<5x3xf32>)
  %r = func.call_indirect %v(%x) : (tensor<2x3x5x4xf32>) -> tensor<5x3xf32>
  return %r : tensor<5x3xf32>
}
