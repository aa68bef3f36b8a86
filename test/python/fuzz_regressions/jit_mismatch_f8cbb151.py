"""Fuzz regression (jit, mismatch): jit: 2 of 3 elements differ beyond tolerance; at (0,): got np.float64(nan), numpy gives np.float64(inf) (high precision inf, tolerance inf)"""
import numpy as np

CHECKS = ('jit',)
SEED = 1
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit: N of N elements differ beyond tolerance; at (N,): got np.floatN(nan), numpy gives np.floatN(inf) (high precision in'


def f(xp, x0):
    v0 = xp.logaddexp(x0, x0)
    return v0


INPUTS = [np.array([float('inf'), -float('inf'), 1.0], np.float64)]
