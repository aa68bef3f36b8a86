"""Fuzz regression (jit, mismatch): jit: 3 of 3 elements differ; at (0,): got np.int64(15), numpy gives np.int64(20)"""
import numpy as np

CHECKS = ('jit',)
SEED = 1
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit: N of N elements differ; at (N,): got np.intN(N), numpy gives np.intN(N)'


def f(xp, x0):
    v0 = xp.round(x0, -1)
    return v0


INPUTS = [np.array([15, 25, -15], np.int64)]
