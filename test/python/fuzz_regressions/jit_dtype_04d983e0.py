"""Fuzz regression (jit, dtype): jit: dtype int32, numpy gives int8"""
import numpy as np

CHECKS = ('jit',)
SEED = 1
EXPECT_ERROR = False
SIGNATURE = 'jit:dtype:jit: dtype intN, numpy gives intN'


def f(xp, x0):
    v0 = x0 ** 2
    return v0


INPUTS = [np.array([False, True], np.bool_)]
