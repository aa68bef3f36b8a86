"""Shared helpers of the numerical tests: inputs by domain, and comparison against numpy.

Tolerances: float64 agrees with numpy to 1e-12 relative; float32 to a few ulps
(1e-6 relative, the acceptance bound). Both add an absolute term scaled by the largest magnitude in
the reference (or in the inputs, for reductions and contractions).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

# The tests are of this checkout's sources, in this process and in the tools it starts, whatever
# an editable install elsewhere points at (test_package.py checks the installed package apart).
_SOURCES = str(Path(__file__).resolve().parents[2] / "python")
sys.path.insert(0, _SOURCES)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SOURCES, os.environ.get("PYTHONPATH")) if p)

RTOL = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def make_array(shape, dtype, domain="real", seed=0) -> np.ndarray:
    """A deterministic input of `shape` and `dtype` drawn from `domain`."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind == "i":
        low, high = {"pos": (1, 6), "nonneg": (0, 4), "unit": (-1, 2)}.get(domain, (-5, 6))
        return rng.integers(low, high, size=shape).astype(dtype)
    if domain == "pos":
        data = rng.uniform(0.5, 3.0, size=shape)
    elif domain == "unit":
        data = rng.uniform(-0.9, 0.9, size=shape)
    elif domain == "large":
        data = rng.choice([-1e3, -80.0, -30.0, -1.0, 0.0, 1.0, 30.0, 80.0, 1e3], size=shape)
    else:
        data = rng.standard_normal(shape) * 2
    return np.asarray(data, dtype=dtype)


def assert_close(out, ref, scale=1.0, rtol=None) -> None:
    """`out` (from tfn) has numpy's dtype and shape, and its values to the dtype's tolerance.

    The absolute tolerance is rtol * max(scale, max |ref|): pass the inputs' magnitude
    as `scale` for reductions and contractions, whose rounding error grows with it, and
    0 for elementwise results that must match to relative precision.
    """
    ref_arr, out_arr = np.asarray(ref), out
    assert isinstance(out_arr, np.ndarray), f"expected a numpy array, got {type(out).__name__}"
    assert out_arr.dtype == ref_arr.dtype, f"dtype {out_arr.dtype}, numpy gives {ref_arr.dtype}"
    assert out_arr.shape == ref_arr.shape, f"shape {out_arr.shape}, numpy gives {ref_arr.shape}"
    if ref_arr.dtype.kind != "f":
        np.testing.assert_array_equal(out_arr, ref_arr)
        return
    rtol = RTOL[ref_arr.dtype] if rtol is None else rtol
    scale = max(scale, np.abs(ref_arr[np.isfinite(ref_arr)]).max(initial=0.0)) if scale else 0.0
    np.testing.assert_allclose(out_arr, ref_arr, rtol=rtol, atol=rtol * scale)


def magnitude(*arrays) -> float:
    """Largest finite |x| over numeric arrays (the scale of a reduction's rounding error)."""
    return max([0.0] + [float(np.abs(a[np.isfinite(a)]).max(initial=0.0)) for a in map(np.asarray, arrays)
                        if a.dtype.kind in "fi"])


def c_compiler() -> str:
    """The C compiler ($CC, else cc, gcc or clang on PATH), or skips the test where there is none."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        path = shutil.which(name.split()[0]) if name else None
        if path:
            return path
    pytest.skip("no C compiler is installed")


def cmake_tools() -> tuple[str, str]:
    """(cmake, ctest), or skips the test where they or a C compiler are missing."""
    cmake, ctest = shutil.which("cmake"), shutil.which("ctest")
    if cmake is None or ctest is None:
        pytest.skip("cmake is not installed")
    c_compiler()
    return cmake, ctest


def small_ints_or_normals(shape, dtype, seed=0) -> np.ndarray:
    """Random values of `dtype`: bools half true, integers in [-20, 20), floats standard normal."""
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind == "i":
        return rng.integers(-20, 20, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def check_dot_product(f, args, rng, rel: float = 1e-10) -> None:
    """<J v, w> = <v, J^T w> for random v, w: ties reverse mode (every transpose rule) to forward mode."""
    import tfn
    v = [rng.standard_normal(np.shape(a)) for a in args]
    out, jv = tfn.jvp(f, tuple(args), tuple(v))
    w = rng.standard_normal(np.shape(out))
    _, vjp_fn = tfn.vjp(f, *args)
    jtw = vjp_fn(w)
    assert float(np.sum(jv * w)) == pytest.approx(sum(float(np.sum(a * b)) for a, b in zip(v, jtw)), rel=rel)


def example_of(args, in_dims, i: int) -> list:
    """Example `i` of a vmap's arguments: each batched one indexed along its batch dim (`in_dims`),
    the unbatched ones (None) as they are."""
    return [a if d is None else np.take(a, i, axis=d) for a, d in zip(args, in_dims)]


def loop_reference(f, args, in_dims) -> np.ndarray:
    """What vmap(f, in_dims) must give with out_dims=0: f of each example, stacked."""
    size = next(np.shape(a)[d] for a, d in zip(args, in_dims) if d is not None)
    return np.stack([np.asarray(f(*example_of(args, in_dims, i))) for i in range(size)])
