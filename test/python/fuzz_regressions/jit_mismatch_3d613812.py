"""Fuzz regression (jit, mismatch): jit: 2 of 16 elements differ beyond tolerance; at (13,): got np.float32(nan), numpy gives np.float32(-inf) (high precision -inf, tolerance inf)"""
import numpy as np

CHECKS = ('jit', 'vmap')
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit: N of N elements differ beyond tolerance; at (N,): got np.floatN(nan), numpy gives np.floatN(-inf) (high precision -'


def f(xp, x0):
    v2 = xp.sinh(x0)
    return v2


INPUTS = [np.array([710.0, -1.25, 9.99994610111476e-41, 1.5, 1.75, 0.25, 0.25, 0.5, -0.25, -1.75, 1.25, -1.0000000150474662e+30, -0.0, -float('inf'), 0.25, float('inf')], np.float32)]
