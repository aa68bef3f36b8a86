"""Fuzz regression (jit, mismatch): jit output 0: 17 of 17 elements differ beyond tolerance; at (0,): got np.float64(nan), numpy gives np.float64(-0.0) (high precision -0.0, tolerance 0)"""
import numpy as np

CHECKS = ('jit', 'vmap')
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit output N: N of N elements differ beyond tolerance; at (N,): got np.floatN(nan), numpy gives np.floatN(-N) (high prec'


def f(xp, x0, x1):
    v1 = xp.floor_divide(x1, x0)
    v2 = xp.floor_divide(x0, v1)
    return v2, x0


INPUTS = [np.array(0, np.int32), np.array([-0.25, 0.25, -0.25, 1.0, -0.25, 0.25, -1.0, -0.5, -0.75, -1.25, 1.0, 0.5, -1.0, -2.0, -0.25, 0.25, 1.5], np.float32)]
