// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-outline-kernels)' | FileCheck %s
// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-outline-kernels,convert-linalg-to-loops,convert-scf-to-cf,expand-strided-metadata,finalize-memref-to-llvm,convert-arith-to-llvm,convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},convert-cf-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// Two loop nests that differ only in their buffers share one kernel; a third, with
// another body, gets its own. Arguments whose buffers are distinct are noalias; the
// in-place update (one buffer read and written) passes it once. A view with a static
// layout is passed with its type; one whose offset is dynamic (no bare pointer can
// carry it) stays where it is.

// CHECK-LABEL: func.func private @__tfn_kernel_0
// CHECK-SAME: (%{{.*}}: memref<4x8xf32> {llvm.noalias}, %{{.*}}: memref<4x8xf32> {llvm.noalias})
// CHECK-SAME: llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]
// CHECK: math.exp
// CHECK-LABEL: func.func private @__tfn_kernel_1
// CHECK-SAME: (%{{.*}}: memref<4x8xf32> {llvm.noalias})
// CHECK: arith.constant 2.0
// CHECK: arith.mulf
// CHECK-LABEL: func.func private @__tfn_kernel_2
// CHECK-SAME: memref<2x8xf32, strided<[8, 1], offset: 16>>
// CHECK: linalg.fill
// CHECK-NOT: func.func private @__tfn_kernel_3
// CHECK-LABEL: func.func @f
// CHECK: call @__tfn_kernel_0(%arg0, %[[A:.*]]) :
// CHECK: call @__tfn_kernel_0(%[[A]], %arg1) :
// CHECK: call @__tfn_kernel_1(%arg1) :
// CHECK: call @__tfn_kernel_2(%{{.*}}) : (memref<2x8xf32, strided<[8, 1], offset: 16>>) -> ()
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<2x8xf32, strided<[8, 1], offset: ?>>)
// CHECK: memref.dealloc

// With bare pointers, the flags are on the kernels' LLVM pointers.
// LLVM-LABEL: llvm.func internal @__tfn_kernel_0
// LLVM-SAME: (%{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias})
// LLVM-SAME: passthrough = ["noinline"]
// LLVM-LABEL: llvm.func @f
// LLVM: llvm.call @__tfn_kernel_0(%{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr) -> ()

func.func @f(%x: memref<4x8xf32>, %out: memref<4x8xf32>) {
  %cst = arith.constant 2.0 : f32
  %tmp = memref.alloc() : memref<4x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x8xf32>) outs(%tmp : memref<4x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%tmp : memref<4x8xf32>) outs(%out : memref<4x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<4x8xf32>) outs(%out : memref<4x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %m = arith.mulf %a, %cst : f32
    linalg.yield %m : f32
  }
  %v0 = memref.subview %out[2, 0] [2, 8] [1, 1] : memref<4x8xf32> to memref<2x8xf32, strided<[8, 1], offset: 16>>
  %v1 = memref.subview %tmp[0, 0] [2, 8] [1, 1] : memref<4x8xf32> to memref<2x8xf32, strided<[8, 1]>>
  linalg.fill ins(%cst : f32) outs(%v0 : memref<2x8xf32, strided<[8, 1], offset: 16>>)
  %v1d = memref.cast %v1 : memref<2x8xf32, strided<[8, 1]>> to memref<2x8xf32, strided<[8, 1], offset: ?>>
  linalg.fill ins(%cst : f32) outs(%v1d : memref<2x8xf32, strided<[8, 1], offset: ?>>)
  memref.dealloc %tmp : memref<4x8xf32>
  return
}
