// --split-input-file processes each chunk on its own and joins the outputs with
// the same marker; locations keep the line numbers of the whole file.
// RUN: %tfn-opt %s --split-input-file --tfn-lower-to-linalg | FileCheck %s
// RUN: %tfn-opt %s --split-input-file --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC
// RUN: not %tfn-opt %s 2>&1 | FileCheck %s --check-prefix=WHOLE

// CHECK-LABEL: func.func @first
// CHECK: math.exp
// LOC-LABEL: func.func @first
// LOC: "tfn.exp"{{.*}} loc(#[[EXP:.*]])
// LOC: #[[EXP]] = loc("{{.*}}split_input_file.mlir":[[# @LINE + 2]]:8)
func.func @first(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "tfn.exp"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----
// CHECK: // -----
// CHECK-LABEL: func.func @second
// CHECK: math.sin
// The second chunk defines @first again: fine on its own, an error in one module.
// LOC: // -----
// LOC-LABEL: func.func @first
// LOC: "tfn.sin"{{.*}} loc(#[[SIN:.*]])
// LOC: #[[SIN]] = loc("{{.*}}split_input_file.mlir":[[# @LINE + 4]]:8)
// WHOLE: split_input_file.mlir:[[# @LINE + 2]]:1: error: redefinition of symbol named 'first'
// WHOLE: split_input_file.mlir:[[# @LINE - 15]]:1: note: see existing symbol definition here
func.func @first(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "tfn.sin"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
func.func @second(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "tfn.sin"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
