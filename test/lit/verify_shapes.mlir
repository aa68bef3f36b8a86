// RUN: %tfn-opt %s --split-input-file --verify-diagnostics --tfn-verify

func.func @wrong_result_shape(%a: tensor<2xf32>) {
  // expected-error@+1 {{tfn.neg: result type tensor<3xf32> does not match the inferred type tensor<2xf32>}}
  %0 = "tfn.neg"(%a) : (tensor<2xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @mismatched_operands(%a: tensor<2xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{tfn.add: operands must have one shape and dtype}}
  %0 = "tfn.add"(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @contraction_sizes(%a: tensor<3x4xf32>, %b: tensor<5x6xf32>) {
  // expected-error@+1 {{tfn.dot_general: dimensions do not match}}
  %0 = "tfn.dot_general"(%a, %b) {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<3x4xf32>, tensor<5x6xf32>) -> tensor<3x6xf32>
  return
}

// -----

func.func @bad_permutation(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{tfn.transpose: permutation (0, 0) does not fit rank 2}}
  %0 = "tfn.transpose"(%a) {permutation = array<i64: 0, 0>} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @good(%a: tensor<3x4xf32>) -> tensor<4xf32> {
  %0 = "tfn.reduce_sum"(%a) {dimensions = array<i64: 0>} : (tensor<3x4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @gather_float_indices(%a: tensor<5x4xf32>, %i: tensor<3x1xf32>) {
  // expected-error@+1 {{tfn.gather: indices must be integers of shape B... x k with k <= the operand's rank}}
  %0 = "tfn.gather"(%a, %i) : (tensor<5x4xf32>, tensor<3x1xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @scatter_updates_shape(%a: tensor<5x4xf32>, %i: tensor<3x1xi32>, %u: tensor<3x5xf32>) {
  // expected-error@+1 {{tfn.scatter: updates must have shape B... x R... = [3, 4] and the operand's dtype}}
  %0 = "tfn.scatter"(%a, %i, %u) {mode = "add"} : (tensor<5x4xf32>, tensor<3x1xi32>, tensor<3x5xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @bitwise_of_floats(%a: tensor<2xf32>) {
  // expected-error@+1 {{tfn.bitwise_and: needs integer or bool operands}}
  %0 = "tfn.bitwise_and"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @invert_of_floats(%a: tensor<2xf32>) {
  // expected-error@+1 {{tfn.bitwise_not: needs an integer or bool operand}}
  %0 = "tfn.bitwise_not"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return
}
