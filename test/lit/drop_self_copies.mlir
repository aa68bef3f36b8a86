// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,tfn-entry-wrapper{callee=main},inline{default-pipeline=},symbol-dce,tfn-write-into-results,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map})' | FileCheck %s --check-prefix=BEFORE
// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,tfn-entry-wrapper{callee=main},inline{default-pipeline=},symbol-dce,tfn-write-into-results,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},tfn-drop-self-copies)' | FileCheck %s

// Results computed in place leave copies of the output buffers onto themselves.
// BEFORE: memref.copy %arg1, %arg1 : memref<4x8xf32> to memref<4x8xf32>
// BEFORE: memref.copy %arg2, %arg2 : memref<4xf32> to memref<4xf32>
// CHECK-LABEL: func.func @_tfn_entry
// CHECK: outs(%arg1 : memref<4x8xf32>)
// CHECK-NOT: memref.copy
// CHECK: return
func.func @main(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %0 = "tfn.exp"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4xf32>
}
