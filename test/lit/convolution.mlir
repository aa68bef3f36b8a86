// tfn.conv_general_dilated (lhs N C spatial..., rhs O I spatial..., result N O spatial...):
// its lowering (im2col + a matmul), its transpose rules and its batching rule.
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg)' | FileCheck %s --check-prefix=LOWER
// The lowered IR (derivatives and batched programs too) is plain upstream IR: stock mlir-opt verifies it.
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg)' | %mlir-opt --split-input-file -o /dev/null
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-autodiff)' | FileCheck %s --check-prefix=AD
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-batch)' | FileCheck %s --check-prefix=BATCH

// Padding (low 1/1, high 0/1) is one gather into a 9x10 tensor; the windows are copied into
// (groups, I, kh, kw, N, out_h, out_w) by one affine generic (stride 2 in h), output positions
// innermost; a matmul contracts the kernel with them as (O, I·k) x (I·k, N·out), and a last
// copy lays out (N, O, out_h, out_w).
// LOWER-DAG: #[[WINDOWS:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d1, d5 * 2 + d2, d3 + d6)>
// LOWER-DAG: #[[TO_NCHW:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2, d0, d3, d4)>
// LOWER-LABEL: func.func @conv
// LOWER: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3x9x10xf32>)
// LOWER: tensor.extract %arg0
// LOWER: linalg.generic {indexing_maps = [#[[WINDOWS]], {{.*}}]{{.*}} outs(%{{.*}} : tensor<1x3x3x3x2x4x8xf32>)
// LOWER: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x27xf32>, tensor<27x64xf32>)
// LOWER: linalg.generic {indexing_maps = [#[[TO_NCHW]], {{.*}}]{{.*}} outs(%{{.*}} : tensor<2x1x4x4x8xf32>)
// LOWER-NOT: tfn.
func.func @conv(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x4x8xf32> {
  %0 = "tfn.conv_general_dilated"(%x, %w) {window_strides = array<i64: 2, 1>, padding_low = array<i64: 1, 1>, padding_high = array<i64: 0, 1>, lhs_dilation = array<i64: 1, 1>, rhs_dilation = array<i64: 1, 1>, feature_group_count = 1 : i64, batch_group_count = 1 : i64} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x4x8xf32>
  return %0 : tensor<2x4x4x8xf32>
}

// -----

// Transposes (JAX's derivation): the weight cotangent convolves the input with the result's
// cotangent, batch and feature dims swapped and the window strides as rhs dilation; the
// input cotangent convolves the cotangent, dilated by the strides, with the kernel reversed
// in space (unit slices joined backwards) and its in/out features swapped.
// AD-LABEL: func.func private @f_vjp
// AD-SAME: (%[[X:.*]]: tensor<2x3x8x8xf64>, %[[W:.*]]: tensor<4x3x3x3xf64>, %[[CT:.*]]: tensor<2x4x3x3xf64>)
// AD: %[[XT:.*]] = "tfn.transpose"(%[[X]]) {permutation = array<i64: 1, 0, 2, 3>}
// AD: %[[CTT:.*]] = "tfn.transpose"(%[[CT]]) {permutation = array<i64: 1, 0, 2, 3>}
// AD: %[[GW:.*]] = "tfn.conv_general_dilated"(%[[XT]], %[[CTT]]) {{{.*}}padding_high = array<i64: -1, -1>, padding_low = array<i64: 0, 0>, rhs_dilation = array<i64: 2, 2>, window_strides = array<i64: 1, 1>} : (tensor<3x2x8x8xf64>, tensor<4x2x3x3xf64>) -> tensor<3x4x3x3xf64>
// AD: "tfn.transpose"(%[[GW]]) {permutation = array<i64: 1, 0, 2, 3>} : (tensor<3x4x3x3xf64>) -> tensor<4x3x3x3xf64>
// AD: "tfn.transpose"(%[[W]]) {permutation = array<i64: 1, 0, 2, 3>} : (tensor<4x3x3x3xf64>) -> tensor<3x4x3x3xf64>
// AD-COUNT-2: "tfn.concatenate"({{.*}}) {dimension = 2 : i64}
// AD-COUNT-2: "tfn.concatenate"({{.*}}) {dimension = 3 : i64}
// AD: "tfn.conv_general_dilated"(%[[CT]], %{{.*}}) {batch_group_count = 1 : i64, feature_group_count = 1 : i64, lhs_dilation = array<i64: 2, 2>, padding_high = array<i64: 3, 3>, padding_low = array<i64: 2, 2>, rhs_dilation = array<i64: 1, 1>, window_strides = array<i64: 1, 1>} : (tensor<2x4x3x3xf64>, tensor<3x4x3x3xf64>) -> tensor<2x3x8x8xf64>
func.func private @f(%x: tensor<2x3x8x8xf64>, %w: tensor<4x3x3x3xf64>) -> tensor<2x4x3x3xf64> {
  %0 = "tfn.conv_general_dilated"(%x, %w) {window_strides = array<i64: 2, 2>, padding_low = array<i64: 0, 0>, padding_high = array<i64: 0, 0>, lhs_dilation = array<i64: 1, 1>, rhs_dilation = array<i64: 1, 1>, feature_group_count = 1 : i64, batch_group_count = 1 : i64} : (tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>) -> tensor<2x4x3x3xf64>
  return %0 : tensor<2x4x3x3xf64>
}
func.func @main(%x: tensor<2x3x8x8xf64>, %w: tensor<4x3x3x3xf64>, %ct: tensor<2x4x3x3xf64>) -> (tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>) {
  %f = func.constant @f : (tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>) -> tensor<2x4x3x3xf64>
  %j = "tfn.vjp"(%f) {argnums = array<i64: 0, 1>, num_aux = 0 : i64} : ((tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>) -> tensor<2x4x3x3xf64>) -> ((tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>, tensor<2x4x3x3xf64>) -> (tensor<2x4x3x3xf64>, tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>))
  %r:3 = func.call_indirect %j(%x, %w, %ct) : (tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>, tensor<2x4x3x3xf64>) -> (tensor<2x4x3x3xf64>, tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>)
  return %r#1, %r#2 : tensor<2x3x8x8xf64>, tensor<4x3x3x3xf64>
}

// -----

// Batching never loops. Both operands batched (per-sample weights): the batch goes into the
// feature groups, lhs (1, 7·3, h, w) against rhs (7·4, 3, kh, kw) with 7 groups.
// BATCH-LABEL: func.func private @c_vmap(
// BATCH: %[[L:.*]] = "tfn.transpose"(%arg0) {permutation = array<i64: 1, 0, 2, 3, 4>}
// BATCH: %[[L2:.*]] = "tfn.reshape"(%[[L]]) : (tensor<1x7x3x8x8xf32>) -> tensor<1x21x8x8xf32>
// BATCH: %[[R:.*]] = "tfn.reshape"(%arg1) : (tensor<7x4x3x3x3xf32>) -> tensor<28x3x3x3xf32>
// BATCH: "tfn.conv_general_dilated"(%[[L2]], %[[R]]) {{{.*}}feature_group_count = 7 : i64{{.*}}} : (tensor<1x21x8x8xf32>, tensor<28x3x3x3xf32>) -> tensor<1x28x6x6xf32>
// BATCH-NOT: tfn.conv_general_dilated
// Only the input batched: the batch folds into N.
// BATCH-LABEL: func.func private @c_vmap_1(
// BATCH: %[[X:.*]] = "tfn.reshape"(%arg0) : (tensor<7x1x3x8x8xf32>) -> tensor<7x3x8x8xf32>
// BATCH: "tfn.conv_general_dilated"(%[[X]], %arg1) {{{.*}}feature_group_count = 1 : i64{{.*}}} : (tensor<7x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<7x4x6x6xf32>
func.func private @c(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = "tfn.conv_general_dilated"(%x, %w) {window_strides = array<i64: 1, 1>, padding_low = array<i64: 0, 0>, padding_high = array<i64: 0, 0>, lhs_dilation = array<i64: 1, 1>, rhs_dilation = array<i64: 1, 1>, feature_group_count = 1 : i64, batch_group_count = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}
func.func @both(%x: tensor<7x1x3x8x8xf32>, %w: tensor<7x4x3x3x3xf32>) -> tensor<7x1x4x6x6xf32> {
  %f = func.constant @c : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, 0>, out_dims = array<i64: 0>, batch_size = 7 : i64} : ((tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>) -> ((tensor<7x1x3x8x8xf32>, tensor<7x4x3x3x3xf32>) -> tensor<7x1x4x6x6xf32>)
  %r = func.call_indirect %v(%x, %w) : (tensor<7x1x3x8x8xf32>, tensor<7x4x3x3x3xf32>) -> tensor<7x1x4x6x6xf32>
  return %r : tensor<7x1x4x6x6xf32>
}
func.func @lhs(%x: tensor<7x1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<7x1x4x6x6xf32> {
  %f = func.constant @c : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, -1>, out_dims = array<i64: 0>, batch_size = 7 : i64} : ((tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>) -> ((tensor<7x1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<7x1x4x6x6xf32>)
  %r = func.call_indirect %v(%x, %w) : (tensor<7x1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<7x1x4x6x6xf32>
  return %r : tensor<7x1x4x6x6xf32>
}
