// RUN: rm -rf %t && %PYTHON -m tfn.tools.compile %s --entry main --name sq_grad --cpu generic --emit header,llvm,mlir -o %t
// RUN: FileCheck %s --check-prefix=HEADER < %t/sq_grad.h
// RUN: FileCheck %s --check-prefix=LLVM < %t/sq_grad.ll
// RUN: FileCheck %s --check-prefix=TFN < %t/sq_grad.tfn.mlir
// RUN: not %PYTHON -m tfn.tools.compile %s --entry main --name sq_grad --cpu nope 2>&1 | FileCheck %s --check-prefix=CPU
// RUN: not %PYTHON -m tfn.tools.compile %s --entry main 2>&1 | FileCheck %s --check-prefix=NAME

// The header declares the plain C function with its shapes.
// HEADER: #define SQ_GRAD_ABI_VERSION 1
// HEADER: #define SQ_GRAD_NUM_INPUTS 1
// HEADER: #define SQ_GRAD_IN0_TYPE float
// HEADER: #define SQ_GRAD_IN0_DIM0 3
// HEADER: #define SQ_GRAD_OUT0_SIZE 3
// HEADER: int sq_grad(
// HEADER-NEXT: const float* in0, /* f32[3] argument 0 */
// HEADER-NEXT: float* out0 /* f32[3] result 0 */
// HEADER-NEXT: );

// The wrapper checks for NULL, then calls the entry point (one pointer per array), which is internal.
// LLVM-NOT: _mlir_ciface
// LLVM: define i32 @sq_grad(ptr %0, ptr %1)
// LLVM: icmp eq ptr %0, null
// LLVM: call void @_tfn_entry(ptr %0, ptr %1)
// LLVM: ret i32 0
// LLVM: ret i32 1
// LLVM: define internal void @_tfn_entry(
// LLVM-NOT: _mlir_ciface

// The tfn stage has the transform expanded.
// TFN-NOT: tfn.grad
// TFN: func.func

// CPU: tfn-compile: error: --cpu: unknown x86-64 CPU 'nope'
// NAME: tfn-compile: error: the function name 'main' is reserved in C
func.func private @f(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "tfn.mul"(%x, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %f = func.constant @f : (tensor<3xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>) -> tensor<3xf32>)
  %r = func.call_indirect %g(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}
