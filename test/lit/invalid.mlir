// The IRDL constraints of each op family reject malformed ops with a located error.
// RUN: %tfn-opt %s --split-input-file --verify-diagnostics

func.func @too_many_operands(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{expects exactly 1 operands, but got 2}}
  %0 = "tfn.neg"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @too_few_operands(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "tfn.add"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  // expected-error @above {{expects exactly 2 operands, but got 1}}
  return %0 : tensor<2xf32>
}

// -----

func.func @bad_compare_direction(%a: tensor<2xf32>) -> tensor<2xi1> {
  // expected-error @below {{'"bigger"' does not satisfy the constraint}}
  %0 = "tfn.compare"(%a, %a) {direction = "bigger"} : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xi1>
  return %0 : tensor<2xi1>
}

// -----

func.func @compare_direction_not_a_string(%a: tensor<2xf32>) -> tensor<2xi1> {
  %0 = "tfn.compare"(%a, %a) {direction = 2 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xi1> // expected-error {{'2 : i64' does not satisfy the constraint}}
  return %0 : tensor<2xi1>
}

// -----

func.func @wrong_attribute_kind(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{expected base attribute 'builtin.dense_array' but got 'builtin.integer'}}
  %0 = "tfn.transpose"(%a) {permutation = 1 : i64} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @missing_attribute(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{attribute "dimensions" is expected but not provided}}
  %0 = "tfn.reduce_sum"(%a) : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @constant_needs_dense_elements() -> tensor<2xf32> {
  // expected-error @+1 {{expected base attribute 'builtin.dense_int_or_fp_elements'}}
  %0 = "tfn.constant"() {value = 1.0 : f32} : () -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @result_not_a_tensor(%a: tensor<2xf32>) -> f32 {
  // expected-error @+1 {{expected base type 'builtin.tensor' but got 'builtin.f32'}}
  %0 = "tfn.exp"(%a) : (tensor<2xf32>) -> f32
  return %0 : f32
}

// -----

func.func @transform_of_a_tensor(%a: tensor<2xf32>) {
  // expected-error @+1 {{expected base type 'builtin.function' but got 'builtin.tensor'}}
  %0 = "tfn.vmap"(%a) {in_dims = array<i64: 0>, out_dims = array<i64: 0>, batch_size = 2 : i64} : (tensor<2xf32>) -> ((tensor<2x2xf32>) -> tensor<2xf32>)
  return
}

// -----

func.func @unknown_op(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error-re @+1 {{unregistered operation 'tfn.{{[a-z_]+}}' found in dialect ('tfn')}}
  %0 = "tfn.softplus"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @redefined_value(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-note @+1 {{previously defined here}}
  %0 = "tfn.neg"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  // expected-error @+1 {{redefinition of SSA value '%0'}}
  %0 = "tfn.neg"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @syntax_error(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{expected ')' to end operand list}}
  %0 = "tfn.neg"(%a : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
