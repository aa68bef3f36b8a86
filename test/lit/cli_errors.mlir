// Command-line mistakes: one `tfn-opt: error:` line, exit status 1, no traceback.
// RUN: not %tfn-opt %s --no-such-pass 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not %tfn-opt %s --pass-pipeline='builtin.module(canonicalize,no-such-pass)' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not %tfn-opt %s --pass-pipeline='builtin.module(func.func(tfn-lower-to-linalg))' 2>&1 | FileCheck %s --check-prefix=NESTED
// RUN: not %tfn-opt %s --pass 'tfn-lower-to-linalg{fast=1}' 2>&1 | FileCheck %s --check-prefix=OPTION
// RUN: not %tfn-opt %s --pass-pipeline='builtin.module(cse' 2>&1 | FileCheck %s --check-prefix=UNBALANCED
// RUN: not %tfn-opt %s --pass 'gpu-lower-to-nvvm-pipeline{cubin-chip=sm_90}' 2>&1 | FileCheck %s --check-prefix=ABORT
// RUN: not %tfn-opt %t.does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not %tfn-opt %s -o 2>&1 | FileCheck %s --check-prefix=USAGE
// RUN: %tfn-opt --list-passes | FileCheck %s --check-prefix=LIST
// RUN: %tfn-opt --help | FileCheck %s --check-prefix=HELP
// RUN: %tfn-opt < %s --pass cse | FileCheck %s --check-prefix=STDIN

// UNKNOWN: tfn-opt: error: unknown pass 'no-such-pass'
// NESTED: tfn-opt: error: 'tfn-lower-to-linalg' is a tfn pass: it runs on the whole module
// OPTION: tfn-opt: error: pass 'tfn-lower-to-linalg' has no option 'fast'
// UNBALANCED: tfn-opt: error: unclosed bracket in pass pipeline
// ABORT: tfn-opt: error: 'gpu-lower-to-nvvm-pipeline' with cubin-chip=sm_90 needs cubin-features=+ptx78
// MISSING: does-not-exist.mlir: error: could not open input file: No such file or directory
// USAGE: tfn-opt: error: argument -o: expected one argument
// LIST: tfn passes:
// LIST: tfn-lower-to-linalg
// HELP: usage: tfn-opt
// HELP: --pass-pipeline
// STDIN: func.func @id
// UNKNOWN-NOT: Traceback
// NESTED-NOT: Traceback
// MISSING-NOT: Traceback

func.func @id(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a : tensor<2xf32>
}
