// The bitwise ops lower to one linalg.generic each with arith's integer op; shifts by a
// negative amount or the bit width or more give numpy's values (0, or the sign for >>).
// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-lower-to-linalg)' | FileCheck %s
// RUN: %tfn-opt %s --tfn-lower-to-linalg | %mlir-opt -o /dev/null

// CHECK-LABEL: func.func @bitwise
func.func @bitwise(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  // CHECK: linalg.generic
  // CHECK: arith.andi %{{.*}}, %{{.*}} : i32
  %0 = "tfn.bitwise_and"(%a, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  // CHECK: arith.ori %{{.*}}, %{{.*}} : i32
  %1 = "tfn.bitwise_or"(%0, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  // CHECK: arith.xori %{{.*}}, %{{.*}} : i32
  %2 = "tfn.bitwise_xor"(%1, %a) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  // ~x is x xor -1
  // CHECK: %[[ONES:.*]] = arith.constant -1 : i32
  // CHECK: arith.xori %{{.*}}, %[[ONES]] : i32
  %3 = "tfn.bitwise_not"(%2) : (tensor<4xi32>) -> tensor<4xi32>
  // CHECK: %[[W:.*]] = arith.constant 32 : i32
  // CHECK: %[[OUT:.*]] = arith.cmpi uge, %[[S:.*]], %[[W]] : i32
  // CHECK: %[[SH:.*]] = arith.shli %{{.*}}, %[[S]] : i32
  // CHECK: arith.select %[[OUT]], %{{.*}}, %[[SH]] : i32
  %4 = "tfn.shift_left"(%3, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  // CHECK: arith.cmpi uge
  // CHECK: arith.constant 31 : i32
  // CHECK: arith.shrsi
  // CHECK: arith.shrsi
  // CHECK: arith.select
  %5 = "tfn.shift_right_arithmetic"(%4, %b) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %5 : tensor<4xi32>
}

// CHECK-LABEL: func.func @logical_on_bools
func.func @logical_on_bools(%a: tensor<3xi1>, %b: tensor<3xi1>) -> tensor<3xi1> {
  // CHECK: arith.andi %{{.*}}, %{{.*}} : i1
  %0 = "tfn.bitwise_and"(%a, %b) : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
  // CHECK: arith.xori %{{.*}}, %{{.*}} : i1
  %1 = "tfn.bitwise_not"(%0) : (tensor<3xi1>) -> tensor<3xi1>
  return %1 : tensor<3xi1>
}

