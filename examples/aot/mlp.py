"""A two-layer MLP and one SGD step on its cross-entropy loss, for ahead-of-time compilation.

    tfn-compile examples/aot/mlp.py:sgd_step \
        --shapes '((f32[8,16],f32[16]),(f32[16,4],f32[4])),f32[32,8],f32[32,4]' -o build/
"""
import tfn
import tfn.numpy as tnp
from tfn import nn

LEARNING_RATE = 0.1


def loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = tnp.tanh(x @ w1 + b1)
    return -tnp.mean(tnp.sum(nn.log_softmax(h @ w2 + b2) * y, axis=-1))


def sgd_step(params, x, y):
    """Returns (the loss before the step, the updated parameters)."""
    grads, value = tfn.grad_and_value(loss)(params, x, y)
    new = tfn.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
    return value, new
