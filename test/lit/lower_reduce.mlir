// Reductions lower to a linalg.generic with reduction iterators over `dimensions`,
// accumulating from the identity of the combiner.
// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg)' | FileCheck %s
// The output is plain upstream IR: stock mlir-opt (no tfn dialect) verifies it.
// RUN: %tfn-opt %s --tfn-lower-to-linalg | %mlir-opt -o /dev/null

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[COLS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ALL:.*]] = affine_map<(d0, d1) -> ()>

// CHECK-LABEL: func.func @reduce
func.func @reduce(%a: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<3xf32>, tensor<f32>, tensor<2xf32>) {
  // CHECK: arith.constant 0.000000e+00 : f32
  // CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROWS]]], iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<2x3xf32>) outs(%{{.*}} : tensor<2xf32>)
  // CHECK: ^bb0(%[[IN:.*]]: f32, %[[ACC:.*]]: f32):
  // CHECK-NEXT: arith.addf %[[ACC]], %[[IN]] : f32
  %0 = "tfn.reduce_sum"(%a) {dimensions = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
  // max starts from -inf.
  // CHECK: arith.constant 0xFF800000 : f32
  // CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[COLS]]], iterator_types = ["reduction", "parallel"]}
  // CHECK: arith.maximumf
  %1 = "tfn.reduce_max"(%a) {dimensions = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
  // min starts from +inf; reducing every dim gives a 0-d tensor.
  // CHECK: arith.constant 0x7F800000 : f32
  // CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ALL]]], iterator_types = ["reduction", "reduction"]} ins(%{{.*}} : tensor<2x3xf32>) outs(%{{.*}} : tensor<f32>)
  // CHECK: arith.minimumf
  %2 = "tfn.reduce_min"(%a) {dimensions = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<f32>
  // CHECK: arith.constant 1.000000e+00 : f32
  // CHECK: linalg.generic
  // CHECK: arith.mulf
  %3 = "tfn.reduce_prod"(%a) {dimensions = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0, %1, %2, %3 : tensor<2xf32>, tensor<3xf32>, tensor<f32>, tensor<2xf32>
}
