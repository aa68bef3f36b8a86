"""Fuzz regression (jit, accepts-invalid): numpy rejects the program, tfn returns array(True)"""
import numpy as np

CHECKS = ('jit',)
SEED = 1
EXPECT_ERROR = True
SIGNATURE = 'jit:accepts-invalid:numpy rejects the program, tfn returns array(True)'


def f(xp, x0):
    v0 = xp.pad(x0, -1)
    return v0


INPUTS = [np.array(True, np.bool_)]
