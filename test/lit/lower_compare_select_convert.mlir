// compare, select and convert lower to linalg.generic over arith compares,
// selects and casts (numpy astype semantics: floats truncate toward zero).
// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg)' | FileCheck %s
// The output is plain upstream IR: stock mlir-opt (no tfn dialect) verifies it.
// RUN: %tfn-opt %s --tfn-lower-to-linalg | %mlir-opt -o /dev/null

// CHECK-LABEL: func.func @compare_select_convert
func.func @compare_select_convert(%a: tensor<4xf32>, %b: tensor<4xf32>, %i: tensor<4xi32>) -> (tensor<4xi32>, tensor<4xf32>) {
  // CHECK: linalg.generic
  // CHECK: arith.cmpf olt, %{{.*}}, %{{.*}} : f32
  %p = "tfn.compare"(%a, %b) {direction = "lt"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // Integers compare signed.
  // CHECK: linalg.generic
  // CHECK: arith.cmpi sge, %{{.*}}, %{{.*}} : i32
  %q = "tfn.compare"(%i, %i) {direction = "ge"} : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
  // CHECK: linalg.generic
  // CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
  %s = "tfn.select"(%p, %a, %b) : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // CHECK: linalg.generic
  // CHECK: arith.fptosi %{{.*}} : f32 to i32
  %c = "tfn.convert"(%s) : (tensor<4xf32>) -> tensor<4xi32>
  // Booleans convert as unsigned 0/1.
  // CHECK: linalg.generic
  // CHECK: arith.uitofp %{{.*}} : i1 to f64
  %d = "tfn.convert"(%q) : (tensor<4xi1>) -> tensor<4xf64>
  // CHECK: linalg.generic
  // CHECK: arith.truncf %{{.*}} : f64 to f32
  %e = "tfn.convert"(%d) : (tensor<4xf64>) -> tensor<4xf32>
  // CHECK-NOT: "tfn.
  return %c, %e : tensor<4xi32>, tensor<4xf32>
}
