// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-gpu-device-memory,tfn-gpu-pool-allocations{entry=_tfn_entry})' | FileCheck %s

// Every device buffer is a view of one workspace argument at a 256-byte aligned offset;
// nothing is freed; the module says the workspace's size.
// CHECK: module attributes {tfn.workspace_bytes = 512 : i64}
// CHECK-LABEL: func.func @_tfn_entry(%arg0: memref<4xf32>, %arg1: memref<4xf32>, %arg2: memref<512xi8>)
// CHECK: %[[A:.*]] = memref.view %arg2[%c0][] : memref<512xi8> to memref<4xf32>
// CHECK: gpu.memcpy %[[A]], %arg0
// CHECK: %[[C:.*]] = memref.view %arg2[%c256][] : memref<512xi8> to memref<4xf32>
// CHECK-NOT: gpu.alloc
// CHECK-NOT: gpu.dealloc
// CHECK: return
memref.global "private" constant @c : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @_tfn_entry(%x: memref<4xf32>, %out: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %x, %a : memref<4xf32> to memref<4xf32>
  %c = memref.get_global @c : memref<4xf32>
  linalg.add ins(%a, %c : memref<4xf32>, memref<4xf32>) outs(%out : memref<4xf32>)
  memref.dealloc %a : memref<4xf32>
  return
}
