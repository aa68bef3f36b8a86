// tfn.constant lowers to arith.constant with the same dense value.
// RUN: %tfn-opt %s --tfn-lower-to-linalg | FileCheck %s
// The output is plain upstream IR: stock mlir-opt (no tfn dialect) verifies it.
// RUN: %tfn-opt %s --tfn-lower-to-linalg | %mlir-opt -o /dev/null

// CHECK-LABEL: func.func @constant
func.func @constant() -> (tensor<2x2xf32>, tensor<3xi32>) {
  // CHECK: %[[F:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
  %0 = "tfn.constant"() {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  // CHECK: %[[I:.*]] = arith.constant dense<7> : tensor<3xi32>
  %1 = "tfn.constant"() {value = dense<7> : tensor<3xi32>} : () -> tensor<3xi32>
  // CHECK: return %[[F]], %[[I]] : tensor<2x2xf32>, tensor<3xi32>
  return %0, %1 : tensor<2x2xf32>, tensor<3xi32>
}
