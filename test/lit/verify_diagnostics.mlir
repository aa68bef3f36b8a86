// --verify-diagnostics fails on a missing or an unexpected diagnostic, and says where.
// RUN: not %tfn-opt %s --split-input-file --verify-diagnostics 2>&1 | FileCheck %s

func.func @expected_but_absent(%a: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: verify_diagnostics.mlir:[[# @LINE + 1]]:6: error: expected error "no such message" was not produced
  // expected-error @+1 {{no such message}}
  %0 = "tfn.neg"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @produced_but_unexpected(%a: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: verify_diagnostics.mlir:[[# @LINE + 1]]:8: error: unexpected error: {{.*}}expects exactly 1 operands, but got 2
  %0 = "tfn.neg"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @wrong_line(%a: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: verify_diagnostics.mlir:[[# @LINE + 3]]:8: error: unexpected error: {{.*}}expects exactly 1 operands
  // CHECK: verify_diagnostics.mlir:[[# @LINE + 1]]:6: error: expected error "expects exactly 1 operands" was not produced
  // expected-error @+2 {{expects exactly 1 operands}}
  %0 = "tfn.neg"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @wrong_kind(%a: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: verify_diagnostics.mlir:[[# @LINE + 3]]:8: error: 'error' diagnostic emitted when expecting a 'warning': {{.*}}expects exactly 1 operands
  // CHECK: verify_diagnostics.mlir:[[# @LINE + 1]]:6: error: expected warning "expects exactly 1 operands" was not produced
  // expected-warning @below {{expects exactly 1 operands}}
  %0 = "tfn.neg"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Chunks whose expectations all hold add nothing to the report.
// CHECK-NOT: verify_diagnostics.mlir:[[# @LINE + 3]]
func.func @all_good(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error-re @below {{expects exactly {{[0-9]+}} operands, but got {{[0-9]+}}}}
  %0 = "tfn.neg"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
// CHECK-NOT: error
