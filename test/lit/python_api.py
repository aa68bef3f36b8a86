# RUN: %PYTHON %s | FileCheck %s
# RUN: %PYTHON %s --emit-only | %tfn-opt --tfn-lower-to-linalg | FileCheck %s --check-prefix=LOWERED
"""tfn.jit traces Python into tfn IR; `lower(...).as_text('tfn')` shows it, and tfn-opt lowers that text."""
import sys

import numpy as np

import tfn
import tfn.numpy as tnp

EMIT_ONLY = "--emit-only" in sys.argv


def run(f):
    """Runs one test, printing its name first so CHECK-LABEL can anchor on it."""
    if not EMIT_ONLY:
        print("\nTEST:", f.__name__)
        f()
    return f


def f32(*shape):
    return np.ones(shape, np.float32)


# CHECK-LABEL: TEST: test_elementwise
# CHECK: func.func @main(%[[X:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<3xf32>) -> tensor<3xf32>
# CHECK: %[[P:.*]] = "tfn.mul"(%[[X]], %[[Y]]) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
# Python scalars become 0-d constants, broadcast explicitly.
# CHECK: %[[ONE:.*]] = "tfn.constant"() {value = dense<1.000000e+00> : tensor<f32>} : () -> tensor<f32>
# CHECK: %[[ONES:.*]] = "tfn.broadcast_in_dim"(%[[ONE]]) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<3xf32>
# CHECK: %[[S:.*]] = "tfn.add"(%[[P]], %[[ONES]])
# CHECK: %[[T:.*]] = "tfn.tanh"(%[[S]])
# CHECK: return %[[T]] : tensor<3xf32>
@run
def test_elementwise():
    f = tfn.jit(lambda x, y: tnp.tanh(x * y + 1.0))
    print(f.lower(f32(3), f32(3)).as_text("tfn"))


# CHECK-LABEL: TEST: test_matmul_and_reduction
# CHECK: func.func @main(%[[W:.*]]: tensor<3x2xf32>, %[[X:.*]]: tensor<4x3xf32>) -> tensor<f32>
# CHECK-SAME: tfn.source_name = "loss"
# CHECK: %[[H:.*]] = "tfn.dot_general"(%[[X]], %[[W]]) {{{.*}}lhs_contracting_dimensions = array<i64: 1>{{.*}}rhs_contracting_dimensions = array<i64: 0>} : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
# CHECK: "tfn.reduce_sum"(%{{.*}}) {dimensions = array<i64: 0, 1>} : (tensor<4x2xf32>) -> tensor<f32>
@run
def test_matmul_and_reduction():
    @tfn.jit
    def loss(w, x):
        return tnp.sum((x @ w) ** 2)
    print(loss.lower(f32(3, 2), f32(4, 3)).as_text("tfn"))


# CHECK-LABEL: TEST: test_static_argument
# A static argument is a trace-time constant: n = 3 unrolls into the IR.
# CHECK: func.func @main(%{{.*}}: tensor<2xf32>) -> tensor<2xf32>
# CHECK-COUNT-3: "tfn.sin"
# CHECK-NOT: "tfn.sin"
# CHECK: return
@run
def test_static_argument():
    def repeat_sin(x, n):
        for _ in range(n):
            x = tnp.sin(x)
        return x
    print(tfn.jit(repeat_sin, static_argnums=1).lower(f32(2), 3).as_text("tfn"))


# CHECK-LABEL: TEST: test_unknown_stage
# CHECK: ValueError: unknown stage 'bytecode'
@run
def test_unknown_stage():
    try:
        tfn.jit(tnp.exp).lower(f32(2)).as_text("bytecode")
    except ValueError as e:
        print("ValueError:", e)


# The traced text is ordinary MLIR: tfn-opt lowers it like any file.
# LOWERED: func.func @main
# LOWERED: linalg.generic
# LOWERED: math.tanh
# LOWERED-NOT: "tfn.
if EMIT_ONLY:
    print(tfn.jit(lambda x, y: tnp.tanh(x * y + 1.0)).lower(f32(3), f32(3)).as_text("tfn"))
