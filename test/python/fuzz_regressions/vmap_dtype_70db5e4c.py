"""Fuzz regression (vmap, dtype): vmap(in_dims=(0,), out_dims=0) with batch size 3: dtype int32, numpy gives int64"""
import numpy as np

CHECKS = ('jit', 'vmap')
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'vmap:dtype:vmap(in_dims=(N,), out_dims=N) with batch size N: dtype intN, numpy gives intN'


def f(xp, x0):
    v3 = x0 ** 2
    return v3


INPUTS = [np.array(False, np.bool_)]
