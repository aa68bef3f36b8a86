// gather and scatter: lowering (a parallel generic reading with tensor.extract; an scf.for
// nest carrying the destination), their rules (vjp of gather is scatter-add, vmap adds an
// iota column), and the shape rules.
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg)' | FileCheck %s --check-prefix=LOWER
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-expand-transforms,tfn-lower-to-linalg)' | %mlir-opt --split-input-file -o /dev/null
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-autodiff)' | FileCheck %s --check-prefix=AD
// RUN: %tfn-opt %s --split-input-file --pass-pipeline='builtin.module(tfn-batch)' | FileCheck %s --check-prefix=BATCH

// One pass over the result: the index is read, wrapped when negative, clamped for the
// read and checked; an out-of-bounds index reads 0.
// LOWER-LABEL: func.func @gather
// LOWER-SAME: (%[[X:.*]]: tensor<5x4xf32>, %[[I:.*]]: tensor<3x1xi32>)
// LOWER: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} outs(%{{.*}} : tensor<3x4xf32>)
// LOWER: %[[B:.*]] = linalg.index 0
// LOWER: %[[R:.*]] = linalg.index 1
// LOWER: tensor.extract %[[I]][%[[B]], %{{.*}}] : tensor<3x1xi32>
// LOWER: arith.cmpi slt
// LOWER: %[[OK:.*]] = arith.cmpi ult
// LOWER: %[[AT:.*]] = arith.minui
// LOWER: %[[V:.*]] = tensor.extract %[[X]][%[[AT]], %[[R]]] : tensor<5x4xf32>
// LOWER: arith.select %[[OK]], %[[V]], %{{.*}} : f32
// LOWER-NOT: "tfn.
func.func @gather(%x: tensor<5x4xf32>, %i: tensor<3x1xi32>) -> tensor<3x4xf32> {
  %0 = "tfn.gather"(%x, %i) : (tensor<5x4xf32>, tensor<3x1xi32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// A loop over the updates (outer) and their rows (inner) carrying the destination tensor:
// one extract and one insert per updated element.
// LOWER-LABEL: func.func @scatter_add
// LOWER-SAME: (%[[X:.*]]: tensor<5x4xf32>, %[[I:.*]]: tensor<3x1xi32>, %[[U:.*]]: tensor<3x4xf32>)
// LOWER: %[[OUT:.*]] = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[X]]) -> (tensor<5x4xf32>)
// LOWER: tensor.extract %[[I]][%[[B]], %{{.*}}] : tensor<3x1xi32>
// LOWER: scf.for %[[R:.*]] = {{.*}} iter_args(%[[D:.*]] = %{{.*}}) -> (tensor<5x4xf32>)
// LOWER: %[[OLD:.*]] = tensor.extract %[[D]][%[[AT:.*]], %[[R]]]
// LOWER: %[[NEW:.*]] = tensor.extract %[[U]][%[[B]], %[[R]]]
// LOWER: arith.addf %[[OLD]], %[[NEW]] : f32
// LOWER: tensor.insert %{{.*}} into %[[D]][%[[AT]], %[[R]]] : tensor<5x4xf32>
// LOWER: return %[[OUT]]
func.func @scatter_add(%x: tensor<5x4xf32>, %i: tensor<3x1xi32>, %u: tensor<3x4xf32>) -> tensor<5x4xf32> {
  %0 = "tfn.scatter"(%x, %i, %u) {mode = "add"} : (tensor<5x4xf32>, tensor<3x1xi32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  return %0 : tensor<5x4xf32>
}

// -----

// Bools are stored as bytes: the loops carry an i8 tensor.
// LOWER-LABEL: func.func @scatter_max_bool
// LOWER: scf.for {{.*}} -> (tensor<4xi8>)
// LOWER: tensor.insert %{{.*}} : tensor<4xi8>
func.func @scatter_max_bool(%x: tensor<4xi1>, %i: tensor<2x1xi64>, %u: tensor<2xi1>) -> tensor<4xi1> {
  %0 = "tfn.scatter"(%x, %i, %u) {mode = "max"} : (tensor<4xi1>, tensor<2x1xi64>, tensor<2xi1>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// The transpose of a gather is a scatter-add of the cotangent into zeros.
// AD-LABEL: func.func private @g_vjp
// AD-SAME: (%[[X:.*]]: tensor<5x4xf64>, %[[I:.*]]: tensor<3x1xi32>, %[[CT:.*]]: tensor<3x4xf64>)
// AD: %[[Y:.*]] = "tfn.gather"(%[[X]], %[[I]])
// AD: %[[Z:.*]] = "tfn.constant"() {value = dense<0.000000e+00> : tensor<5x4xf64>}
// AD: %[[G:.*]] = "tfn.scatter"(%[[Z]], %[[I]], %[[CT]]) {mode = "add"}
// AD: return %[[Y]], %[[G]]
func.func private @g(%x: tensor<5x4xf64>, %i: tensor<3x1xi32>) -> tensor<3x4xf64> {
  %0 = "tfn.gather"(%x, %i) : (tensor<5x4xf64>, tensor<3x1xi32>) -> tensor<3x4xf64>
  return %0 : tensor<3x4xf64>
}
func.func @vjp_gather(%x: tensor<5x4xf64>, %i: tensor<3x1xi32>, %ct: tensor<3x4xf64>) -> tensor<5x4xf64> {
  %f = func.constant @g : (tensor<5x4xf64>, tensor<3x1xi32>) -> tensor<3x4xf64>
  %v = "tfn.vjp"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64} : ((tensor<5x4xf64>, tensor<3x1xi32>) -> tensor<3x4xf64>) -> ((tensor<5x4xf64>, tensor<3x1xi32>, tensor<3x4xf64>) -> (tensor<3x4xf64>, tensor<5x4xf64>))
  %r:2 = func.call_indirect %v(%x, %i, %ct) : (tensor<5x4xf64>, tensor<3x1xi32>, tensor<3x4xf64>) -> (tensor<3x4xf64>, tensor<5x4xf64>)
  return %r#1 : tensor<5x4xf64>
}

// -----

// Operand and indices both batched: an iota column picks each example's table, no loop.
// BATCH-LABEL: func.func private @h_vmap
// BATCH-SAME: (%[[X:.*]]: tensor<2x5x4xf32>, %[[I:.*]]: tensor<2x3x1xi32>) -> tensor<2x3x4xf32>
// BATCH-NEXT: %[[IOTA:.*]] = "tfn.iota"() {dimension = 0 : i64} : () -> tensor<2x3x1xi32>
// BATCH-NEXT: %[[IDX:.*]] = "tfn.concatenate"(%[[IOTA]], %[[I]]) {dimension = 2 : i64}
// BATCH-NEXT: "tfn.gather"(%[[X]], %[[IDX]]) : (tensor<2x5x4xf32>, tensor<2x3x2xi32>) -> tensor<2x3x4xf32>
func.func private @h(%x: tensor<5x4xf32>, %i: tensor<3x1xi32>) -> tensor<3x4xf32> {
  %0 = "tfn.gather"(%x, %i) : (tensor<5x4xf32>, tensor<3x1xi32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}
func.func @vmap_gather(%x: tensor<2x5x4xf32>, %i: tensor<2x3x1xi32>) -> tensor<2x3x4xf32> {
  %f = func.constant @h : (tensor<5x4xf32>, tensor<3x1xi32>) -> tensor<3x4xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, 0>, out_dims = array<i64: 0>, batch_size = 2 : i64} : ((tensor<5x4xf32>, tensor<3x1xi32>) -> tensor<3x4xf32>) -> ((tensor<2x5x4xf32>, tensor<2x3x1xi32>) -> tensor<2x3x4xf32>)
  %r = func.call_indirect %v(%x, %i) : (tensor<2x5x4xf32>, tensor<2x3x1xi32>) -> tensor<2x3x4xf32>
  return %r : tensor<2x3x4xf32>
}

// -----

// A batched table with shared indices: the batch becomes a row dim (no broadcast of the indices).
// BATCH-LABEL: func.func private @k_vmap
// BATCH-SAME: (%[[X:.*]]: tensor<2x5x4xf32>, %[[I:.*]]: tensor<3x1xi32>) -> tensor<3x2x4xf32>
// BATCH-NEXT: %[[T:.*]] = "tfn.transpose"(%[[X]]) {permutation = array<i64: 1, 0, 2>}
// BATCH-NEXT: "tfn.gather"(%[[T]], %[[I]]) : (tensor<5x2x4xf32>, tensor<3x1xi32>) -> tensor<3x2x4xf32>
func.func private @k(%x: tensor<5x4xf32>, %i: tensor<3x1xi32>) -> tensor<3x4xf32> {
  %0 = "tfn.gather"(%x, %i) : (tensor<5x4xf32>, tensor<3x1xi32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}
func.func @vmap_table(%x: tensor<2x5x4xf32>, %i: tensor<3x1xi32>) -> tensor<3x2x4xf32> {
  %f = func.constant @k : (tensor<5x4xf32>, tensor<3x1xi32>) -> tensor<3x4xf32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0, -1>, out_dims = array<i64: 1>, batch_size = 2 : i64} : ((tensor<5x4xf32>, tensor<3x1xi32>) -> tensor<3x4xf32>) -> ((tensor<2x5x4xf32>, tensor<3x1xi32>) -> tensor<3x2x4xf32>)
  %r = func.call_indirect %v(%x, %i) : (tensor<2x5x4xf32>, tensor<3x1xi32>) -> tensor<3x2x4xf32>
  return %r : tensor<3x2x4xf32>
}
