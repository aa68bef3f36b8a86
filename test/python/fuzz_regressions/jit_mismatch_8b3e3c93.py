"""Fuzz regression (jit, mismatch): jit: 1 of 2 elements differ beyond tolerance; at (0,): got np.float64(inf), numpy gives np.float64(1.1169973830808555e+308) (high precision 1.11699738"""
import numpy as np

CHECKS = ('jit',)
SEED = 1
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit: N of N elements differ beyond tolerance; at (N,): got np.floatN(inf), numpy gives np.floatN(N) (high precision N, t'


def f(xp, x0):
    v0 = xp.cosh(x0)
    return v0


INPUTS = [np.array([710.0, 1.0], np.float64)]
