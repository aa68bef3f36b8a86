// RUN: %tfn-opt %s --tfn-lower-strided-copies | FileCheck %s

// A copy out of a strided view becomes a linalg copy (plain loops later, not a call of
// memrefCopy in MLIR's runtime library); a copy between contiguous buffers stays.
// CHECK-LABEL: func.func @f
// CHECK: %[[S:.*]] = memref.subview %arg0[0, 2] [4, 4] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[S]] : memref<4x4xf32, strided<[8, 1], offset: 2>>) outs(%arg1 : memref<4x4xf32>)
// CHECK-NEXT: ^bb0(%in: f32, %out: f32):
// CHECK-NEXT: linalg.yield %in : f32
// CHECK: memref.copy %arg0, %arg2 : memref<4x8xf32> to memref<4x8xf32>
func.func @f(%a: memref<4x8xf32>, %b: memref<4x4xf32>, %c: memref<4x8xf32>) {
  %s = memref.subview %a[0, 2] [4, 4] [1, 1] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 1], offset: 2>>
  memref.copy %s, %b : memref<4x4xf32, strided<[8, 1], offset: 2>> to memref<4x4xf32>
  memref.copy %a, %c : memref<4x8xf32> to memref<4x8xf32>
  return
}
