// dynamic_slice and dynamic_update_slice: parsing and verification, lowering (the starts read,
// cast to index and clamped into the operand, then tensor.extract_slice / insert_slice at those
// offsets), their rules (the transpose of a dynamic_slice writes the cotangent into zeros; vmap
// with shared starts slices the whole batch dim, with batched starts it gathers windows).
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-verify)' | FileCheck %s --check-prefix=VERIFY
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg)' | FileCheck %s --check-prefix=LOWER
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg)' | %mlir-opt --split-input-file -o /dev/null
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-autodiff)' | FileCheck %s --check-prefix=AD
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-batch)' | FileCheck %s --check-prefix=BATCH

// A dim the window spans entirely can only start at 0: no read of its start.
// VERIFY-LABEL: func.func @dynamic_slice
// VERIFY: "tfn.dynamic_slice"(%{{.*}}, %{{.*}}) {slice_sizes = array<i64: 2, 4>} : (tensor<5x4xf32>, tensor<2xi32>) -> tensor<2x4xf32>
// LOWER-LABEL: func.func @dynamic_slice
// LOWER-SAME: (%[[X:.*]]: tensor<5x4xf32>, %[[S:.*]]: tensor<2xi32>)
// LOWER: %[[E:.*]] = tensor.extract %[[S]][%{{.*}}] : tensor<2xi32>
// LOWER: %[[I:.*]] = arith.index_cast %[[E]] : i32 to index
// LOWER: %[[LO:.*]] = arith.maxsi %[[I]], %{{.*}} : index
// LOWER: %[[C3:.*]] = arith.constant 3 : index
// LOWER: %[[AT:.*]] = arith.minsi %[[LO]], %[[C3]] : index
// LOWER-NOT: tensor.extract %
// LOWER: tensor.extract_slice %[[X]][%[[AT]], %{{.*}}] [2, 4] [1, 1] : tensor<5x4xf32> to tensor<2x4xf32>
// LOWER-NOT: "tfn.
func.func @dynamic_slice(%x: tensor<5x4xf32>, %s: tensor<2xi32>) -> tensor<2x4xf32> {
  %0 = "tfn.dynamic_slice"(%x, %s) {slice_sizes = array<i64: 2, 4>} : (tensor<5x4xf32>, tensor<2xi32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// VERIFY-LABEL: func.func @dynamic_update_slice
// VERIFY: "tfn.dynamic_update_slice"
// LOWER-LABEL: func.func @dynamic_update_slice
// LOWER-SAME: (%[[X:.*]]: tensor<5x4xf32>, %[[U:.*]]: tensor<2x3xf32>, %[[S:.*]]: tensor<2xi64>)
// LOWER: arith.index_cast %{{.*}} : i64 to index
// LOWER: %[[A0:.*]] = arith.minsi
// LOWER: arith.index_cast %{{.*}} : i64 to index
// LOWER: %[[A1:.*]] = arith.minsi
// LOWER: tensor.insert_slice %[[U]] into %[[X]][%[[A0]], %[[A1]]] [2, 3] [1, 1] : tensor<2x3xf32> into tensor<5x4xf32>
// LOWER-NOT: "tfn.

func.func @dynamic_update_slice(%x: tensor<5x4xf32>, %u: tensor<2x3xf32>, %s: tensor<2xi64>) -> tensor<5x4xf32> {
  %0 = "tfn.dynamic_update_slice"(%x, %u, %s) : (tensor<5x4xf32>, tensor<2x3xf32>, tensor<2xi64>) -> tensor<5x4xf32>
  return %0 : tensor<5x4xf32>
}

// -----

// The transpose of a dynamic_slice writes the cotangent into zeros at the same starts.
// AD-LABEL: func.func private @g_vjp
// AD-SAME: (%[[X:.*]]: tensor<5x4xf64>, %[[S:.*]]: tensor<2xi32>, %[[CT:.*]]: tensor<2x3xf64>)
// AD: %[[Y:.*]] = "tfn.dynamic_slice"(%[[X]], %[[S]]) {slice_sizes = array<i64: 2, 3>}
// AD: %[[Z:.*]] = "tfn.constant"() {value = dense<0.000000e+00> : tensor<5x4xf64>}
// AD: %[[G:.*]] = "tfn.dynamic_update_slice"(%[[Z]], %[[CT]], %[[S]])
// AD: return %[[Y]], %[[G]]

func.func private @g(%x: tensor<5x4xf64>, %s: tensor<2xi32>) -> tensor<2x3xf64> {
  %0 = "tfn.dynamic_slice"(%x, %s) {slice_sizes = array<i64: 2, 3>} : (tensor<5x4xf64>, tensor<2xi32>) -> tensor<2x3xf64>
  return %0 : tensor<2x3xf64>
}
func.func @vjp_dynamic_slice(%x: tensor<5x4xf64>, %s: tensor<2xi32>, %ct: tensor<2x3xf64>) -> tensor<5x4xf64> {
  %f = func.constant @g : (tensor<5x4xf64>, tensor<2xi32>) -> tensor<2x3xf64>
  %v = "tfn.vjp"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64} : ((tensor<5x4xf64>, tensor<2xi32>) -> tensor<2x3xf64>) -> ((tensor<5x4xf64>, tensor<2xi32>, tensor<2x3xf64>) -> (tensor<2x3xf64>, tensor<5x4xf64>))
  %r:2 = func.call_indirect %v(%x, %s, %ct) : (tensor<5x4xf64>, tensor<2xi32>, tensor<2x3xf64>) -> (tensor<2x3xf64>, tensor<5x4xf64>)
  return %r#1 : tensor<5x4xf64>
}

// -----

// A batched operand with shared starts: a 0 for the batch dim, the window spans the batch.
// BATCH-LABEL: func.func private @h_vmap(
// BATCH-SAME: %[[X:.*]]: tensor<7x5x4xf32>, %[[S:.*]]: tensor<2xi32>) -> tensor<7x2x3xf32>
// BATCH-NEXT: %[[Z:.*]] = "tfn.constant"() {value = dense<0> : tensor<1xi32>}
// BATCH-NEXT: %[[S3:.*]] = "tfn.concatenate"(%[[Z]], %[[S]]) {dimension = 0 : i64}
// BATCH-NEXT: "tfn.dynamic_slice"(%[[X]], %[[S3]]) {slice_sizes = array<i64: 7, 2, 3>} : (tensor<7x5x4xf32>, tensor<3xi32>) -> tensor<7x2x3xf32>
// Batched starts: clamped, plus an iota over the window, index a gather (no loop).
// BATCH-LABEL: func.func private @h_vmap_1(
// BATCH: "tfn.max"
// BATCH: "tfn.min"
// BATCH: "tfn.iota"() {dimension = 1 : i64} : () -> tensor<7x2x3x1xi32>
// BATCH: "tfn.iota"() {dimension = 2 : i64} : () -> tensor<7x2x3x1xi32>
// BATCH: %[[IDX:.*]] = "tfn.add"
// BATCH-NEXT: "tfn.gather"(%{{.*}}, %[[IDX]]) : (tensor<5x4xf32>, tensor<7x2x3x2xi32>) -> tensor<7x2x3xf32>

func.func private @h(%x: tensor<5x4xf32>, %s: tensor<2xi32>) -> tensor<2x3xf32> {
  %0 = "tfn.dynamic_slice"(%x, %s) {slice_sizes = array<i64: 2, 3>} : (tensor<5x4xf32>, tensor<2xi32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
func.func @vmap_operand(%x: tensor<7x5x4xf32>, %s: tensor<2xi32>) -> tensor<7x2x3xf32> {
  %f = func.constant @h : (tensor<5x4xf32>, tensor<2xi32>) -> tensor<2x3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, -1>, out_dims = array<i64: 0>, batch_size = 7 : i64} : ((tensor<5x4xf32>, tensor<2xi32>) -> tensor<2x3xf32>) -> ((tensor<7x5x4xf32>, tensor<2xi32>) -> tensor<7x2x3xf32>)
  %r = func.call_indirect %v(%x, %s) : (tensor<7x5x4xf32>, tensor<2xi32>) -> tensor<7x2x3xf32>
  return %r : tensor<7x2x3xf32>
}
func.func @vmap_starts(%x: tensor<5x4xf32>, %s: tensor<7x2xi32>) -> tensor<7x2x3xf32> {
  %f = func.constant @h : (tensor<5x4xf32>, tensor<2xi32>) -> tensor<2x3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: -1, 0>, out_dims = array<i64: 0>, batch_size = 7 : i64} : ((tensor<5x4xf32>, tensor<2xi32>) -> tensor<2x3xf32>) -> ((tensor<5x4xf32>, tensor<7x2xi32>) -> tensor<7x2x3xf32>)
  %r = func.call_indirect %v(%x, %s) : (tensor<5x4xf32>, tensor<7x2xi32>) -> tensor<7x2x3xf32>
  return %r : tensor<7x2x3xf32>
}
