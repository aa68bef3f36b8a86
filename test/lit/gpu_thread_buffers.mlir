// RUN: %tfn-opt %s --tfn-gpu-thread-buffers | FileCheck %s

// A buffer that an iteration of a forall allocates (bufferization's private copy of a
// slice it writes) becomes that iteration's slice of one buffer allocated before the
// loop (16-byte slices: 8 iterations of 3 x i32 take 128 bytes), freed after it; the
// copy into it is a loop of loads and stores, not a host copy.
// CHECK-LABEL: func.func @lu_workspace
// CHECK: %[[ALL:.*]] = memref.alloc() : memref<128xi8>
// CHECK: scf.forall (%[[I:.*]]) in (8)
// CHECK: %[[AT:.*]] = arith.muli %[[I]], %{{.*}} : index
// CHECK: %[[MINE:.*]] = memref.view %[[ALL]][%[[AT]]][] : memref<128xi8> to memref<3xi32>
// CHECK: scf.for %[[K:.*]] =
// CHECK: %[[V:.*]] = memref.load %{{.*}}[%[[K]]] : memref<3xi32, strided<[1], offset: ?>>
// CHECK: memref.store %[[V]], %[[MINE]][%[[K]]] : memref<3xi32>
// CHECK: memref.store %{{.*}}, %[[MINE]][%{{.*}}] : memref<3xi32>
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.dealloc %[[MINE]]
// CHECK: } {mapping = [#gpu.thread<x>]}
// CHECK: memref.dealloc %[[ALL]] : memref<128xi8>
func.func @lu_workspace(%init: memref<8x3xi32>) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1 : i32
  scf.forall (%i) in (8) {
    %row = memref.subview %init[%i, 0] [1, 3] [1, 1] : memref<8x3xi32> to memref<3xi32, strided<[1], offset: ?>>
    %mine = memref.alloc() : memref<3xi32>
    memref.copy %row, %mine : memref<3xi32, strided<[1], offset: ?>> to memref<3xi32>
    memref.store %one, %mine[%c0] : memref<3xi32>
    memref.dealloc %mine : memref<3xi32>
  } {mapping = [#gpu.thread<x>]}
  return
}

// A forall that allocates nothing is left as it is.
// CHECK-LABEL: func.func @in_place
// CHECK-NOT: memref.alloc
// CHECK: memref.store
func.func @in_place(%out: memref<8x3xf32>) {
  %c0 = arith.constant 0 : index
  %x = arith.constant 1.0 : f32
  scf.forall (%i) in (8) {
    memref.store %x, %out[%i, %c0] : memref<8x3xf32>
  }
  return
}
