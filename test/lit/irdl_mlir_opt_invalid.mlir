// Stock mlir-opt applies the IRDL constraints of the dialect too.
// RUN: %mlir-opt --irdl-file=%dialect %s --split-input-file --verify-diagnostics -o /dev/null

func.func @bad_direction(%a: tensor<2xf32>) -> tensor<2xi1> {
  // expected-error @+1 {{does not satisfy the constraint}}
  %0 = "tfn.compare"(%a, %a) {direction = "bigger"} : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xi1>
  return %0 : tensor<2xi1>
}

// -----

func.func @missing_attribute(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{attribute "permutation" is expected but not provided}}
  %0 = "tfn.transpose"(%a) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
