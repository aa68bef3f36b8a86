// RUN: %tfn-opt %s --tfn-lower-to-linalg --split-input-file | FileCheck %s
// RUN: %tfn-opt %s --tfn-lower-to-linalg=target=cuda --split-input-file | FileCheck %s --check-prefix=CUDA

// A transcendental of a 16-bit float computes in f32 and rounds back once; arithmetic stays f16.
// CHECK-LABEL: func.func @exp_f16
// CHECK: linalg.generic
// CHECK: %[[W:.*]] = arith.extf %in : f16 to f32
// CHECK: %[[E:.*]] = math.exp %[[W]] : f32
// CHECK: arith.truncf %[[E]] : f32 to f16
// CHECK: linalg.generic
// CHECK: arith.addf %{{.*}}, %{{.*}} : f16
func.func @exp_f16(%x: tensor<4xf16>) -> tensor<4xf16> {
  %0 = "tfn.exp"(%x) : (tensor<4xf16>) -> tensor<4xf16>
  %1 = "tfn.add"(%0, %x) : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  return %1 : tensor<4xf16>
}

// -----

// A sum accumulates in f32; the result is rounded to f16 once.
// CHECK-LABEL: func.func @sum_f16
// CHECK: tensor.empty() : tensor<4xf32>
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<4x8xf16>) outs(%{{.*}} : tensor<4xf32>)
// CHECK: arith.extf %in : f16 to f32
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @sum_f16(%x: tensor<4x8xf16>) -> tensor<4xf16> {
  %0 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 1>} : (tensor<4x8xf16>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// A contraction extends its operands to f32, contracts there and rounds the result.
// CHECK-LABEL: func.func @dot_f16
// CHECK: arith.extf %in : f16 to f32
// CHECK: arith.extf %in : f16 to f32
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @dot_f16(%a: tensor<2x3xf16>, %b: tensor<3x4xf16>) -> tensor<2x4xf16> {
  %0 = "tfn.dot_general"(%a, %b) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<2x3xf16>, tensor<3x4xf16>) -> tensor<2x4xf16>
  return %0 : tensor<2x4xf16>
}

// -----

// bf16 on the CPU: every op in f32, extended and rounded to nearest even in integer code
// (vectorized, no subnormal flush); on CUDA, bf16 arithmetic is native.
// CHECK-LABEL: func.func @mul_bf16
// CHECK: arith.bitcast %in : bf16 to i16
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
// CUDA-LABEL: func.func @mul_bf16
// CUDA: arith.mulf %in, %in_0 : bf16
func.func @mul_bf16(%a: tensor<4xbf16>, %b: tensor<4xbf16>) -> tensor<4xbf16> {
  %0 = "tfn.mul"(%a, %b) : (tensor<4xbf16>, tensor<4xbf16>) -> tensor<4xbf16>
  return %0 : tensor<4xbf16>
}
