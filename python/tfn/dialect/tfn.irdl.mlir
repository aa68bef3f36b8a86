// The tfn dialect: tensor ops and function transforms.
//
// Load it into any MLIR tool with `mlir-opt --irdl-file=dialect/tfn.irdl.mlir`.
// IRDL gives no custom syntax: ops print in the generic form, e.g.
//   %2 = "tfn.add"(%0, %1) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// Shape rules (which IRDL cannot state) are checked by the Python builders in
// python/tfn/ops/ (one module per op family, with every other rule of each op) and
// by the `tfn-verify` pass. A new op also needs its builder and rules there.
irdl.dialect @tfn {

  // ---- constants and index arrays
  // A dense tensor literal: value = dense<...> : tensor<...>.
  irdl.operation @constant {
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_int_or_fp_elements"
    irdl.attributes {"value" = %attr0}
    irdl.results(result: %out0)
  }
  // result[i0, ..., in] = i_dimension, converted to the result element type.
  irdl.operation @iota {
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.integer"
    irdl.attributes {"dimension" = %attr0}
    irdl.results(result: %out0)
  }

  // ---- elementwise, one operand (result type = operand type)
  irdl.operation @neg {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @exp {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @log {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @log1p {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @expm1 {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @sin {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @cos {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @tanh {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @erf {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @logistic {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @sqrt {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @rsqrt {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @abs {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @sign {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @floor {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @ceil {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @round {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @stop_gradient {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }

  // The identity, which common-subexpression elimination cannot see through.
  irdl.operation @optimization_barrier {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }

  irdl.operation @bitwise_not {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }

  // ---- elementwise, two operands of one type (broadcasting is explicit)
  irdl.operation @add {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @sub {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @mul {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @div {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @pow {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @max {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @min {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }

  // bitwise ops on integers and bools (no derivative)
  irdl.operation @bitwise_and {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @bitwise_or {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @bitwise_xor {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @shift_left {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  irdl.operation @shift_right_arithmetic {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }

  // Elementwise comparison; the result has element type i1.
  irdl.operation @compare {
    %lhs = irdl.base "!builtin.tensor"
    %rhs = irdl.base "!builtin.tensor"
    %res = irdl.base "!builtin.tensor"
    %eq = irdl.is "eq"
    %ne = irdl.is "ne"
    %lt = irdl.is "lt"
    %le = irdl.is "le"
    %gt = irdl.is "gt"
    %ge = irdl.is "ge"
    %direction = irdl.any_of(%eq, %ne, %lt, %le, %gt, %ge)
    irdl.attributes {"direction" = %direction}
    irdl.operands(lhs: %lhs, rhs: %rhs)
    irdl.results(result: %res)
  }
  // pred ? on_true : on_false, elementwise; pred has element type i1.
  irdl.operation @select {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %in2 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(pred: %in0, on_true: %in1, on_false: %in2)
    irdl.results(result: %out0)
  }
  // Elementwise conversion to the result element type (numpy astype semantics).
  irdl.operation @convert {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }

  // ---- shape ops
  // Operand dim i becomes result dim broadcast_dimensions[i] (size equal, or 1 to expand).
  irdl.operation @broadcast_in_dim {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    irdl.attributes {"broadcast_dimensions" = %attr0}
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  // Same elements in row-major order, new static shape.
  irdl.operation @reshape {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  // result dim i is operand dim permutation[i].
  irdl.operation @transpose {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    irdl.attributes {"permutation" = %attr0}
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  // Static strided slice (positive strides).
  irdl.operation @slice {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    %attr1 = irdl.base "#builtin.dense_array"
    %attr2 = irdl.base "#builtin.dense_array"
    irdl.attributes {"start_indices" = %attr0, "limit_indices" = %attr1, "strides" = %attr2}
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  // Two tensors joined along `dimension` (n-ary concatenation is a chain).
  irdl.operation @concatenate {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.integer"
    irdl.attributes {"dimension" = %attr0}
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }
  // Pads with a 0-d padding_value: low/high edges and interior gaps (all >= 0).
  irdl.operation @pad {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    %attr1 = irdl.base "#builtin.dense_array"
    %attr2 = irdl.base "#builtin.dense_array"
    irdl.attributes {"edge_padding_low" = %attr0, "edge_padding_high" = %attr1, "interior_padding" = %attr2}
    irdl.operands(operand: %in0, padding_value: %in1)
    irdl.results(result: %out0)
  }

  // ---- contraction
  // Result dims: batch dims, then lhs free dims, then rhs free dims (StableHLO order).
  irdl.operation @dot_general {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    %attr1 = irdl.base "#builtin.dense_array"
    %attr2 = irdl.base "#builtin.dense_array"
    %attr3 = irdl.base "#builtin.dense_array"
    irdl.attributes {"lhs_batching_dimensions" = %attr0, "rhs_batching_dimensions" = %attr1, "lhs_contracting_dimensions" = %attr2, "rhs_contracting_dimensions" = %attr3}
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }

  // ---- convolution
  // lhs (N, C, spatial...), rhs (O, I, spatial...) -> (N / batch_group_count, O, spatial...);
  // window attributes have one entry per spatial dim, padding may be negative (cropping).
  irdl.operation @conv_general_dilated {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    %attr1 = irdl.base "#builtin.dense_array"
    %attr2 = irdl.base "#builtin.dense_array"
    %attr3 = irdl.base "#builtin.dense_array"
    %attr4 = irdl.base "#builtin.dense_array"
    %attr5 = irdl.base "#builtin.integer"
    %attr6 = irdl.base "#builtin.integer"
    irdl.attributes {"window_strides" = %attr0, "padding_low" = %attr1, "padding_high" = %attr2, "lhs_dilation" = %attr3, "rhs_dilation" = %attr4, "feature_group_count" = %attr5, "batch_group_count" = %attr6}
    irdl.operands(lhs: %in0, rhs: %in1)
    irdl.results(result: %out0)
  }

  // ---- reductions over `dimensions` (removed from the result shape)
  irdl.operation @reduce_sum {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    irdl.attributes {"dimensions" = %attr0}
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @reduce_max {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    irdl.attributes {"dimensions" = %attr0}
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @reduce_min {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    irdl.attributes {"dimensions" = %attr0}
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }
  irdl.operation @reduce_prod {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    irdl.attributes {"dimensions" = %attr0}
    irdl.operands(operand: %in0)
    irdl.results(result: %out0)
  }

  // ---- gather and scatter (python/tfn/ops/gather_scatter.py): indices B... x k index the
  // k leading dims of the operand (negative ones from the end; outside [-n, n) a gather
  // reads 0, a scatter drops the update).
  // gather: result[b..., r...] = operand[indices[b..., :], r...], shape B... x R...
  irdl.operation @gather {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0, indices: %in1)
    irdl.results(result: %out0)
  }
  // scatter: the operand with updates[b...] combined into rows operand[indices[b..., :]]
  // in row-major order of b (mode set: the last update of a position wins).
  irdl.operation @scatter {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %in2 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %add = irdl.is "add"
    %set = irdl.is "set"
    %mul = irdl.is "mul"
    %min = irdl.is "min"
    %max = irdl.is "max"
    %mode = irdl.any_of(%add, %set, %mul, %min, %max)
    irdl.attributes {"mode" = %mode}
    irdl.operands(operand: %in0, indices: %in1, updates: %in2)
    irdl.results(result: %out0)
  }
  // ---- dynamic_slice and dynamic_update_slice (python/tfn/ops/dynamic_slicing.py): a window of
  // static size at start indices known at run time, one 1-d integer tensor of rank entries
  // (IRDL variadics are homogeneous), clamped to [0, dim - size] so that the window fits.
  // dynamic_slice: the window of shape slice_sizes at the start indices.
  irdl.operation @dynamic_slice {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %attr0 = irdl.base "#builtin.dense_array"
    irdl.attributes {"slice_sizes" = %attr0}
    irdl.operands(operand: %in0, start_indices: %in1)
    irdl.results(result: %out0)
  }
  // dynamic_update_slice: the operand with the window at the start indices replaced by update.
  irdl.operation @dynamic_update_slice {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %in2 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(operand: %in0, update: %in1, start_indices: %in2)
    irdl.results(result: %out0)
  }

  // ---- dense linear algebra (python/tfn/ops/linalg.py): matrices in the two trailing dims,
  // batched over the leading ones (B... x n x n), f32/f64.
  // cholesky: L lower with a = L L^T, read from a's lower triangle.
  irdl.operation @cholesky {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(a: %in0)
    irdl.results(result: %out0)
  }
  // triangular_solve: x (B... x n x m) with op(a) x = b, op(a) = a^T if transpose_a; a is
  // lower (or upper) triangular, its diagonal taken as ones if unit_diagonal.
  irdl.operation @triangular_solve {
    %in0 = irdl.base "!builtin.tensor"
    %in1 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %lower = irdl.base "#builtin.integer"
    %transpose_a = irdl.base "#builtin.integer"
    %unit_diagonal = irdl.base "#builtin.integer"
    irdl.attributes {"lower" = %lower, "transpose_a" = %transpose_a, "unit_diagonal" = %unit_diagonal}
    irdl.operands(a: %in0, b: %in1)
    irdl.results(result: %out0)
  }
  // lu: one part of P a = L U with partial pivoting: "factors" (L unit lower and U packed,
  // B... x n x n), "pivots" (i32 B... x n, LAPACK's ipiv from 0) or "permutation"
  // (i32 B... x n, (P a)[i] = a[permutation[i]]).
  irdl.operation @lu {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %factors = irdl.is "factors"
    %pivots = irdl.is "pivots"
    %permutation = irdl.is "permutation"
    %part = irdl.any_of(%factors, %pivots, %permutation)
    irdl.attributes {"part" = %part}
    irdl.operands(a: %in0)
    irdl.results(result: %out0)
  }

  // qr: one factor of the reduced QR of a (B... x m x n, m >= n): "q" (B... x m x n) or
  // "r" (B... x n x n, upper triangular, nonnegative diagonal).
  irdl.operation @qr {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %q = irdl.is "q"
    %r = irdl.is "r"
    %part = irdl.any_of(%q, %r)
    irdl.attributes {"part" = %part}
    irdl.operands(a: %in0)
    irdl.results(result: %out0)
  }

  // eigh: one part of a = V diag(w) V^T for a symmetric a (B... x n x n): "eigenvalues"
  // (B... x n, ascending) or "eigenvectors" (B... x n x n, columns of V).
  irdl.operation @eigh {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    %eigenvalues = irdl.is "eigenvalues"
    %eigenvectors = irdl.is "eigenvectors"
    %part = irdl.any_of(%eigenvalues, %eigenvectors)
    irdl.attributes {"part" = %part}
    irdl.operands(a: %in0)
    irdl.results(result: %out0)
  }

  // ---- random numbers
  // Counter-based random bits (Threefry-2x32, 20 rounds): key is tensor<K... x 2 x i32>;
  // the result tensor<K... x S... x i32> holds, for each key, the bits of counters
  // 0, 1, ... over S in row-major order. Deterministic and stateless.
  irdl.operation @random_bits {
    %in0 = irdl.base "!builtin.tensor"
    %out0 = irdl.base "!builtin.tensor"
    irdl.operands(key: %in0)
    irdl.results(result: %out0)
  }

  // ---- function transforms: a function value in, the transformed function value out.
  // grad(f): f returns (y, aux...) with y a 0-d float; the result function returns
  // (grads for argnums..., y if with_value, aux...). num_aux counts trailing aux results.
  // The operand is usually `func.constant @f`; the result is called with
  // func.call_indirect. The transform passes replace each op by `func.constant`
  // of a new function, innermost first.
  irdl.operation @grad {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %argnums = irdl.base "#builtin.dense_array"
    %num_aux = irdl.base "#builtin.integer"
    %with_value = irdl.base "#builtin.integer"
    irdl.attributes {"argnums" = %argnums, "num_aux" = %num_aux, "with_value" = %with_value}
    irdl.operands(fn: %in0)
    irdl.results(result: %out0)
  }
  // vjp(f): (xs..., cotangents of the non-aux results...) -> (results..., grads for argnums...).
  irdl.operation @vjp {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %argnums = irdl.base "#builtin.dense_array"
    %num_aux = irdl.base "#builtin.integer"
    irdl.attributes {"argnums" = %argnums, "num_aux" = %num_aux}
    irdl.operands(fn: %in0)
    irdl.results(result: %out0)
  }
  // jvp(f): (xs..., tangents for argnums...) -> (results..., tangents of the non-aux results...).
  irdl.operation @jvp {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %argnums = irdl.base "#builtin.dense_array"
    %num_aux = irdl.base "#builtin.integer"
    irdl.attributes {"argnums" = %argnums, "num_aux" = %num_aux}
    irdl.operands(fn: %in0)
    irdl.results(result: %out0)
  }
  // vmap(f): every argument with in_dims[i] >= 0 gains a batch dim of size batch_size at
  // that position (-1: unbatched); result j carries it at out_dims[j].
  irdl.operation @vmap {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %in_dims = irdl.base "#builtin.dense_array"
    %out_dims = irdl.base "#builtin.dense_array"
    %batch_size = irdl.base "#builtin.integer"
    irdl.attributes {"in_dims" = %in_dims, "out_dims" = %out_dims, "batch_size" = %batch_size}
    irdl.operands(fn: %in0)
    irdl.results(result: %out0)
  }

  // linear_transpose(f): f is linear in its arguments `linear` (given the others); the result
  // function takes (the other arguments..., cotangents of f's results...) and returns the
  // cotangents of the `linear` arguments. Expanded by tfn-autodiff like grad and vjp.
  irdl.operation @linear_transpose {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %linear = irdl.base "#builtin.dense_array"
    irdl.attributes {"linear" = %linear}
    irdl.operands(fn: %in0)
    irdl.results(result: %out0)
  }

  // ---- control flow and custom derivatives: function values in, a function value out, called
  // with func.call_indirect. Unlike the transforms above they stay until lowering (to scf);
  // the transform passes rewrite calls of them with their own rules (tfn/ops/control_flow.py).
  // switch(b0, ..., bn-1): (index: tensor<i32>, operands...) -> results; calls branch
  // clamp(index, 0, n-1). All branches have the type (operands...) -> results.
  irdl.operation @switch {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    irdl.operands(branches: variadic %in0)
    irdl.results(result: %out0)
  }
  // while_loop(cond, body): (consts..., carry...) -> carry..., with cond: (consts..., carry...)
  // -> tensor<i1> and body: (consts..., carry...) -> carry...; num_consts counts the consts.
  irdl.operation @while_loop {
    %in0 = irdl.base "!builtin.function"
    %in1 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %num_consts = irdl.base "#builtin.integer"
    irdl.attributes {"num_consts" = %num_consts}
    irdl.operands(cond: %in0, body: %in1)
    irdl.results(result: %out0)
  }
  // scan(body): (consts..., carry..., xs...) -> (carry..., ys...): body: (consts..., carry...,
  // x slices...) -> (carry..., y slices...) runs `length` times (reverse: last slice first);
  // xs and ys have a leading dim of `length`.
  irdl.operation @scan {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %num_consts = irdl.base "#builtin.integer"
    %num_carry = irdl.base "#builtin.integer"
    %length = irdl.base "#builtin.integer"
    %reverse = irdl.base "#builtin.integer"
    irdl.attributes {"num_consts" = %num_consts, "num_carry" = %num_carry, "length" = %length,
                     "reverse" = %reverse}
    irdl.operands(body: %in0)
    irdl.results(result: %out0)
  }
  // custom_jvp(f, rule): f, whose JVP is rule: (xs..., tangents of xs...) -> (ys..., tangents of ys...).
  irdl.operation @custom_jvp {
    %in0 = irdl.base "!builtin.function"
    %in1 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    irdl.operands(fn: %in0, rule: %in1)
    irdl.results(result: %out0)
  }
  // custom_vjp(f, fwd, bwd): f, differentiated in reverse mode by fwd: xs -> (ys..., residuals...)
  // and bwd: (residuals..., cotangents of ys...) -> cotangents of xs. num_res counts residuals.
  irdl.operation @custom_vjp {
    %in0 = irdl.base "!builtin.function"
    %in1 = irdl.base "!builtin.function"
    %in2 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %num_res = irdl.base "#builtin.integer"
    irdl.attributes {"num_res" = %num_res}
    irdl.operands(fn: %in0, fwd: %in1, bwd: %in2)
    irdl.results(result: %out0)
  }
  // linear_call(bwd): the tangent function of a custom_vjp, (residuals..., tangents of xs...) ->
  // tangents of ys, known only by its transpose bwd; evaluating it (forward mode) is an error.
  irdl.operation @linear_call {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    %num_res = irdl.base "#builtin.integer"
    %name = irdl.base "#builtin.string"
    irdl.attributes {"num_res" = %num_res, "name" = %name}
    irdl.operands(bwd: %in0)
    irdl.results(result: %out0)
  }
  // checkpoint(f): f, whose reverse-mode residuals are recomputed in the backward pass from
  // f's inputs instead of being stored (jax.checkpoint, torch.utils.checkpoint).
  irdl.operation @checkpoint {
    %in0 = irdl.base "!builtin.function"
    %out0 = irdl.base "!builtin.function"
    irdl.operands(fn: %in0)
    irdl.results(result: %out0)
  }
}
