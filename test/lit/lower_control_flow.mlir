// RUN: %tfn-opt %s --tfn-lower-to-linalg | FileCheck %s

// A while loop lowers to scf.while around calls of its bodies: the predicate is the
// (byte-stored) bool the cond function returns; the carry starts from its own copy and
// each step writes the new carry into the buffer of the old one.
// CHECK-LABEL: func.func private @f
// CHECK: %[[INIT:.*]] = bufferization.alloc_tensor() copy(%arg1)
// CHECK: scf.while (%[[Y:.*]] = %[[INIT]])
// CHECK: %[[P:.*]] = func.call @cond(%arg0, %[[Y]]) : (tensor<f32>, tensor<f32>) -> tensor<i8>
// CHECK: tensor.extract %[[P]][]
// CHECK: scf.condition
// CHECK: %[[N:.*]] = func.call @body(%arg0, %{{.*}})
// CHECK: bufferization.materialize_in_destination %[[N]] in
// CHECK: scf.yield

func.func private @cond(%a: tensor<f32>, %y: tensor<f32>) -> tensor<i1> {
  %0 = "tfn.compare"(%y, %a) {direction = "lt"} : (tensor<f32>, tensor<f32>) -> tensor<i1>
  return %0 : tensor<i1>
}
func.func private @body(%a: tensor<f32>, %y: tensor<f32>) -> tensor<f32> {
  %0 = "tfn.add"(%y, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @f(%a: tensor<f32>, %y: tensor<f32>) -> tensor<f32> {
  %c = func.constant @cond : (tensor<f32>, tensor<f32>) -> tensor<i1>
  %b = func.constant @body : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %w = "tfn.while_loop"(%c, %b) {num_consts = 1 : i64} : ((tensor<f32>, tensor<f32>) -> tensor<i1>, (tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<f32>, tensor<f32>) -> tensor<f32>)
  %r = func.call_indirect %w(%a, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}

// A two-way switch is an scf.if: index <= 0 picks branch 0 (clamped), else branch 1, each
// writing into buffers made before it.
// CHECK-LABEL: func.func private @g
// CHECK: %[[I:.*]] = tensor.extract %arg0[]
// CHECK: %[[DEST:.*]] = bufferization.alloc_tensor()
// CHECK: %[[FIRST:.*]] = arith.cmpi sle, %[[I]]
// CHECK: scf.if %[[FIRST]]
// CHECK: func.call @body(%arg1, %arg1)
// CHECK: bufferization.materialize_in_destination %{{.*}} in %[[DEST]]
// CHECK: } else {
// CHECK: func.call @other(%arg1, %arg1)
func.func private @other(%a: tensor<f32>, %y: tensor<f32>) -> tensor<f32> {
  %0 = "tfn.mul"(%y, %a) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func private @g(%i: tensor<i32>, %y: tensor<f32>) -> tensor<f32> {
  %b0 = func.constant @body : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %b1 = func.constant @other : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %s = "tfn.switch"(%b0, %b1) : ((tensor<f32>, tensor<f32>) -> tensor<f32>, (tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<i32>, tensor<f32>, tensor<f32>) -> tensor<f32>)
  %r = func.call_indirect %s(%i, %y, %y) : (tensor<i32>, tensor<f32>, tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}

// One switch value called twice, whose branches are one function: each call lowers, and the
// switch and the constant go once nothing uses them.
// CHECK-LABEL: func.func @twice
// CHECK-COUNT-4: func.call @body(%arg1,
// CHECK-NOT: tfn.switch
func.func @twice(%i: tensor<i32>, %y: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %b = func.constant @body : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %s = "tfn.switch"(%b, %b) : ((tensor<f32>, tensor<f32>) -> tensor<f32>, (tensor<f32>, tensor<f32>) -> tensor<f32>) -> ((tensor<i32>, tensor<f32>, tensor<f32>) -> tensor<f32>)
  %r = func.call_indirect %s(%i, %y, %y) : (tensor<i32>, tensor<f32>, tensor<f32>) -> tensor<f32>
  %q = func.call_indirect %s(%i, %y, %r) : (tensor<i32>, tensor<f32>, tensor<f32>) -> tensor<f32>
  return %r, %q : tensor<f32>, tensor<f32>
}
