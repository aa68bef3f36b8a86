// A file that does not parse gives a located error and exit status 1, never a Python traceback.
// RUN: not %tfn-opt %s 2>&1 | FileCheck %s
// RUN: not %tfn-opt %s --tfn-lower-to-linalg -o %t.out 2>&1 | FileCheck %s
// RUN: not test -e %t.out

// CHECK-NOT: Traceback
// CHECK: malformed.mlir:[[# @LINE + 4]]:21: error: expected ':' followed by operation type
// CHECK-NEXT: {{^}}  %0 = "tfn.neg"(%a) -> tensor<2xf32>
// CHECK-NEXT: {{^}}                    ^
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "tfn.neg"(%a) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
// CHECK-NOT: Traceback
