// RUN: %tfn-opt %s --tfn-accumulate-into-matmuls | FileCheck %s

// A loop summing a product per step (a gradient accumulated over a scan): acc + matmul(a, b)
// from a zero fill becomes the matmul accumulating into the carried acc (a gemm with
// beta = 1 once tfn-linalg-to-blas runs); the fill's buffer and the add are gone.
// CHECK-LABEL: func.func @sum_of_products
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %arg0)
// CHECK: %[[M:.*]] = linalg.batch_matmul ins(%arg1, %arg2 : tensor<4x8x1xf32>, tensor<4x1x16xf32>) outs(%[[ACC]] : tensor<4x8x16xf32>)
// CHECK-NOT: arith.addf
// CHECK: scf.yield %[[M]]
func.func @sum_of_products(%init: tensor<4x8x16xf32>, %a: tensor<4x8x1xf32>, %b: tensor<4x1x16xf32>) -> tensor<4x8x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%acc = %init) -> (tensor<4x8x16xf32>) {
    %p = linalg.batch_matmul ins(%a, %b : tensor<4x8x1xf32>, tensor<4x1x16xf32>) outs(%z : tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
    %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
        ins(%acc, %p : tensor<4x8x16xf32>, tensor<4x8x16xf32>) outs(%e : tensor<4x8x16xf32>) {
    ^bb0(%x: f32, %y: f32, %o: f32):
      %t = arith.addf %x, %y : f32
      linalg.yield %t : f32
    } -> tensor<4x8x16xf32>
    scf.yield %s : tensor<4x8x16xf32>
  }
  return %r : tensor<4x8x16xf32>
}

// Outside a loop the accumulator may be read again: the add stays.
// CHECK-LABEL: func.func @outside_a_loop
// CHECK: linalg.matmul
// CHECK: arith.addf
func.func @outside_a_loop(%acc: tensor<8x16xf32>, %a: tensor<8x4xf32>, %b: tensor<4x16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %p = linalg.matmul ins(%a, %b : tensor<8x4xf32>, tensor<4x16xf32>) outs(%z : tensor<8x16xf32>) -> tensor<8x16xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %p : tensor<8x16xf32>, tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %t = arith.addf %x, %y : f32
    linalg.yield %t : f32
  } -> tensor<8x16xf32>
  return %s : tensor<8x16xf32>
}
