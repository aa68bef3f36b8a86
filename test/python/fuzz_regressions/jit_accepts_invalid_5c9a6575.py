"""Fuzz regression (jit, accepts-invalid): numpy rejects the program, tfn returns array([[3., 3., 3.],"""
import numpy as np

CHECKS = ('jit',)
SEED = 1
EXPECT_ERROR = True
SIGNATURE = 'jit:accepts-invalid:numpy rejects the program, tfn returns array([[N., N., N.],'


def f(xp, x0):
    v0 = xp.tensordot(x0, x0, axes=([5], [0]))
    return v0


INPUTS = [np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], np.float64)]
