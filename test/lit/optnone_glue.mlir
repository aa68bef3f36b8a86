// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-optnone-glue{function=_tfn_entry_body})' | FileCheck %s

// A body of calls and views is compiled without optimization.
// CHECK-LABEL: func.func private @_tfn_entry_body
// CHECK-SAME: attributes {passthrough = ["noinline", "optnone"]}
// CHECK-LABEL: func.func private @__tfn_kernel_0
// CHECK-NOT: passthrough
func.func private @_tfn_entry_body(%a: memref<4xf32>) {
  call @__tfn_kernel_0(%a) : (memref<4xf32>) -> ()
  return
}
func.func private @__tfn_kernel_0(%a: memref<4xf32>) {
  return
}

// -----

// A loop nest left in the body keeps it optimized.
// CHECK-LABEL: func.func private @_tfn_entry_body
// CHECK-NOT: passthrough
// CHECK: linalg.fill
func.func private @_tfn_entry_body(%a: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%a : memref<4xf32>)
  return
}
