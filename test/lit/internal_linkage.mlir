// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-internal-linkage{keep=_tfn_entry})' | FileCheck %s
// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-internal-linkage)' | FileCheck %s --check-prefix=NONE

// Every function defined here but `keep` gets internal linkage; declarations keep theirs.
// CHECK-LABEL: func.func private @expf(f32) -> f32
// CHECK-NOT: llvm.linkage
// CHECK-LABEL: func.func private @kernel
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK-LABEL: func.func @_tfn_entry
// CHECK-NOT: llvm.linkage
// CHECK: return

// NONE: func.func @_tfn_entry(%arg0: memref<4xf32>) attributes {llvm.linkage = #llvm.linkage<internal>}
func.func private @expf(f32) -> f32
func.func private @kernel(%a: memref<4xf32>) {
  return
}
func.func @_tfn_entry(%a: memref<4xf32>) {
  call @kernel(%a) : (memref<4xf32>) -> ()
  return
}
