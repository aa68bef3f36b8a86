"""Fuzz regression (jit, mismatch): jit: 1 of 8 elements differ beyond tolerance; at (1, 0): got np.float32(-inf), numpy gives np.float32(2.424423e+38) (high precision 2.4244377603659574"""
import numpy as np

CHECKS = ('jit',)
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit: N of N elements differ beyond tolerance; at (N, N): got np.floatN(-inf), numpy gives np.floatN(N) (high precision N'


def f(xp, x0):
    v0 = xp.sum(x0, axis=0)
    v1 = xp.exp(v0)
    v2 = xp.exp(v1)
    v3 = xp.exp(v2)
    v7 = xp.cos(v3)
    v8 = v7 + v3
    return v8


INPUTS = [np.array([[[-0.5, 2.5, 1.0, 3.5], [0.25, -0.75, -1.25, 1.25]], [[0.75, 1.0, 2.0, -1.0], [1.25, 0.75, -1.0, -1.75]]], np.float32)]
