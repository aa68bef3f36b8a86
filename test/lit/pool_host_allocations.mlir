// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-pool-host-allocations{entry=_tfn_entry})' | FileCheck %s

// The three allocations become views of two noalias slots (%a is dead when %c is
// allocated, so they share slot 0), in a body function that the entry calls with views
// of one workspace argument; the module says the workspace's size.
// CHECK: module attributes {tfn.workspace_bytes = 256 : i64}
// CHECK-LABEL: func.func private @_tfn_entry_body(%arg0: memref<4x8xf32>, %arg1: memref<4x8xf32>, %arg2: memref<128xi8> {llvm.noalias}, %arg3: memref<128xi8> {llvm.noalias})
// CHECK-NOT: memref.alloc
// CHECK: %[[A:.*]] = memref.view %arg2[%[[ZERO:.*]]][] : memref<128xi8> to memref<4x8xf32>
// CHECK: memref.copy %arg0, %[[A]]
// CHECK: %[[B:.*]] = memref.view %arg3[%[[ZERO]]][] : memref<128xi8> to memref<4x8xf32>
// CHECK: memref.view %arg2[%[[ZERO]]][] : memref<128xi8> to memref<16xf32>
// CHECK-LABEL: func.func @_tfn_entry(%arg0: memref<4x8xf32>, %arg1: memref<4x8xf32>, %arg2: memref<256xi8>)
// CHECK: %[[S0:.*]] = memref.view %arg2[%{{.*}}][] : memref<256xi8> to memref<128xi8>
// CHECK: %[[S1:.*]] = memref.view %arg2[%{{.*}}][] : memref<256xi8> to memref<128xi8>
// CHECK: call @_tfn_entry_body(%arg0, %arg1, %[[S0]], %[[S1]])
func.func @_tfn_entry(%x: memref<4x8xf32>, %out: memref<4x8xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
  memref.copy %x, %a : memref<4x8xf32> to memref<4x8xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  %v = memref.collapse_shape %b [[0, 1]] : memref<4x8xf32> into memref<32xf32>
  %s = memref.subview %v[0] [16] [1] : memref<32xf32> to memref<16xf32, strided<[1]>>
  memref.copy %s, %c : memref<16xf32, strided<[1]>> to memref<16xf32>
  %e = memref.expand_shape %c [[0, 1]] output_shape [2, 8] : memref<16xf32> into memref<2x8xf32>
  %o = memref.subview %out[0, 0] [2, 8] [1, 1] : memref<4x8xf32> to memref<2x8xf32, strided<[8, 1]>>
  memref.copy %e, %o : memref<2x8xf32> to memref<2x8xf32, strided<[8, 1]>>
  return
}
