// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},buffer-deallocation-pipeline,linalg-generalize-named-ops,tfn-gpu-reorder-loops,tfn-gpu-device-memory,tfn-gpu-pool-allocations)' | FileCheck %s

// A row sum then a full sum. The row sum's loops are reordered so that the
// contiguous dim comes first (thread x); the full sum gains a unit parallel dim (it
// runs as a kernel); every buffer becomes a view of one workspace argument, and the
// constant is uploaded from its host global.
// CHECK: #[[SWAPPED:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @f
// CHECK-SAME: %[[WS:arg[0-9]+]]: memref<{{[0-9]+}}xi8>
// CHECK-NOT: memref.alloc
// CHECK: memref.get_global
// CHECK: memref.view %[[WS]]
// CHECK: gpu.memcpy
// CHECK: linalg.generic {indexing_maps = [#[[SWAPPED]], #[[SWAPPED]], #[[SWAPPED]]], iterator_types = ["parallel", "parallel"]}
// CHECK-NOT: gpu.dealloc
// CHECK: iterator_types = ["parallel", "reduction", "reduction"]
// CHECK: return
func.func @f(%a: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<f32>) {
  %c = "tfn.constant"() {value = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>} : () -> tensor<8xf32>
  %b = "tfn.broadcast_in_dim"(%c) {broadcast_dimensions = array<i64: 1>} : (tensor<8xf32>) -> tensor<4x8xf32>
  %m = "tfn.mul"(%a, %b) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %0 = "tfn.reduce_sum"(%m) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  %1 = "tfn.reduce_sum"(%a) {dimensions = array<i64: 0, 1>} : (tensor<4x8xf32>) -> tensor<f32>
  return %0, %1 : tensor<4xf32>, tensor<f32>
}
