// RUN: %tfn-opt %s --tfn-gpu-host-reads | FileCheck %s

// A loop predicate computed on the device: the host reads a copy in a stack buffer,
// allocated once in the entry block, not once per step.
// CHECK-LABEL: func.func @predicate
// CHECK-NEXT: %[[HOST:.*]] = memref.alloca() : memref<i8>
// CHECK: scf.while
// CHECK: linalg.generic
// CHECK: gpu.memcpy %[[HOST]], %arg1 : memref<i8>, memref<i8>
// CHECK-NEXT: %[[P:.*]] = memref.load %[[HOST]][] : memref<i8>
// CHECK-NEXT: arith.trunci %[[P]]
func.func @predicate(%x: memref<f32>, %flag: memref<i8>) {
  scf.while : () -> () {
    linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []} ins(%x : memref<f32>) outs(%flag : memref<i8>) {
    ^bb0(%in: f32, %out: i8):
      %zero = arith.constant 0.0 : f32
      %gt = arith.cmpf ogt, %in, %zero : f32
      %byte = arith.extui %gt : i1 to i8
      linalg.yield %byte : i8
    }
    %p = memref.load %flag[] : memref<i8>
    %b = arith.trunci %p : i8 to i1
    scf.condition(%b)
  } do {
    scf.yield
  }
  return
}

// An element of a larger buffer (a switch index read from an array) is first copied into
// a 0-d buffer (a kernel, after tfn-lower-strided-copies): gpu.memcpy copies contiguous
// buffers only.
// CHECK-LABEL: func.func @element
// CHECK-NEXT: %[[HOST:.*]] = memref.alloca() : memref<i32>
// CHECK: %[[VIEW:.*]] = memref.subview %arg0[%c2] [1] [1] : memref<4xi32> to memref<i32, strided<[], offset: ?>>
// CHECK-NEXT: %[[ONE:.*]] = memref.alloc() : memref<i32>
// CHECK-NEXT: memref.copy %[[VIEW]], %[[ONE]]
// CHECK-NEXT: gpu.memcpy %[[HOST]], %[[ONE]] : memref<i32>, memref<i32>
// CHECK-NEXT: memref.load %[[HOST]][] : memref<i32>
func.func @element(%index: memref<4xi32>) -> i32 {
  %c2 = arith.constant 2 : index
  %i = memref.load %index[%c2] : memref<4xi32>
  return %i : i32
}

// A 0-d view at an offset (a row of a scan's xs) is copied as it is.
// CHECK-LABEL: func.func @row
// CHECK-NEXT: %[[HOST:.*]] = memref.alloca() : memref<i32>
// CHECK: %[[ROW:.*]] = memref.subview
// CHECK-NEXT: %[[ONE:.*]] = memref.alloc() : memref<i32>
// CHECK-NEXT: memref.copy %[[ROW]], %[[ONE]] : memref<i32, strided<[], offset: ?>> to memref<i32>
// CHECK-NEXT: gpu.memcpy %[[HOST]], %[[ONE]]
func.func @row(%xs: memref<4xi32>, %i: index) -> i32 {
  %row = memref.subview %xs[%i] [1] [1] : memref<4xi32> to memref<i32, strided<[], offset: ?>>
  %v = memref.load %row[] : memref<i32, strided<[], offset: ?>>
  return %v : i32
}

// Loads in linalg payloads and in scf.forall bodies run in kernels (a forall iteration is a
// thread), and loads of host buffers stay as they are.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: gpu.memcpy
// CHECK: return
func.func @untouched(%table: memref<4xf32>, %idx: memref<8xindex>, %out: memref<8xf32>) -> f32 {
  scf.forall (%i) in (4) {
    %v = memref.load %table[%i] : memref<4xf32>
    memref.store %v, %out[%i] : memref<8xf32>
  }
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%idx : memref<8xindex>) outs(%out : memref<8xf32>) {
  ^bb0(%i: index, %o: f32):
    %v = memref.load %table[%i] : memref<4xf32>
    linalg.yield %v : f32
  }
  %host = memref.alloca() : memref<f32>
  %h = memref.load %host[] : memref<f32>
  return %h : f32
}
