"""Fuzz regression (jit, mismatch): jit: 1 of 1 elements differ beyond tolerance; at (): got np.float32(inf), numpy gives np.float32(-inf) (high precision -inf, tolerance inf)"""
import numpy as np

CHECKS = ('jit',)
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit: N of N elements differ beyond tolerance; at (): got np.floatN(inf), numpy gives np.floatN(-inf) (high precision -in'


def f(xp, x0):
    v0 = xp.remainder(x0, x0)
    v1 = xp.exp(v0)
    v4 = xp.floor_divide(v1, v0)
    return v4


INPUTS = [np.array(-0.9625678658485413, np.float32)]
