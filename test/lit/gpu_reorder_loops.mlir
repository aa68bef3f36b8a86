// RUN: %tfn-opt %s --tfn-gpu-reorder-loops | FileCheck %s

// Thread x (the first loop dim) must walk the contiguous dim: an elementwise op on a
// 4x8 buffer gets its loops swapped, the innermost memory dim first. A full reduction to a 0-d result gains a unit parallel dim so that it is a kernel too.
// CHECK-DAG: #[[T:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @f
// CHECK: linalg.generic {indexing_maps = [#[[T]], #[[T]]], iterator_types = ["parallel", "parallel"]} ins(%arg0 : memref<4x8xf32>) outs(%arg1 : memref<4x8xf32>)
// CHECK: %[[ONE:.*]] = memref.expand_shape %arg2 [] output_shape [1] : memref<f32> into memref<1xf32>
// CHECK: iterator_types = ["parallel", "reduction", "reduction"]} ins(%arg0 : memref<4x8xf32>) outs(%[[ONE]] : memref<1xf32>)
func.func @f(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %s: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a : memref<4x8xf32>) outs(%b : memref<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.negf %in : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]} ins(%a : memref<4x8xf32>) outs(%s : memref<f32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %out, %in : f32
    linalg.yield %0 : f32
  }
  return
}

// A 0-d output at an offset (a row of a scan's ys) keeps its offset when viewed as one element.
// CHECK-LABEL: func.func @row
// CHECK: memref.expand_shape %{{.*}} [] output_shape [1] : memref<f32, strided<[], offset: ?>> into memref<1xf32, strided<[1], offset: ?>>
func.func @row(%a: memref<f32>, %ys: memref<3xf32>, %i: index) {
  %row = memref.subview %ys[%i] [1] [1] : memref<3xf32> to memref<f32, strided<[], offset: ?>>
  linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []} ins(%a : memref<f32>) outs(%row : memref<f32, strided<[], offset: ?>>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}
