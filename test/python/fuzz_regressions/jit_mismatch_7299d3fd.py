"""Fuzz regression (jit, mismatch): jit: 1 of 5 elements differ beyond tolerance; at (3,): got np.float32(nan), numpy gives np.float32(0.0) (high precision 0.0, tolerance 0)"""
import numpy as np

CHECKS = ('jit', 'vmap', 'aot')
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit: N of N elements differ beyond tolerance; at (N,): got np.floatN(nan), numpy gives np.floatN(N) (high precision N, t'


def f(xp, x0, x1):
    v1 = xp.tensordot(x0, x1, axes=0)
    return v1


INPUTS = [np.array(False, np.bool_), np.array([0.0, -0.25, -2.25, -float('inf'), -0.25], np.float32)]
