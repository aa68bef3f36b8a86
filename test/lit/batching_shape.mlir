// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-batch)' | FileCheck %s

// transpose takes the batch dim to the front in the same op; broadcast_in_dim gains a
// leading dim; the result is moved to out_dims = 3 at the end.
// CHECK-LABEL: func.func private @f_vmap(%arg0: tensor<2x5x3xf32>) -> tensor<3x2x4x5xf32>
// CHECK-NEXT: %[[T:.*]] = "tfn.transpose"(%arg0) {permutation = array<i64: 1, 2, 0>} : (tensor<2x5x3xf32>) -> tensor<5x3x2xf32>
// CHECK-NEXT: %[[B:.*]] = "tfn.broadcast_in_dim"(%[[T]]) {broadcast_dimensions = array<i64: 0, 1, 2>} : (tensor<5x3x2xf32>) -> tensor<5x3x2x4xf32>
// CHECK-NEXT: %[[R:.*]] = "tfn.transpose"(%[[B]]) {permutation = array<i64: 1, 2, 3, 0>} : (tensor<5x3x2x4xf32>) -> tensor<3x2x4x5xf32>
// CHECK-NEXT: return %[[R]]
func.func private @f(%x: tensor<2x3xf32>) -> tensor<3x2x4xf32> {
  %0 = "tfn.transpose"(%x) {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %1 = "tfn.broadcast_in_dim"(%0) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<3x2xf32>) -> tensor<3x2x4xf32>
  return %1 : tensor<3x2x4xf32>
}
func.func @transpose_broadcast(%x: tensor<2x5x3xf32>) -> tensor<3x2x4x5xf32> {
  %f = func.constant @f : (tensor<2x3xf32>) -> tensor<3x2x4xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 1>, out_dims = array<i64: 3>, batch_size = 5 : i64} : ((tensor<2x3xf32>) -> tensor<3x2x4xf32>) -> ((tensor<2x5x3xf32>) -> tensor<3x2x4x5xf32>)
  %r = func.call_indirect %v(%x) : (tensor<2x5x3xf32>) -> tensor<3x2x4x5xf32>
  return %r : tensor<3x2x4x5xf32>
}

// -----

// slice and pad gain a full-range dim for the batch; concatenate broadcasts its
// unbatched operand once (reused by the second concatenate); iota has no operands,
// so it stays unbatched and is broadcast only where it meets a batched value.
// CHECK-LABEL: func.func private @g_vmap(%arg0: tensor<3x6xf32>, %arg1: tensor<2xf32>, %arg2: tensor<f32>) -> tensor<3x2x5xf32>
// CHECK-NEXT: %[[S:.*]] = "tfn.slice"(%arg0) {limit_indices = array<i64: 3, 5>, start_indices = array<i64: 0, 1>, strides = array<i64: 1, 2>} : (tensor<3x6xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: %[[Y:.*]] = "tfn.broadcast_in_dim"(%arg1) {broadcast_dimensions = array<i64: 1>} : (tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: %[[C:.*]] = "tfn.concatenate"(%[[S]], %[[Y]]) {dimension = 1 : i64} : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x4xf32>
// CHECK-NEXT: %[[P:.*]] = "tfn.pad"(%[[C]], %arg2) {edge_padding_high = array<i64: 0, 0>, edge_padding_low = array<i64: 0, 1>, interior_padding = array<i64: 0, 1>} : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x8xf32>
// CHECK-NEXT: %[[I:.*]] = "tfn.iota"() {dimension = 0 : i64} : () -> tensor<8xf32>
// CHECK-NEXT: %[[IB:.*]] = "tfn.broadcast_in_dim"(%[[I]]) {broadcast_dimensions = array<i64: 1>} : (tensor<8xf32>) -> tensor<3x8xf32>
// CHECK-NEXT: %[[A:.*]] = "tfn.add"(%[[P]], %[[IB]])
// CHECK-NEXT: %[[S2:.*]] = "tfn.slice"(%[[A]])
// CHECK-NEXT: %[[C2:.*]] = "tfn.concatenate"(%[[S2]], %[[Y]]) {dimension = 1 : i64} : (tensor<3x8xf32>, tensor<3x2xf32>) -> tensor<3x10xf32>
// CHECK-NEXT: "tfn.reshape"(%[[C2]]) : (tensor<3x10xf32>) -> tensor<3x2x5xf32>
func.func private @g(%x: tensor<6xf32>, %y: tensor<2xf32>, %p: tensor<f32>) -> tensor<2x5xf32> {
  %0 = "tfn.slice"(%x) {start_indices = array<i64: 1>, limit_indices = array<i64: 5>, strides = array<i64: 2>} : (tensor<6xf32>) -> tensor<2xf32>
  %1 = "tfn.concatenate"(%0, %y) {dimension = 0 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
  %2 = "tfn.pad"(%1, %p) {edge_padding_low = array<i64: 1>, edge_padding_high = array<i64: 0>, interior_padding = array<i64: 1>} : (tensor<4xf32>, tensor<f32>) -> tensor<8xf32>
  %3 = "tfn.iota"() {dimension = 0 : i64} : () -> tensor<8xf32>
  %4 = "tfn.add"(%2, %3) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %5 = "tfn.slice"(%4) {start_indices = array<i64: 0>, limit_indices = array<i64: 8>, strides = array<i64: 1>} : (tensor<8xf32>) -> tensor<8xf32>
  %6 = "tfn.concatenate"(%5, %y) {dimension = 0 : i64} : (tensor<8xf32>, tensor<2xf32>) -> tensor<10xf32>
  %7 = "tfn.reshape"(%6) : (tensor<10xf32>) -> tensor<2x5xf32>
  return %7 : tensor<2x5xf32>
}
func.func @slice_concat_pad_reshape(%x: tensor<3x6xf32>, %y: tensor<2xf32>, %p: tensor<f32>) -> tensor<3x2x5xf32> {
  %f = func.constant @g : (tensor<6xf32>, tensor<2xf32>, tensor<f32>) -> tensor<2x5xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, -1, -1>, out_dims = array<i64: 0>, batch_size = 3 : i64} : ((tensor<6xf32>, tensor<2xf32>, tensor<f32>) -> tensor<2x5xf32>) -> ((tensor<3x6xf32>, tensor<2xf32>, tensor<f32>) -> tensor<3x2x5xf32>)
  %r = func.call_indirect %v(%x, %y, %p) : (tensor<3x6xf32>, tensor<2xf32>, tensor<f32>) -> tensor<3x2x5xf32>
  return %r : tensor<3x2x5xf32>
}

// -----

// A batched padding value: pad with zero, then select the value where a mask says "padding".
// CHECK-LABEL: func.func private @p_vmap(%arg0: tensor<4xf32>, %arg1: tensor<3xf32>) -> tensor<3x6xf32>
// CHECK: "tfn.pad"(%{{.*}}, %{{.*}}) {{.*}} : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x6xf32>
// CHECK: "tfn.pad"(%{{.*}}, %{{.*}}) {{.*}} : (tensor<4xi1>, tensor<i1>) -> tensor<6xi1>
// CHECK: "tfn.broadcast_in_dim"(%arg1) {broadcast_dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<3x6xf32>
// CHECK: "tfn.select"
func.func private @p(%x: tensor<4xf32>, %v: tensor<f32>) -> tensor<6xf32> {
  %0 = "tfn.pad"(%x, %v) {edge_padding_low = array<i64: 1>, edge_padding_high = array<i64: 1>, interior_padding = array<i64: 0>} : (tensor<4xf32>, tensor<f32>) -> tensor<6xf32>
  return %0 : tensor<6xf32>
}
func.func @pad_value(%x: tensor<4xf32>, %v: tensor<3xf32>) -> tensor<3x6xf32> {
  %f = func.constant @p : (tensor<4xf32>, tensor<f32>) -> tensor<6xf32>
  %g = "tfn.vmap"(%f) {in_dims = array<i64: -1, 0>, out_dims = array<i64: 0>, batch_size = 3 : i64} : ((tensor<4xf32>, tensor<f32>) -> tensor<6xf32>) -> ((tensor<4xf32>, tensor<3xf32>) -> tensor<3x6xf32>)
  %r = func.call_indirect %g(%x, %v) : (tensor<4xf32>, tensor<3xf32>) -> tensor<3x6xf32>
  return %r : tensor<3x6xf32>
}
