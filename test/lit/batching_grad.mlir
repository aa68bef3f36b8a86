// RUN: %tfn-opt %s --pass-pipeline='builtin.module(tfn-autodiff,tfn-batch)' | FileCheck %s

// vmap(grad(mlp_loss)): per-example gradients of a two-layer MLP. grad is expanded
// first (inside the vmapped function), then vmap batches the gradient program: the
// result is straight-line tfn ops on the whole batch, with no loop and no call per
// example. The weights stay unbatched: the forward contractions keep them as they
// are, and the weight gradients become batched outer products (batching dim pairs).
// CHECK-LABEL: func.func @main
// CHECK-NEXT: call @loss_vmap(%arg0, %arg1, %arg2, %arg3)
// CHECK-NEXT: return
// CHECK-LABEL: func.func private @loss_vmap(%arg0: tensor<3x4xf32>, %arg1: tensor<4x2xf32>, %arg2: tensor<5x3xf32>, %arg3: tensor<5x2xf32>) -> (tensor<5x3x4xf32>, tensor<5x4x2xf32>)
// CHECK-NOT: call
// CHECK-NOT: scf.
// CHECK: "tfn.dot_general"(%arg2, %arg0) {{.*}} : (tensor<5x3xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
// CHECK: "tfn.tanh"({{.*}}) : (tensor<5x4xf32>) -> tensor<5x4xf32>
// CHECK: "tfn.dot_general"({{.*}}, %arg1) {{.*}} : (tensor<5x4xf32>, tensor<4x2xf32>) -> tensor<5x2xf32>
// CHECK: "tfn.dot_general"({{.*}}) {lhs_batching_dimensions = array<i64: 0>, {{.*}}rhs_batching_dimensions = array<i64: 0>, {{.*}}} : (tensor<5x4xf32>, tensor<5x2xf32>) -> tensor<5x4x2xf32>
// CHECK: "tfn.dot_general"(%arg2, {{.*}}) {lhs_batching_dimensions = array<i64: 0>, {{.*}}rhs_batching_dimensions = array<i64: 0>, {{.*}}} : (tensor<5x3xf32>, tensor<5x4xf32>) -> tensor<5x3x4xf32>
// CHECK-NOT: call
// CHECK-NOT: scf.
// CHECK: return
func.func @main(%arg0: tensor<3x4xf32>, %arg1: tensor<4x2xf32>, %arg2: tensor<5x3xf32>, %arg3: tensor<5x2xf32>) -> (tensor<5x3x4xf32>, tensor<5x4x2xf32>) {
  %f = func.constant @loss : (tensor<3x4xf32>, tensor<4x2xf32>, tensor<3xf32>, tensor<2xf32>) -> (tensor<3x4xf32>, tensor<4x2xf32>)
  %0 = "tfn.vmap"(%f) {batch_size = 5 : i64, in_dims = array<i64: -1, -1, 0, 0>, out_dims = array<i64: 0, 0>, randomness = "error"} : ((tensor<3x4xf32>, tensor<4x2xf32>, tensor<3xf32>, tensor<2xf32>) -> (tensor<3x4xf32>, tensor<4x2xf32>)) -> ((tensor<3x4xf32>, tensor<4x2xf32>, tensor<5x3xf32>, tensor<5x2xf32>) -> (tensor<5x3x4xf32>, tensor<5x4x2xf32>))
  %1:2 = func.call_indirect %0(%arg0, %arg1, %arg2, %arg3) : (tensor<3x4xf32>, tensor<4x2xf32>, tensor<5x3xf32>, tensor<5x2xf32>) -> (tensor<5x3x4xf32>, tensor<5x4x2xf32>)
  return %1#0, %1#1 : tensor<5x3x4xf32>, tensor<5x4x2xf32>
}
func.func private @loss(%arg0: tensor<3x4xf32>, %arg1: tensor<4x2xf32>, %arg2: tensor<3xf32>, %arg3: tensor<2xf32>) -> (tensor<3x4xf32>, tensor<4x2xf32>) {
  %f = func.constant @loss_1 : (tensor<3x4xf32>, tensor<4x2xf32>, tensor<3xf32>, tensor<2xf32>) -> tensor<f32>
  %0 = "tfn.grad"(%f) {argnums = array<i64: 0, 1>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3x4xf32>, tensor<4x2xf32>, tensor<3xf32>, tensor<2xf32>) -> tensor<f32>) -> ((tensor<3x4xf32>, tensor<4x2xf32>, tensor<3xf32>, tensor<2xf32>) -> (tensor<3x4xf32>, tensor<4x2xf32>))
  %1:2 = func.call_indirect %0(%arg0, %arg1, %arg2, %arg3) : (tensor<3x4xf32>, tensor<4x2xf32>, tensor<3xf32>, tensor<2xf32>) -> (tensor<3x4xf32>, tensor<4x2xf32>)
  return %1#0, %1#1 : tensor<3x4xf32>, tensor<4x2xf32>
}
func.func private @loss_1(%arg0: tensor<3x4xf32>, %arg1: tensor<4x2xf32>, %arg2: tensor<3xf32>, %arg3: tensor<2xf32>) -> tensor<f32> {
  %0 = "tfn.dot_general"(%arg2, %arg0) {lhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 0>, rhs_batching_dimensions = array<i64>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<3xf32>, tensor<3x4xf32>) -> tensor<4xf32>
  %1 = "tfn.tanh"(%0) : (tensor<4xf32>) -> tensor<4xf32>
  %2 = "tfn.dot_general"(%1, %arg1) {lhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 0>, rhs_batching_dimensions = array<i64>, rhs_contracting_dimensions = array<i64: 0>} : (tensor<4xf32>, tensor<4x2xf32>) -> tensor<2xf32>
  %3 = "tfn.sub"(%2, %arg3) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %4 = "tfn.mul"(%3, %3) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %5 = "tfn.reduce_sum"(%4) {dimensions = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  return %5 : tensor<f32>
}
