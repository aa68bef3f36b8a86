// d/dx sum(tanh(x * w)) = w * (1 - tanh(x * w)^2), as a tfn.grad of @f.
func.func private @f(%x: tensor<5xf32>, %w: tensor<5xf32>) -> tensor<f32> {
  %0 = "tfn.mul"(%x, %w) : (tensor<5xf32>, tensor<5xf32>) -> tensor<5xf32>
  %1 = "tfn.tanh"(%0) : (tensor<5xf32>) -> tensor<5xf32>
  %2 = "tfn.reduce_sum"(%1) {dimensions = array<i64: 0>} : (tensor<5xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
func.func @main(%x: tensor<5xf32>, %w: tensor<5xf32>) -> tensor<5xf32> {
  %f = func.constant @f : (tensor<5xf32>, tensor<5xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<5xf32>, tensor<5xf32>) -> tensor<f32>) -> ((tensor<5xf32>, tensor<5xf32>) -> tensor<5xf32>)
  %r = func.call_indirect %g(%x, %w) : (tensor<5xf32>, tensor<5xf32>) -> tensor<5xf32>
  return %r : tensor<5xf32>
}
