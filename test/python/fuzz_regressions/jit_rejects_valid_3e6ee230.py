"""Fuzz regression (jit, rejects-valid): ValueError: tfn.numpy.power: integers to negative integer powers are not allowed (int32[0] ** -2)"""
import numpy as np

CHECKS = ('jit', 'eager', 'vmap', 'aot')
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'jit:rejects-valid:ValueError: tfn.numpy.power: integers to negative integer powers are not allowed (intN[N] ** -N)'


def f(xp, x0):
    v1 = xp.power(x0, -2)
    return v1


INPUTS = [np.zeros((0,), np.int32)]
