// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,tfn-entry-wrapper{callee=main},inline{default-pipeline=},symbol-dce,tfn-write-into-results)' | FileCheck %s

// The last op of each result (through a fill, for the sum) computes into the caller's
// buffer: its tensor.empty init becomes that buffer, seen as a writable tensor.
// CHECK-LABEL: func.func @_tfn_entry(%arg0: memref<4x8xf32>, %arg1: memref<4x8xf32>, %arg2: memref<4xf32>)
// CHECK-NOT: tensor.empty
// CHECK: %[[OUT0:.*]] = bufferization.to_tensor %arg1 restrict writable : memref<4x8xf32> to tensor<4x8xf32>
// CHECK: %[[EXP:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<4x8xf32>) outs(%[[OUT0]] : tensor<4x8xf32>)
// CHECK: %[[OUT1:.*]] = bufferization.to_tensor %arg2 restrict writable : memref<4xf32> to tensor<4xf32>
// CHECK: %[[FILL:.*]] = linalg.generic {{.*}} outs(%[[OUT1]] : tensor<4xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} outs(%[[FILL]] : tensor<4xf32>)
// CHECK: bufferization.materialize_in_destination %[[EXP]] in restrict writable %arg1
// CHECK: bufferization.materialize_in_destination %[[SUM]] in restrict writable %arg2
func.func @main(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %0 = "tfn.exp"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4xf32>
}
