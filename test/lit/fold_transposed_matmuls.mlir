// RUN: %tfn-opt %s --tfn-fold-transposed-matmuls | FileCheck %s

// transpose(A @ B) is computed as B^T @ A^T: one matmul with the operands swapped and
// both transpose flags flipped in its maps, writing the [16, 32] result directly.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @f
// CHECK: %[[ZERO:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<16x32xf32>)
// CHECK: %[[T:.*]] = linalg.matmul indexing_maps = [#[[A]], #[[B]], #[[C]]] ins(%arg1, %arg0 : tensor<64x16xf32>, tensor<32x64xf32>) outs(%[[ZERO]] : tensor<16x32xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[T]]
func.func @f(%a: tensor<32x64xf32>, %b: tensor<64x16xf32>) -> tensor<16x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<32x16xf32>) -> tensor<32x16xf32>
  %c = linalg.matmul ins(%a, %b : tensor<32x64xf32>, tensor<64x16xf32>) outs(%f : tensor<32x16xf32>) -> tensor<32x16xf32>
  %e2 = tensor.empty() : tensor<16x32xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%c : tensor<32x16xf32>) outs(%e2 : tensor<16x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<16x32xf32>
  return %t : tensor<16x32xf32>
}
