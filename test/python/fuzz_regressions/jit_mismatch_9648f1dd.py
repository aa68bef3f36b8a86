"""Fuzz regression (jit, mismatch): jit output 0: 1 of 1 elements differ beyond tolerance; at (): got np.float32(0.5), numpy gives np.float32(66.0) (high precision 66.0, tolerance 0.0039"""
import numpy as np

CHECKS = ('jit', 'vmap')
SEED = 22703
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit output N: N of N elements differ beyond tolerance; at (): got np.floatN(N), numpy gives np.floatN(N) (high precision'


def f(xp, x0, x2):
    v2 = xp.einsum('ij,->', x0, x2)
    return v2, x2


INPUTS = [np.array([[True, True, False, True, False, True, False, True, True, False, True, False, False, True, False, True], [True, True, False, False, False, False, True, False, True, True, True, True, True, False, True, False], [False, True, False, True, True, True, True, False, False, True, False, False, True, False, True, False], [False, True, True, False, False, True, True, True, True, False, False, False, False, False, True, True], [True, False, False, True, False, True, False, True, True, True, True, True, False, True, True, True], [False, False, False, False, False, False, False, False, False, True, False, False, True, True, True, False], [True, False, True, True, True, False, True, False, True, False, True, False, False, False, True, True], [False, False, False, False, True, True, True, False, False, False, True, True, False, False, False, True], [True, True, True, True, True, False, True, True, True, False, True, True, True, False, False, True], [False, False, False, False, True, False, True, True, True, False, False, False, False, False, False, True], [True, True, False, True, False, False, True, True, True, True, True, True, False, False, True, False], [False, False, True, False, False, True, True, False, True, False, True, False, False, True, True, True], [True, False, True, True, True, False, False, False, True, False, False, False, False, True, True, True], [False, True, False, False, True, False, True, False, False, False, False, False, True, True, True, True], [True, True, False, False, False, True, False, True, False, True, True, True, False, True, True, True], [False, False, True, False, True, False, False, False, True, True, False, True, False, True, True, True]], np.bool_), np.array(0.5, np.float32)]
