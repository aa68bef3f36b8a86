// Elementwise tfn ops lower to one linalg.generic each, with the scalar op of the element kind.
// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg)' | FileCheck %s
// The output is plain upstream IR: stock mlir-opt (no tfn dialect) verifies it.
// RUN: %tfn-opt %s --tfn-lower-to-linalg | %mlir-opt -o /dev/null

// CHECK: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>

// CHECK-LABEL: func.func @float_unary
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>)
func.func @float_unary(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3xf32>
  // CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[A]] : tensor<2x3xf32>) outs(%[[E]] : tensor<2x3xf32>)
  // CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
  // CHECK-NEXT: %[[X:.*]] = math.exp %[[IN]] : f32
  // CHECK-NEXT: linalg.yield %[[X]] : f32
  %0 = "tfn.exp"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: math.tanh
  %1 = "tfn.tanh"(%0) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: arith.negf
  %2 = "tfn.neg"(%1) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // logistic(x) = 1 / (1 + exp(-x))
  // CHECK: arith.negf
  // CHECK: math.exp
  // CHECK: arith.addf
  // CHECK: arith.divf
  %3 = "tfn.logistic"(%2) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // stop_gradient is the identity once transforms are done: no generic for it.
  // CHECK-NOT: linalg.generic
  // CHECK: return %{{.*}} : tensor<2x3xf32>
  %4 = "tfn.stop_gradient"(%3) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %4 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @float_binary
func.func @float_binary(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<2x3xf32>)
  // CHECK: ^bb0(%[[L:.*]]: f32, %[[R:.*]]: f32, %{{.*}}: f32):
  // CHECK-NEXT: arith.addf %[[L]], %[[R]] : f32
  %0 = "tfn.add"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: arith.mulf
  %1 = "tfn.mul"(%0, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: math.powf
  %2 = "tfn.pow"(%1, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: arith.maximumf
  %3 = "tfn.max"(%2, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %3 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @integer
func.func @integer(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  // CHECK: arith.divsi
  %0 = "tfn.div"(%a, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  // CHECK: arith.maxsi
  %1 = "tfn.max"(%0, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  // CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<4xi32>)
  %2 = "tfn.abs"(%1) : (tensor<4xi32>) -> tensor<4xi32>
  // CHECK-NOT: tfn.
  return %2 : tensor<4xi32>
}
