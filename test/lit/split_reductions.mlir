// RUN: %tfn-opt %s --split-input-file --tfn-split-reductions | FileCheck %s

// A row reduction over 1024 contiguous elements: 32 partial results per row first.
// CHECK-LABEL: func.func @rows
// CHECK: %[[R:.*]] = "tfn.reshape"(%{{.*}}) : (tensor<256x1024xf32>) -> tensor<256x32x32xf32>
// CHECK: %[[P:.*]] = "tfn.reduce_max"(%[[R]]) {dimensions = array<i64: 1>} : (tensor<256x32x32xf32>) -> tensor<256x32xf32>
// CHECK: "tfn.reduce_max"(%[[P]]) {dimensions = array<i64: 1>} : (tensor<256x32xf32>) -> tensor<256xf32>
func.func @rows(%x: tensor<256x1024xf32>) -> tensor<256xf32> {
  %0 = "tfn.reduce_max"(%x) {dimensions = array<i64: 1>} : (tensor<256x1024xf32>) -> tensor<256xf32>
  return %0 : tensor<256xf32>
}

// -----

// Column reductions already give each thread a contiguous column: left alone,
// and so are short rows.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tfn.reshape
// CHECK: "tfn.reduce_sum"(%{{.*}}) {dimensions = array<i64: 0>} : (tensor<1024x1024xf32>) -> tensor<1024xf32>
// CHECK: "tfn.reduce_sum"(%{{.*}}) {dimensions = array<i64: 1>} : (tensor<8x64xf32>) -> tensor<8xf32>
func.func @left_alone(%x: tensor<1024x1024xf32>, %y: tensor<8x64xf32>) -> (tensor<1024xf32>, tensor<8xf32>) {
  %0 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 0>} : (tensor<1024x1024xf32>) -> tensor<1024xf32>
  %1 = "tfn.reduce_sum"(%y) {dimensions = array<i64: 1>} : (tensor<8x64xf32>) -> tensor<8xf32>
  return %0, %1 : tensor<1024xf32>, tensor<8xf32>
}
