// RUN: %tfn-opt %s --split-input-file --verify-diagnostics --tfn-verify

// The shape and dtype rules that IRDL cannot state (more: verify_shapes.mlir).
func.func @wrong_result_shape(%a: tensor<2xf32>) {
  // expected-error@+1 {{tfn.neg: result type tensor<3xf32> does not match the inferred type tensor<2xf32>}}
  %0 = "tfn.neg"(%a) : (tensor<2xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @right(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "tfn.neg"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
