// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-batch)' | FileCheck %s

// Unary ops keep the batch dim where it is (here 1): no transpose.
// CHECK-LABEL: func.func private @u_vmap(%arg0: tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: "tfn.exp"(%arg0) : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: "tfn.tanh"
// CHECK-NOT: "tfn.transpose"
// CHECK: return
func.func private @u(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "tfn.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %1 = "tfn.tanh"(%0) : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}
func.func @unary(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %f = func.constant @u : (tensor<4xf32>) -> tensor<4xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 1>, out_dims = array<i64: 1>, batch_size = 8 : i64} : ((tensor<4xf32>) -> tensor<4xf32>) -> ((tensor<4x8xf32>) -> tensor<4x8xf32>)
  %r = func.call_indirect %v(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// A binary op with one unbatched operand: only that operand is broadcast; ops on
// unbatched values alone (the neg of %y) are cloned unchanged.
// CHECK-LABEL: func.func @binary
// CHECK: call @b_vmap
// CHECK-NOT: "tfn.vmap"
// CHECK-LABEL: func.func private @b_vmap(%arg0: tensor<8x4xf32>, %arg1: tensor<4xf32>) -> tensor<8x4xf32>
// CHECK-NEXT: %[[N:.*]] = "tfn.neg"(%arg1) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: %[[B:.*]] = "tfn.broadcast_in_dim"(%[[N]]) {broadcast_dimensions = array<i64: 1>} : (tensor<4xf32>) -> tensor<8x4xf32>
// CHECK-NEXT: "tfn.mul"(%arg0, %[[B]]) : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
func.func private @b(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "tfn.neg"(%y) : (tensor<4xf32>) -> tensor<4xf32>
  %1 = "tfn.mul"(%x, %0) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}
func.func @binary(%x: tensor<8x4xf32>, %y: tensor<4xf32>) -> tensor<8x4xf32> {
  %f = func.constant @b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, -1>, out_dims = array<i64: 0>, batch_size = 8 : i64} : ((tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>) -> ((tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32>)
  %r = func.call_indirect %v(%x, %y) : (tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// -----

// Operands batched at different dims meet at dim 0 (the transpose is emitted once);
// compare, select and convert are batched like any elementwise op.
// CHECK-LABEL: func.func private @s_vmap(%arg0: tensor<8x4xf32>, %arg1: tensor<4x8xf32>) -> tensor<8x4xf64>
// CHECK-NEXT: %[[T:.*]] = "tfn.transpose"(%arg1) {permutation = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
// CHECK-NEXT: %[[C:.*]] = "tfn.compare"(%arg0, %[[T]]) {direction = "lt"} : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xi1>
// CHECK-NEXT: %[[S:.*]] = "tfn.select"(%[[C]], %arg0, %[[T]]) : (tensor<8x4xi1>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK-NEXT: "tfn.convert"(%[[S]]) : (tensor<8x4xf32>) -> tensor<8x4xf64>
func.func private @s(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf64> {
  %0 = "tfn.compare"(%x, %y) {direction = "lt"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %1 = "tfn.select"(%0, %x, %y) : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = "tfn.convert"(%1) : (tensor<4xf32>) -> tensor<4xf64>
  return %2 : tensor<4xf64>
}
func.func @select(%x: tensor<8x4xf32>, %y: tensor<4x8xf32>) -> tensor<8x4xf64> {
  %f = func.constant @s : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf64>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, 1>, out_dims = array<i64: 0>, batch_size = 8 : i64} : ((tensor<4xf32>, tensor<4xf32>) -> tensor<4xf64>) -> ((tensor<8x4xf32>, tensor<4x8xf32>) -> tensor<8x4xf64>)
  %r = func.call_indirect %v(%x, %y) : (tensor<8x4xf32>, tensor<4x8xf32>) -> tensor<8x4xf64>
  return %r : tensor<8x4xf64>
}
