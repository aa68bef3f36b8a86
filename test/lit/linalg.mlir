// tfn.cholesky, tfn.triangular_solve, tfn.lu, tfn.qr and tfn.eigh: lowering (scf.for loops per matrix inside a
// loop over the batch, carrying the result tensors), their rules (triangular_solve's
// transpose is the solve with transpose_a flipped; vmap moves the batch dim to the front),
// and the shape rules.
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg)' | FileCheck %s --check-prefix=LOWER
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg)' | %mlir-opt --split-input-file -o /dev/null
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg{target=cuda})' | FileCheck %s --check-prefix=CUDA
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg{target=cuda})' | %mlir-opt --split-input-file -o /dev/null
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-autodiff)' | FileCheck %s --check-prefix=AD
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-batch)' | FileCheck %s --check-prefix=BATCH

// One loop over the batch, then columns j, rows i > j, and the dot products k < j.
// LOWER-LABEL: func.func @cholesky
// LOWER: linalg.generic
// LOWER: scf.for
// LOWER: scf.for
// LOWER: scf.for
// LOWER: math.sqrt
// LOWER: tensor.insert
// LOWER: arith.divf
// LOWER-NOT: "tfn.
// On CUDA the batch is one forall (a GPU thread per matrix) running the same loops on its
// slices of the input and of the result, written back in parallel.
// CUDA-LABEL: func.func @cholesky
// CUDA: %[[OUT:.*]] = bufferization.alloc_tensor() copy(%{{.*}}) : tensor<2x3x3xf64>
// CUDA: scf.forall (%[[I:.*]]) in (2) shared_outs(%[[O:.*]] = %[[OUT]]) -> (tensor<2x3x3xf64>)
// CUDA: %[[A:.*]] = tensor.extract_slice %arg0[%[[I]], 0, 0] [1, 3, 3] [1, 1, 1] : tensor<2x3x3xf64> to tensor<3x3xf64>
// CUDA: %[[L:.*]] = tensor.extract_slice %[[O]][%[[I]], 0, 0] [1, 3, 3] [1, 1, 1] : tensor<2x3x3xf64> to tensor<3x3xf64>
// CUDA: scf.for {{.*}} iter_args(%{{.*}} = %[[L]]) -> (tensor<3x3xf64>)
// CUDA: math.sqrt
// CUDA: scf.forall.in_parallel
// CUDA: tensor.parallel_insert_slice %{{.*}} into %[[O]][%[[I]], 0, 0] [1, 3, 3] [1, 1, 1] : tensor<3x3xf64> into tensor<2x3x3xf64>
// CUDA: {mapping = [#gpu.thread<x>]}
// CUDA-NOT: "tfn.
func.func @cholesky(%a: tensor<2x3x3xf64>) -> tensor<2x3x3xf64> {
  %0 = "tfn.cholesky"(%a) : (tensor<2x3x3xf64>) -> tensor<2x3x3xf64>
  return %0 : tensor<2x3x3xf64>
}

// -----

// LOWER-LABEL: func.func @lu
// LOWER: scf.for
// LOWER: math.absf
// LOWER: arith.cmpf ogt
// LOWER: arith.divf
// LOWER: arith.subf
// LOWER-NOT: "tfn.
// A single matrix is a forall of one iteration; only the permutation is written back, the
// factors and pivots start as slices of their initial values (bufferization copies them).
// CUDA-LABEL: func.func @lu
// CUDA: scf.forall (%[[I:.*]]) in (1) shared_outs(%[[O:.*]] = %{{.*}}) -> (tensor<1x4xi32>)
// CUDA: tensor.extract_slice %{{.*}}[%[[I]], 0, 0] [1, 4, 4] [1, 1, 1] : tensor<1x4x4xf32> to tensor<4x4xf32>
// CUDA: tensor.parallel_insert_slice %{{.*}} into %[[O]][%[[I]], 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<1x4xi32>
// CUDA-NOT: "tfn.
func.func @lu(%a: tensor<4x4xf32>) -> tensor<4xi32> {
  %0 = "tfn.lu"(%a) {part = "permutation"} : (tensor<4x4xf32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// The vjp in b is a solve with transpose_a flipped.
// AD-LABEL: func.func private @solve_vjp
// AD: "tfn.triangular_solve"(%arg0, %arg2) {lower = 1 : i64, transpose_a = 1 : i64, unit_diagonal = 0 : i64}
// AD-NOT: "tfn.dot_general"
func.func private @solve(%a: tensor<3x3xf64>, %b: tensor<3x2xf64>) -> tensor<3x2xf64> {
  %0 = "tfn.triangular_solve"(%a, %b) {lower = 1 : i64, transpose_a = 0 : i64, unit_diagonal = 0 : i64} : (tensor<3x3xf64>, tensor<3x2xf64>) -> tensor<3x2xf64>
  return %0 : tensor<3x2xf64>
}
func.func @vjp_in_b(%a: tensor<3x3xf64>, %b: tensor<3x2xf64>, %ct: tensor<3x2xf64>) -> (tensor<3x2xf64>, tensor<3x2xf64>) {
  %f = func.constant @solve : (tensor<3x3xf64>, tensor<3x2xf64>) -> tensor<3x2xf64>
  %v = "tfn.vjp"(%f) {argnums = array<i64: 1>, num_aux = 0 : i64} : ((tensor<3x3xf64>, tensor<3x2xf64>) -> tensor<3x2xf64>) -> ((tensor<3x3xf64>, tensor<3x2xf64>, tensor<3x2xf64>) -> (tensor<3x2xf64>, tensor<3x2xf64>))
  %y, %g = func.call_indirect %v(%a, %b, %ct) : (tensor<3x3xf64>, tensor<3x2xf64>, tensor<3x2xf64>) -> (tensor<3x2xf64>, tensor<3x2xf64>)
  return %y, %g : tensor<3x2xf64>, tensor<3x2xf64>
}

// -----

// A batched a moves its batch dim to the front; the shared b is broadcast (no loop).
// BATCH-LABEL: func.func private @lu_of_b_vmap
// BATCH: "tfn.transpose"(%{{.*}}) {permutation = array<i64: 1, 0, 2>} : (tensor<3x5x3xf32>) -> tensor<5x3x3xf32>
// BATCH: "tfn.lu"(%{{.*}}) {part = "factors"} : (tensor<5x3x3xf32>) -> tensor<5x3x3xf32>
func.func private @lu_of_b(%a: tensor<3x3xf32>) -> tensor<3x3xf32> {
  %0 = "tfn.lu"(%a) {part = "factors"} : (tensor<3x3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}
func.func @vmapped(%a: tensor<3x5x3xf32>) -> tensor<5x3x3xf32> {
  %f = func.constant @lu_of_b : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 1>, out_dims = array<i64: 0>, batch_size = 5 : i64} : ((tensor<3x3xf32>) -> tensor<3x3xf32>) -> ((tensor<3x5x3xf32>) -> tensor<5x3x3xf32>)
  %r = func.call_indirect %v(%a) : (tensor<3x5x3xf32>) -> tensor<5x3x3xf32>
  return %r : tensor<5x3x3xf32>
}

// -----

// qr (modified Gram-Schmidt) and eigh (cyclic Jacobi sweeps) lower to loops too.
// LOWER-LABEL: func.func @qr_r
// LOWER: scf.for
// LOWER: math.sqrt
// LOWER: arith.divf
// LOWER-NOT: "tfn.
func.func @qr_r(%a: tensor<5x3xf64>) -> tensor<3x3xf64> {
  %0 = "tfn.qr"(%a) {part = "r"} : (tensor<5x3xf64>) -> tensor<3x3xf64>
  return %0 : tensor<3x3xf64>
}

// -----

// LOWER-LABEL: func.func @eigvals
// LOWER: scf.for
// LOWER: arith.cmpf one
// LOWER: math.sqrt
// LOWER: arith.cmpf olt
// LOWER-NOT: "tfn.
func.func @eigvals(%a: tensor<2x4x4xf32>) -> tensor<2x4xf32> {
  %0 = "tfn.eigh"(%a) {part = "eigenvalues"} : (tensor<2x4x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
