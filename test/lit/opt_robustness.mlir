// tfn-opt never crashes or hangs on hostile input: nesting deep enough to overflow the
// parser's stack is refused before parsing, and a transform of a recursive function (which
// would be inlined forever) is a located error.
// RUN: %PYTHON -c "print('builtin.module {' * 5000 + '}' * 5000)" > %t.deep.mlir
// RUN: not %tfn-opt %t.deep.mlir 2>&1 | FileCheck %s --check-prefix=DEEP
// DEEP: deep.mlir:1:4112: error: nesting deeper than 256 levels (brackets, regions, types) is not supported
// RUN: %PYTHON -c "print('func.func @f() attributes {a = ' + '[' * 3000 + ']' * 3000 + '} { return }')" > %t.array.mlir
// RUN: not %tfn-opt %t.array.mlir 2>&1 | FileCheck %s --check-prefix=ARRAY
// ARRAY: array.mlir:1:287: error: nesting deeper than 256 levels
// The same limit guards tfn-compile's .mlir input.
// RUN: not %PYTHON -m tfn.tools.compile %t.deep.mlir --entry f -o %t.out 2>&1 | FileCheck %s --check-prefix=DEEP
// Moderate nesting still parses.
// RUN: %PYTHON -c "print('builtin.module {' * 100 + '}' * 100)" | %tfn-opt | FileCheck %s --check-prefix=OK
// OK: module {

// RUN: %tfn-opt %s --split-input-file --verify-diagnostics --tfn-expand-transforms

func.func private @f(%x: tensor<f32>) -> tensor<f32> {
  // expected-error@+1 {{cannot expand 'tfn.grad': the function it transforms is recursive (@f -> @f, closed by this reference in @f)}}
  %0 = func.call @f(%x) : (tensor<f32>) -> tensor<f32>
  %1 = "tfn.mul"(%0, %x) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func @main(%x: tensor<f32>) -> tensor<f32> {
  %f = func.constant @f : (tensor<f32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<f32>) -> tensor<f32>) -> ((tensor<f32>) -> tensor<f32>)
  %r = func.call_indirect %g(%x) : (tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// Mutual recursion through a helper, under vmap.
func.func private @even(%x: tensor<f32>) -> tensor<f32> {
  %0 = func.call @odd(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @odd(%x: tensor<f32>) -> tensor<f32> {
  // expected-error@+1 {{the function it transforms is recursive (@even -> @odd -> @even, closed by this reference in @odd)}}
  %0 = func.call @even(%x) : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func @main(%xs: tensor<4xf32>) -> tensor<4xf32> {
  %f = func.constant @even : (tensor<f32>) -> tensor<f32>
  %v = "tfn.vmap"(%f) {in_dims = array<i64: 0>, out_dims = array<i64: 0>, batch_size = 4 : i64} : ((tensor<f32>) -> tensor<f32>) -> ((tensor<4xf32>) -> tensor<4xf32>)
  %r = func.call_indirect %v(%xs) : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
