// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-entry-wrapper{callee=main})' | FileCheck %s
// RUN: not %tfn-opt %s --pass-pipeline='builtin.module(tfn-entry-wrapper{callee=nope})' 2>&1 | FileCheck %s --check-prefix=MISSING

// The entry point reads the inputs in place and writes the results into the caller's
// buffers; every other function becomes private; an i1 tensor crosses as bytes.
// CHECK-LABEL: func.func private @helper
// CHECK-LABEL: func.func private @main
// CHECK-LABEL: func.func @_tfn_entry(%arg0: memref<4xf32>, %arg1: memref<4xi8>, %arg2: memref<4xf32>, %arg3: memref<4xi8>) attributes {llvm.emit_c_interface}
// CHECK: %[[X:.*]] = bufferization.to_tensor %arg0 restrict : memref<4xf32> to tensor<4xf32>
// CHECK: %[[B8:.*]] = bufferization.to_tensor %arg1 restrict : memref<4xi8> to tensor<4xi8>
// CHECK: arith.trunci %{{.*}} : i8 to i1
// CHECK: %[[R:.*]]:2 = call @main(%[[X]], %{{.*}}) : (tensor<4xf32>, tensor<4xi1>) -> (tensor<4xf32>, tensor<4xi1>)
// CHECK: bufferization.materialize_in_destination %[[R]]#0 in restrict writable %arg2 : (tensor<4xf32>, memref<4xf32>) -> ()
// CHECK: arith.extui %{{.*}} : i1 to i8
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %arg3 : (tensor<4xi8>, memref<4xi8>) -> ()
// CHECK-NEXT: return

// MISSING: error: tfn-entry-wrapper: no function 'nope' to make the entry point of
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func @main(%x: tensor<4xf32>, %b: tensor<4xi1>) -> (tensor<4xf32>, tensor<4xi1>) {
  %0 = call @helper(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0, %b : tensor<4xf32>, tensor<4xi1>
}
