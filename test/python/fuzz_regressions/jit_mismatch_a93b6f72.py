"""Fuzz regression (jit, mismatch): jit: 1 of 5 elements differ beyond tolerance; at (0, 2): got np.float32(inf), numpy gives np.float32(-1e+30) (high precision -1.0000000150474662e+30, """
import numpy as np

CHECKS = ('jit', 'vmap')
SEED = 0
EXPECT_ERROR = False
SIGNATURE = 'jit:mismatch:jit: N of N elements differ beyond tolerance; at (N, N): got np.floatN(inf), numpy gives np.floatN(-N) (high precision -'


def f(xp, x0):
    v1 = xp.sin(x0)
    v3 = v1 + x0
    return v3


INPUTS = [np.array([[-0.09811718761920929, -0.07232542335987091, -1.0000000150474662e+30, 0.9432374238967896, 1.080527901649475]], np.float32)]
