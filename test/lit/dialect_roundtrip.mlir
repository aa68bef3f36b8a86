// Every tfn op parses, verifies and prints in generic form; the printed form
// parses again to the same text (printed twice through tfn-opt).
// RUN: %tfn-opt %s | %tfn-opt | FileCheck %s
// RUN: %tfn-opt %s --mlir-print-op-generic | %tfn-opt | FileCheck %s

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: "tfn.neg"(%{{.*}}) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = "tfn.neg"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.exp"
  %1 = "tfn.exp"(%0) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.log"
  %2 = "tfn.log"(%1) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.log1p"
  %3 = "tfn.log1p"(%2) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.expm1"
  %4 = "tfn.expm1"(%3) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.sin"
  %5 = "tfn.sin"(%4) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.cos"
  %6 = "tfn.cos"(%5) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.tanh"
  %7 = "tfn.tanh"(%6) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.logistic"
  %8 = "tfn.logistic"(%7) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.sqrt"
  %9 = "tfn.sqrt"(%8) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.rsqrt"
  %10 = "tfn.rsqrt"(%9) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.abs"
  %11 = "tfn.abs"(%10) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.sign"
  %12 = "tfn.sign"(%11) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.stop_gradient"
  %13 = "tfn.stop_gradient"(%12) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.add"(%{{.*}}, %{{.*}}) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %14 = "tfn.add"(%13, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.sub"
  %15 = "tfn.sub"(%14, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.mul"
  %16 = "tfn.mul"(%15, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.div"
  %17 = "tfn.div"(%16, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.pow"
  %18 = "tfn.pow"(%17, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.max"
  %19 = "tfn.max"(%18, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.min"
  %20 = "tfn.min"(%19, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %20 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @compare_select_convert
func.func @compare_select_convert(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xi32> {
  // CHECK: "tfn.compare"(%{{.*}}, %{{.*}}) {direction = "lt"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %p = "tfn.compare"(%a, %b) {direction = "lt"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // CHECK: "tfn.select"
  %s = "tfn.select"(%p, %a, %b) : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // CHECK: "tfn.convert"(%{{.*}}) : (tensor<4xf32>) -> tensor<4xi32>
  %c = "tfn.convert"(%s) : (tensor<4xf32>) -> tensor<4xi32>
  return %c : tensor<4xi32>
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%a: tensor<2x3xf32>, %z: tensor<f32>) -> tensor<3x2xf32> {
  // CHECK: "tfn.broadcast_in_dim"(%{{.*}}) {broadcast_dimensions = array<i64: 1, 2>}
  %0 = "tfn.broadcast_in_dim"(%a) {broadcast_dimensions = array<i64: 1, 2>} : (tensor<2x3xf32>) -> tensor<4x2x3xf32>
  // CHECK: "tfn.reshape"(%{{.*}}) : (tensor<4x2x3xf32>) -> tensor<8x3xf32>
  %1 = "tfn.reshape"(%0) : (tensor<4x2x3xf32>) -> tensor<8x3xf32>
  // CHECK: "tfn.slice"(%{{.*}}) {limit_indices = array<i64: 6, 3>, start_indices = array<i64: 0, 0>, strides = array<i64: 3, 1>}
  %2 = "tfn.slice"(%1) {start_indices = array<i64: 0, 0>, limit_indices = array<i64: 6, 3>, strides = array<i64: 3, 1>} : (tensor<8x3xf32>) -> tensor<2x3xf32>
  // CHECK: "tfn.concatenate"(%{{.*}}, %{{.*}}) {dimension = 0 : i64}
  %3 = "tfn.concatenate"(%2, %a) {dimension = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  // CHECK: "tfn.pad"(%{{.*}}, %{{.*}}) {edge_padding_high = array<i64: 0, 1>, edge_padding_low = array<i64: 0, 0>, interior_padding = array<i64: 0, 0>}
  %4 = "tfn.pad"(%2, %z) {edge_padding_low = array<i64: 0, 0>, edge_padding_high = array<i64: 0, 1>, interior_padding = array<i64: 0, 0>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x4xf32>
  // CHECK: "tfn.transpose"(%{{.*}}) {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %5 = "tfn.transpose"(%a) {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %5 : tensor<3x2xf32>
}

// CHECK-LABEL: func.func @constants_contraction_reductions
func.func @constants_contraction_reductions(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<f32> {
  // CHECK: "tfn.constant"() {value = dense<1.000000e+00> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %c = "tfn.constant"() {value = dense<1.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  // CHECK: "tfn.iota"() {dimension = 1 : i64} : () -> tensor<2x3xi32>
  %i = "tfn.iota"() {dimension = 1 : i64} : () -> tensor<2x3xi32>
  // CHECK: "tfn.dot_general"(%{{.*}}, %{{.*}}) {lhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_batching_dimensions = array<i64>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %d = "tfn.dot_general"(%a, %b) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  // CHECK: "tfn.reduce_max"(%{{.*}}) {dimensions = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2xf32>
  %m = "tfn.reduce_max"(%d) {dimensions = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2xf32>
  // CHECK: "tfn.reduce_min"
  %n = "tfn.reduce_min"(%d) {dimensions = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2xf32>
  // CHECK: "tfn.reduce_prod"
  %p = "tfn.reduce_prod"(%n) {dimensions = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  // CHECK: "tfn.reduce_sum"(%{{.*}}) {dimensions = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  %s = "tfn.reduce_sum"(%m) {dimensions = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  return %s : tensor<f32>
}

// CHECK-LABEL: func.func @loss
func.func @loss(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "tfn.reduce_sum"(%x) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @transforms
func.func @transforms() {
  // CHECK: %[[F:.*]] = constant @loss : (tensor<3xf32>) -> tensor<f32>
  %f = func.constant @loss : (tensor<3xf32>) -> tensor<f32>
  // CHECK: "tfn.grad"(%[[F]]) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>) -> tensor<3xf32>)
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>) -> tensor<3xf32>)
  // CHECK: "tfn.vjp"(%[[F]]) {argnums = array<i64: 0>, num_aux = 0 : i64}
  %v = "tfn.vjp"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>))
  // CHECK: "tfn.jvp"(%[[F]]) {argnums = array<i64: 0>, num_aux = 0 : i64}
  %j = "tfn.jvp"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>, tensor<3xf32>) -> (tensor<f32>, tensor<f32>))
  // CHECK: "tfn.vmap"(%[[F]]) {batch_size = 8 : i64, in_dims = array<i64: 0>, out_dims = array<i64: 0>}
  %b = "tfn.vmap"(%f) {in_dims = array<i64: 0>, out_dims = array<i64: 0>, batch_size = 8 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<8x3xf32>) -> tensor<8xf32>)
  return
}
