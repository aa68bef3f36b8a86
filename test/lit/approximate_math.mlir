// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg,tfn-approximate-math)' | FileCheck %s

// f32 exp becomes arith code (range reduction by log2(e), a polynomial, an exponent built as bits) inside the generic;
// f64 keeps math.exp (libm); no scratch function is left behind.
// CHECK-LABEL: func.func @f
// CHECK: ins(%arg0 : tensor<4x8xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK-NOT: math.exp
// CHECK: arith.constant 1.44269502 : f32
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.mulf %{{.*}} fastmath<contract> : f32
// CHECK: ins(%arg1 : tensor<4x8xf64>)
// CHECK-NEXT: ^bb0(%in: f64, %out: f64):
// CHECK-NEXT: math.exp %in : f64
// CHECK-NOT: __tfn_math_template
func.func @f(%x: tensor<4x8xf32>, %y: tensor<4x8xf64>) -> (tensor<4xf32>, tensor<4x8xf32>, tensor<4x8xf64>, tensor<4xf32>) {
  %0 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  %1 = "tfn.exp"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = "tfn.exp"(%y) : (tensor<4x8xf64>) -> tensor<4x8xf64>
  %3 = "tfn.reduce_max"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
  return %0, %1, %2, %3 : tensor<4xf32>, tensor<4x8xf32>, tensor<4x8xf64>, tensor<4xf32>
}

// f32 erf becomes arith code (evaluated in f64: two polynomials and a select on |x| < 1);
// f64 erf keeps math.erf (libm).
// CHECK-LABEL: func.func @g
// CHECK: ins(%arg0 : tensor<16xf32>)
// CHECK-NOT: math.erf
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: arith.mulf %{{.*}} fastmath<contract> : f64
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: arith.select
// CHECK: ins(%arg1 : tensor<16xf64>)
// CHECK-NEXT: ^bb0(%in: f64, %out: f64):
// CHECK-NEXT: math.erf %in : f64
// CHECK-NOT: __tfn_math_template
func.func @g(%x: tensor<16xf32>, %y: tensor<16xf64>) -> (tensor<16xf32>, tensor<16xf64>) {
  %0 = "tfn.erf"(%x) : (tensor<16xf32>) -> tensor<16xf32>
  %1 = "tfn.erf"(%y) : (tensor<16xf64>) -> tensor<16xf64>
  return %0, %1 : tensor<16xf32>, tensor<16xf64>
}
