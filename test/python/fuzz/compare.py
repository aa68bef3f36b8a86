"""Comparing a tfn result with numpy's, aware of dtypes and of how well-conditioned the program is.

numpy runs the program three times: at the inputs' dtypes (the reference for dtype and
shape), in higher precision (float32 -> float64, float64 -> long double: the reference
for values), and in higher precision at slightly perturbed inputs. Elements where these
disagree grossly (a comparison, floor or argmax that flips, an overflow to inf) are
ill-conditioned and not checked; elsewhere the tolerance is the dtype's relative
tolerance plus a multiple of numpy's own rounding error (its distance from the
high-precision run), which grows with cancellation.
"""
from __future__ import annotations

import warnings

import numpy as np

from tfn.dialect.types import canonical_dtype

RTOL = {np.dtype(np.float32): 3e-5, np.dtype(np.float64): 1e-10}
# tfn against tfn (two transforms that must agree): no numpy rounding error to scale with.
RTOL_SELF = {np.dtype(np.float32): 2e-4, np.dtype(np.float64): 1e-9}
GROSS = 1e-3          # relative disagreement between references that marks an element ill-conditioned
PERTURB = 1e-6


class CheckFailed(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class Skip(Exception):
    """The check does not apply to this case (ill-conditioned, not smooth, ...)."""


def quiet(fn, *args):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def upcast(x):
    """float32 -> float64, float64 -> long double; other inputs unchanged."""
    if isinstance(x, np.ndarray) and x.dtype == np.float32:
        return x.astype(np.float64)
    if isinstance(x, np.ndarray) and x.dtype == np.float64:
        return x.astype(np.longdouble)
    return x


def perturb(x, rng):
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x * (1 + PERTURB * rng.standard_normal(x.shape)).astype(x.dtype)
    return x


class _HighPrecisionNumpy:
    """numpy with float32 read as float64 and float64 as long double, for the high-precision runs."""
    float32, float64 = np.float64, np.longdouble

    def __getattr__(self, name):
        return getattr(np, name)


HI = _HighPrecisionNumpy()

# Functions whose last-ulp result differs between correct implementations (numpy's SIMD code,
# libm, tfn's approximations): the perturbed runs move their results a little both ways, so
# an element that a discontinuous op downstream (floor, a comparison) decides from that last
# ulp is found ill-conditioned even when the program's inputs are integers.
_ROUNDED = {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "tanh",
            "sinh", "cosh", "sqrt", "power", "logaddexp", "divide", "true_divide", "reciprocal"}


class _Jittered:
    """An array namespace whose `_ROUNDED` functions scale float results by (1 + shift)."""

    def __init__(self, base, shift: float):
        self.base, self.shift = base, shift

    def __getattr__(self, name):
        fn = getattr(self.base, name)
        if name not in _ROUNDED:
            return fn

        def jittered(*args, **kwargs):
            out = fn(*args, **kwargs)
            return out * (1 + self.shift) if np.asarray(out).dtype.kind == "f" else out
        return jittered


def _outputs(result) -> list:
    return [np.asarray(r) for r in result] if isinstance(result, (tuple, list)) else [np.asarray(result)]


def references(f, inputs, rng) -> list[tuple]:
    """Per output of f(xp, *inputs) under numpy: (native, high precision, high precision perturbed)."""
    native = _outputs(quiet(f, np, *inputs))
    hi_inputs = [upcast(x) for x in inputs]
    try:
        hi = _outputs(quiet(f, HI, *hi_inputs))
        moved = [perturb(x, rng) for x in hi_inputs]
        up = _outputs(quiet(f, _Jittered(HI, PERTURB), *moved))
        down = _outputs(quiet(f, _Jittered(HI, -PERTURB), *moved))
        # Per element, whichever perturbed run disagrees with the high-precision one (if any).
        pert = [np.where(u != h, u, d) if u.shape == d.shape == h.shape else u
                for u, d, h in zip(up, down, hi)]
    except Exception:      # a numpy function without long double support: no extra references
        hi = pert = native
    return [(n, h, p) if h.shape == n.shape and p.shape == n.shape else (n, n, n)
            for n, h, p in zip(native, hi, pert)]


def check_outputs(got, refs: list[tuple], what: str, low_precision: bool = False) -> int:
    """check_result for each output of a program that returns one array or a tuple of them."""
    if len(refs) == 1 and not isinstance(got, (tuple, list)):
        return check_result(got, refs[0], what, low_precision)
    if not isinstance(got, (tuple, list)) or len(got) != len(refs):
        raise CheckFailed("type", f"{what}: expected {len(refs)} outputs, got {type(got).__name__}")
    return sum(check_result(g, r, f"{what} output {i}", low_precision) for i, (g, r) in enumerate(zip(got, refs)))


def _wide(x, dtype):
    return np.asarray(x).astype(np.longdouble if dtype == np.float64 else np.float64)


def check_result(got, refs, what: str = "result", low_precision: bool = False) -> int:
    """Raises CheckFailed unless got matches refs = (native, hi, pert); returns elements checked."""
    native, hi, pert = refs
    if isinstance(got, (np.generic, bool, int, float)):   # eager calls: scalars where numpy gives them
        got = np.asarray(got)
    if not isinstance(got, np.ndarray):
        raise CheckFailed("type", f"{what}: expected a numpy array, got {type(got).__name__}")
    if native.dtype != canonical_dtype(native.dtype):
        # tfn has no int8/int16: where numpy's result is one, tfn's is the widened
        # dtype by design (README, "Where tfn differs"); values must still agree.
        native, hi, pert = (np.asarray(r).astype(canonical_dtype(native.dtype)) for r in refs)
    if got.dtype != native.dtype:
        raise CheckFailed("dtype", f"{what}: dtype {got.dtype}, numpy gives {native.dtype}")
    if got.shape != native.shape:
        raise CheckFailed("shape", f"{what}: shape {got.shape}, numpy gives {native.shape}")
    if native.size == 0:
        return 0
    if native.dtype.kind != "f":
        ok = (np.asarray(hi) == native) & (np.asarray(pert) == native)
        bad = ok & (got != native)
        if bad.any():
            i = tuple(int(k) for k in np.argwhere(bad)[0])
            raise CheckFailed("mismatch", f"{what}: {int(bad.sum())} of {native.size} elements differ; "
                                          f"at {i}: got {got[i]!r}, numpy gives {native[i]!r}\n"
                                          f"got:\n{got!r}\nnumpy:\n{native!r}")
        return int(ok.sum())
    d = native.dtype
    g, n, h, p = (_wide(x, d) for x in (got, native, hi, pert))
    finite = np.isfinite(h)
    scale = float(np.abs(h[finite]).max(initial=0.0))
    same_class = (np.isnan(n) == np.isnan(h)) & (np.isnan(p) == np.isnan(h)) & \
                 (np.isinf(n) == np.isinf(h)) & (np.isinf(p) == np.isinf(h)) & \
                 np.where(np.isinf(h), (n == h) & (p == h), True)    # e.g. 1 / max(-0.0, 0.0): either sign
    with np.errstate(all="ignore"):
        gross = GROSS * (np.abs(h) + scale)
        stable = same_class & ~(finite & ((np.abs(p - h) > gross) | (np.abs(n - h) > gross)))
        spread = float(np.abs(n - h)[stable & finite].max(initial=0.0))
        rtol = RTOL[np.dtype(np.float32)] if low_precision else RTOL[d]
        tol = rtol * (np.abs(h) + scale) + 4 * spread
        err = np.abs(g - h)
        bad_finite = stable & finite & ~(err <= tol)
        bad_special = stable & ~finite & ~((g == h) | (np.isnan(g) & np.isnan(h)))
    bad = bad_finite | bad_special
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        raise CheckFailed("mismatch", f"{what}: {int(bad.sum())} of {native.size} elements differ beyond "
                                      f"tolerance; at {i}: got {got[i]!r}, numpy gives {native[i]!r} "
                                      f"(high precision {float(h[i])!r}, tolerance {float(tol[i]):.3g})\n"
                                      f"got:\n{got!r}\nnumpy:\n{native!r}")
    return int(stable.sum())


def check_self(got, want, what: str, low_precision: bool = False, same_dtype: bool = True) -> int:
    """got and want, both from tfn (two ways to the same quantity), agree to RTOL_SELF."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise CheckFailed("shape", f"{what}: shape {got.shape}, expected {want.shape}")
    if same_dtype and got.dtype != want.dtype:
        raise CheckFailed("dtype", f"{what}: dtype {got.dtype}, expected {want.dtype}")
    if want.dtype.kind != "f":
        if not np.array_equal(got, want):
            raise CheckFailed("mismatch", f"{what}: values differ\ngot:\n{got!r}\nexpected:\n{want!r}")
        return got.size
    finite = np.isfinite(want) & np.isfinite(got)
    if not finite.all():
        raise Skip("non-finite values")
    rtol = RTOL_SELF[np.dtype(np.float32) if low_precision or got.dtype == np.float32 else want.dtype]
    scale = float(np.abs(want).max(initial=0.0))
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = err > rtol * (np.abs(want) + scale)
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        raise CheckFailed("mismatch", f"{what}: {int(bad.sum())} of {want.size} elements differ; at {i}: "
                                      f"got {got[i]!r}, expected {want[i]!r}\ngot:\n{got!r}\nexpected:\n{want!r}")
    return got.size
