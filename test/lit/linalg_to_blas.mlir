// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-linalg-to-blas)' | FileCheck %s

// The glue of each distinct gemm is one private helper; a matmul becomes one call with
// its operands' addresses. Two matmuls of one shape share a helper; a transposed one, or
// one whose operand has a dynamic offset (its leading dimension then passed too), gets
// its own. A zero fill of the accumulator is dropped (beta = 0 in that helper).

// CHECK-LABEL: func.func @f
// CHECK-NOT: linalg.matmul
// CHECK: call @__tfn_gemm_0(%{{.*}}, %{{.*}}, %{{.*}}) : (index, index, index) -> ()
// CHECK: call @__tfn_gemm_0(%{{.*}}, %{{.*}}, %{{.*}}) : (index, index, index) -> ()
// CHECK: call @__tfn_gemm_1(%{{.*}}, %{{.*}}, %{{.*}}) : (index, index, index) -> ()
// CHECK: memref.extract_strided_metadata
// CHECK: call @__tfn_gemm_2(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (index, index, index, index) -> ()
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK-LABEL: func.func private @__tfn_gemm_0(%{{.*}}: index, %{{.*}}: index, %{{.*}}: index)
// CHECK: call @scipy_openblas_set_num_threads64_
// CHECK: call @scipy_cblas_sgemm64_(%{{.*}}) : (i32, i32, i32, i64, i64, i64, f32, !llvm.ptr, i64, !llvm.ptr, i64, f32, !llvm.ptr, i64) -> ()
// CHECK-LABEL: func.func private @__tfn_gemm_1
// CHECK: arith.constant 112 : i32
// CHECK: arith.constant 0.000000e+00 : f32
// CHECK: call @scipy_cblas_sgemm64_
// CHECK-LABEL: func.func private @__tfn_gemm_2
// CHECK: call @scipy_cblas_sgemm64_
// CHECK-NOT: func.func private @__tfn_gemm_3

func.func @f(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>, %d: memref<4x16xf32>,
             %bt: memref<16x8xf32>, %e: memref<4x16xf32>,
             %w: memref<4x8xf32, strided<[8, 1], offset: ?>>, %g: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%d : memref<4x16xf32>)
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      outs(%e : memref<4x16xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  }
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %bt : memref<4x8xf32>, memref<16x8xf32>) outs(%e : memref<4x16xf32>)
  linalg.matmul ins(%w, %b : memref<4x8xf32, strided<[8, 1], offset: ?>>, memref<8x16xf32>) outs(%g : memref<4x16xf32>)
  return
}
