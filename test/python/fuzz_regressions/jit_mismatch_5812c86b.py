"""Fuzz regression (jit, mismatch): jit output 0: 17 of 17 elements differ beyond tolerance; at (0,): got np.float32(nan), numpy gives np.float32(-inf) (high precision -inf, tolerance in"""
import numpy as np

CHECKS = ('jit', 'vmap')
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit output N: N of N elements differ beyond tolerance; at (N,): got np.floatN(nan), numpy gives np.floatN(-inf) (high pr'


def f(xp, x0, x1):
    v0 = x0.astype(xp.float32)
    v1 = xp.floor_divide(x1, v0)
    v2 = xp.floor_divide(v0, v1)
    v3 = xp.sin(v2)
    v4 = xp.exp(v2)
    v5 = xp.transpose(v4)
    v6 = xp.transpose(v1)
    v7 = v6 + v3
    v8 = v7 + v5
    return v8, x0


INPUTS = [np.array(0, np.int32), np.array([-0.25, 0.25, -0.25, 1.0, -0.25, 0.25, -1.0, -0.5, -0.75, -1.25, 1.0, 0.5, -1.0, -2.0, -0.25, 0.25, 1.5], np.float32)]
