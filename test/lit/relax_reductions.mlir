// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,tfn-relax-reductions)' | FileCheck %s

// The combiner of a float sum may be reassociated (so LLVM vectorizes it); elementwise
// ops and max reductions keep strict semantics.
// CHECK-LABEL: func.func @f
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf %out, %in fastmath<reassoc,contract> : f32
// CHECK: math.exp %in : f32
// CHECK-NOT: fastmath
// CHECK: arith.maximumf %out, %in : f32
func.func @f(%x: tensor<4x8xf32>, %y: tensor<4x8xf64>) -> (tensor<4xf32>, tensor<4x8xf32>, tensor<4x8xf64>, tensor<4xf32>) {
  %0 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  %1 = "tfn.exp"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = "tfn.exp"(%y) : (tensor<4x8xf64>) -> tensor<4x8xf64>
  %3 = "tfn.reduce_max"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  return %0, %1, %2, %3 : tensor<4xf32>, tensor<4x8xf32>, tensor<4x8xf64>, tensor<4xf32>
}
