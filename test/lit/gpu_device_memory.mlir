// RUN: %tfn-opt %s --tfn-gpu-device-memory | FileCheck %s

// Allocations, frees and copies move to device memory; the constant is uploaded from
// its host global into a device buffer, freed before the return.
// CHECK-LABEL: func.func @_tfn_entry
// CHECK: %[[A:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: gpu.memcpy %[[A]], %arg0 : memref<4xf32>, memref<4xf32>
// CHECK: %[[HOST:.*]] = memref.get_global @c : memref<4xf32>
// CHECK: %[[C:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: gpu.memcpy %[[C]], %[[HOST]]
// CHECK: linalg.add ins(%[[A]], %[[C]] : memref<4xf32>, memref<4xf32>) outs(%arg1 : memref<4xf32>)
// CHECK: gpu.dealloc %[[A]]
// CHECK: gpu.dealloc %[[C]]
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
memref.global "private" constant @c : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @_tfn_entry(%x: memref<4xf32>, %out: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %x, %a : memref<4xf32> to memref<4xf32>
  %c = memref.get_global @c : memref<4xf32>
  linalg.add ins(%a, %c : memref<4xf32>, memref<4xf32>) outs(%out : memref<4xf32>)
  memref.dealloc %a : memref<4xf32>
  return
}
