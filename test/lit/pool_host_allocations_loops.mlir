// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-pool-host-allocations{entry=_tfn_entry})' | FileCheck %s

// A temporary of a loop step is a view of a slot held for the whole loop (no malloc per
// step); a buffer the loop carries to its next step (%next, yielded) stays an allocation.
// CHECK-LABEL: func.func private @_tfn_entry_body
// CHECK: scf.for
// CHECK: %[[T:.*]] = memref.view %arg{{[0-9]+}}[%{{.*}}][] : memref<128xi8> to memref<4x8xf32>
// CHECK: memref.copy %{{.*}}, %[[T]]
// CHECK: %[[N:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// CHECK: scf.yield %[[N]]
func.func @_tfn_entry(%x: memref<4x8xf32>, %out: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %x) -> (memref<4x8xf32>) {
    %tmp = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
    memref.copy %acc, %tmp : memref<4x8xf32> to memref<4x8xf32>
    %next = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
    memref.copy %tmp, %next : memref<4x8xf32> to memref<4x8xf32>
    scf.yield %next : memref<4x8xf32>
  }
  memref.copy %r, %out : memref<4x8xf32> to memref<4x8xf32>
  return
}
