// tfn-compile refuses a recursive entry point at the recursive call: tfn has no control
// flow, so the recursion would never end (and the inliner would leave it as a real call).
// RUN: not %PYTHON -m tfn.tools.compile %s --entry loop --name loop -o %t 2>&1 | FileCheck %s
// CHECK: aot_recursion.mlir:[[@LINE+6]]:8: error: 'loop' is recursive (@loop -> @helper -> @loop, closed at
func.func @loop(%x: tensor<f32>) -> tensor<f32> {
  %0 = func.call @helper(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @helper(%x: tensor<f32>) -> tensor<f32> {
  %0 = func.call @loop(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
