"""Accuracy of the compiled transcendentals against numpy, over many points per op.

f32 ops run as polynomial approximations (tfn.passes.approximate_math); they are checked
in ulps against the float64 result rounded to f32 (close to correctly rounded), and
against numpy's own f32 result to 1e-6 relative. f64 ops call libm. Special values
(+-0, +-inf, nan, subnormals, overflow and underflow thresholds, saturation) must
match numpy exactly.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import nn

F32 = np.float32
TINY = np.finfo(F32).tiny
MAX = np.finfo(F32).max
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, TINY, -TINY, 1e-45, -1e-45, 1e-40, -1e-40,
           MAX, -MAX, 1.0, -1.0, 0.5, -0.5, 2.0, 1e-8, -1e-8, 1e-30, -1e-30]


def _random_floats(rng, n, lo_exp=-149, hi_exp=128):
    """f32 values of random sign and mantissa, log-uniform in magnitude."""
    mags = np.exp2(rng.uniform(lo_exp, hi_exp, n))
    return (mags * rng.choice([-1.0, 1.0], n)).astype(F32)


def _points(rng, ranges, special=(), n=20000):
    parts = [np.asarray(SPECIAL + list(special), F32)]
    for lo, hi in ranges:
        parts.append(np.linspace(lo, hi, n, dtype=np.float64).astype(F32))
        parts.append(rng.uniform(lo, hi, n).astype(F32))
    parts.append(_random_floats(rng, 4 * n))
    return np.concatenate(parts)


def _sigmoid64(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


_erf64 = np.vectorize(math.erf, otypes=[np.float64])  # libm's double erf


# name -> (tfn function, float64 reference, ranges of dense sampling, extra specials, max ulps)
CASES = {
    "exp": (tnp.exp, np.exp, [(-110, 90), (-1, 1)], [88.72283, 88.72284, 88.7229, -87.33654, -103.972, -103.98, -104.5], 2),
    "log": (tnp.log, np.log, [(0, 10), (0.5, 2), (1e-3, 1e3)], [1 - 6e-8, 1 + 1.2e-7, -2.0], 2),
    "log1p": (tnp.log1p, np.log1p, [(-1, 1), (-1e-4, 1e-4), (0, 1e4)], [-1.0, -0.9999999, -2.0, 1e-7], 3),
    "expm1": (tnp.expm1, np.expm1, [(-20, 20), (-1e-3, 1e-3), (-110, 90)], [88.7, 88.8, -1e-10, 1e-10], 3),
    "tanh": (tnp.tanh, np.tanh, [(-10, 10), (-0.7, 0.7), (0.6, 0.65)], [0.625, -0.625, 9.0, 9.1, 20.0, -20.0], 3),
    "sigmoid": (nn.sigmoid, _sigmoid64, [(-110, 110), (-5, 5)], [88.8, -88.8, 104.0, -104.0], 4),
    "sin": (tnp.sin, np.sin, [(-10, 10), (-1e4, 1e4), (-8e8, 8e8)], [np.pi, 2 * np.pi, 1e6, 16777216.0, 1e20], 1),
    "cos": (tnp.cos, np.cos, [(-10, 10), (-1e4, 1e4), (-8e8, 8e8)], [np.pi / 2, 1e6, 16777216.0, 1e20], 1),
    # Tiny x (erf ~ 2x/sqrt(pi), subnormals in _random_floats), the switch at |x| = 1, the
    # saturation to +-1 near 3.92 (every f32 checked: <= 1 ulp).
    "erf": (tnp.erf, _erf64, [(-5, 5), (-1e-3, 1e-3), (0.95, 1.05), (3.8, 4.1)],
            [1.1754942e-38, 0.99999994, -0.99999994, 1.0000001, 3.92, -3.92, 3.9, 4.0, -4.0, 4.0000005, 10.0], 1),
}


def _ulps(got, ref):
    got, ref = got.astype(np.float64), ref.astype(np.float64)
    spacing = np.spacing(np.abs(ref).astype(F32)).astype(np.float64)
    return np.abs(got - ref) / spacing


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(1234)


@pytest.mark.parametrize("name", sorted(CASES))
def test_f32_accuracy(name, rng):
    fn, ref64, ranges, special, max_ulps = CASES[name]
    x = _points(rng, ranges, special)
    got = np.asarray(tfn.jit(fn)(x))
    assert got.dtype == F32
    with np.errstate(all="ignore"):
        ref = ref64(x.astype(np.float64)).astype(F32)
        npf32 = ref64(x) if name != "sigmoid" else ref
    # Non-finite results agree exactly (inf sign, nan).
    nonfinite = ~np.isfinite(ref)
    np.testing.assert_array_equal(got[nonfinite], ref[nonfinite], err_msg=f"{name}: special values")
    assert np.all(np.isfinite(got[~nonfinite])), f"{name}: spurious inf/nan at {x[~nonfinite & ~np.isfinite(got)][:5]}"
    if name == "sigmoid":
        # 1 / (1 + exp(-x)) flushes where exp(-x) overflows (x < -88.7): results below TINY.
        nonfinite |= np.abs(ref) < TINY
    ulps = _ulps(got[~nonfinite], ref[~nonfinite])
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= max_ulps, (
        f"{name}: {ulps[worst]:.1f} ulp at x={x[~nonfinite][worst]!r}: got {got[~nonfinite][worst]!r}, "
        f"want {ref[~nonfinite][worst]!r}")
    # And numpy's own f32 result, to 1e-6 relative (subnormal results: absolute).
    fin = np.isfinite(npf32)
    np.testing.assert_allclose(got[fin], npf32[fin], rtol=1e-6, atol=TINY)


# The f32 inputs closest to a multiple of pi/2, the hardest cases of the range reduction:
# |x 2/pi - k| = 2^-29.86, 2^-28.86, 2^-29.54, 2^-28.54, 2^-28.48 (the minimum over
# every f32 exponent of |m 2^e 2/pi - k| for 24-bit m).
SINCOS_HARD = [16367173 * 2.0 ** 72, 16367173 * 2.0 ** 73, 10741887 * 2.0 ** 11, 10741887 * 2.0 ** 12,
               16573937 * 2.0 ** -16]


def _sincos_large_points():
    rng = np.random.default_rng(7)
    # |x| log-spaced over [1, 3.4e38], random mantissas, both signs.
    mags = np.exp2(rng.uniform(0, 128, 200000)).astype(F32)
    sweep = np.geomspace(1.0, 3.4e38, 20000).astype(F32)
    # The f32 values nearest k pi/2 for k up to 2e38 (and their neighbours): sin or cos
    # near 0, where any absolute error of the reduction shows.
    k = np.unique(np.round(np.geomspace(1, 2.1e38, 4000)))
    near = (k * (np.pi / 2)).astype(F32)
    near = np.concatenate([near] + [np.nextafter(near, s * np.inf, dtype=F32) for s in (-1, 1)])
    x = np.concatenate([mags, sweep, near, np.asarray(SINCOS_HARD, F32), [MAX, F32(2.0 ** 53),
                        np.nextafter(F32(2.0 ** 53), F32(0)), F32(2.0 ** 81), F32(2.0 ** 109), F32(2.0 ** 127)]])
    x = np.abs(x[np.isfinite(x)])
    return np.concatenate([x, -x])


@pytest.mark.parametrize("name,max_ulps", [("sin", 1), ("cos", 1), ("tan", 3)])
def test_f32_sincos_large_arguments(name, max_ulps):
    # Every finite f32 is reduced exactly enough (math_approx: Payne-Hanek with the chunks
    # of 2/pi picked by |x|), up to 3.4e38; tan is sin / cos.
    fn, ref64 = getattr(tnp, name), getattr(np, name)
    x = _sincos_large_points()
    got = np.asarray(tfn.jit(fn)(x))
    ref = ref64(x.astype(np.float64)).astype(F32)
    assert np.all(np.isfinite(got))
    if name != "tan":
        assert np.all(np.abs(got) <= 1.0)
    ulps = _ulps(got, ref)
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= max_ulps, (
        f"{name}: {ulps[worst]:.1f} ulp at x={x[worst]!r}: got {got[worst]!r}, want {ref[worst]!r}")
    special = np.asarray(tfn.jit(fn)(np.array([np.inf, -np.inf, np.nan, -np.nan], F32)))
    assert np.isnan(special).all()


def test_f32_signed_zero_and_saturation():
    x = np.array([-0.0, 0.0, 30.0, -30.0, np.inf, -np.inf], F32)
    t = tfn.jit(tnp.tanh)(x)
    np.testing.assert_array_equal(t, [-0.0, 0.0, 1.0, -1.0, 1.0, -1.0])
    assert np.signbit(t[0]) and not np.signbit(t[1])
    np.testing.assert_array_equal(tfn.jit(tnp.exp)(np.array([-np.inf, np.inf, 100.0, -200.0], F32)),
                                  [0.0, np.inf, np.inf, 0.0])
    np.testing.assert_array_equal(tfn.jit(tnp.log)(np.array([0.0, -0.0, np.inf], F32)), [-np.inf, -np.inf, np.inf])
    assert np.isnan(tfn.jit(tnp.log)(np.array([-1.0], F32))).all()
    assert np.isnan(tfn.jit(tnp.sin)(np.array([np.inf, -np.inf, np.nan], F32))).all()
    np.testing.assert_array_equal(tfn.jit(tnp.expm1)(np.array([-np.inf, np.inf, -0.0], F32)), [-1.0, np.inf, -0.0])
    np.testing.assert_array_equal(tfn.jit(tnp.log1p)(np.array([-1.0, np.inf, -0.0], F32)), [-np.inf, np.inf, -0.0])
    r = tfn.jit(tnp.erf)(np.array([-0.0, 0.0, np.inf, -np.inf, 30.0, -30.0, np.nan], F32))
    np.testing.assert_array_equal(r, [-0.0, 0.0, 1.0, -1.0, 1.0, -1.0, np.nan])
    assert np.signbit(r[0]) and not np.signbit(r[1])


def test_f32_subnormal_results():
    # exp underflows gradually through the subnormals, like numpy.
    x = np.linspace(-103.9, -87.4, 5001, dtype=np.float64).astype(F32)
    got = tfn.jit(tnp.exp)(x)
    ref = np.exp(x.astype(np.float64)).astype(F32)
    assert np.max(np.abs(got.astype(np.float64) - ref) / np.spacing(ref)) <= 1.0


F64_CASES = {"exp": (tnp.exp, np.exp, (-700, 700)), "log": (tnp.log, np.log, (1e-300, 1e300)),
             "log1p": (tnp.log1p, np.log1p, (-0.999, 1e3)), "expm1": (tnp.expm1, np.expm1, (-50, 50)),
             "tanh": (tnp.tanh, np.tanh, (-20, 20)), "sin": (tnp.sin, np.sin, (-1e4, 1e4)),
             "cos": (tnp.cos, np.cos, (-1e4, 1e4)), "erf": (tnp.erf, _erf64, (-6, 6))}


@pytest.mark.parametrize("name", sorted(F64_CASES))
def test_f64_accuracy(name, rng):
    fn, ref, (lo, hi) = F64_CASES[name]
    x = np.concatenate([rng.uniform(lo, hi, 20000), np.linspace(lo, hi, 20000),
                        [0.0, -0.0, np.inf, -np.inf, np.nan]])
    if name == "log":
        x = np.concatenate([np.exp(rng.uniform(-690, 690, 20000)), [0.0, np.inf, np.nan, 1.0]])
    got = tfn.jit(fn)(x)
    with np.errstate(all="ignore"):
        want = ref(x)
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=1e-300, equal_nan=True)
