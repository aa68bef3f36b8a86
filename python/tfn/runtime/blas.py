"""Loads the CBLAS that numpy ships into the process, so JIT-compiled gemm calls resolve.

numpy's wheels bundle OpenBLAS built with 64-bit integers and prefixed symbols
(`numpy.libs/libscipy_openblas64_*.so`, `scipy_cblas_sgemm64_`). Loading it with
RTLD_GLOBAL (numpy itself loads it locally) makes its symbols visible to the
ExecutionEngine's symbol lookup; it is the same library instance numpy uses, so
its thread pool is shared. Where numpy links another BLAS, `available()` is False
and contractions compile to loops.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import os

from tfn.passes.linalg_to_blas import GEMM_SYMBOLS


def _candidates() -> list[str]:
    import numpy as np
    root = os.path.dirname(os.path.dirname(np.__file__))
    return sorted(glob.glob(os.path.join(root, "numpy.libs", "libscipy_openblas64_*.so"))) + \
        sorted(glob.glob(os.path.join(root, "scipy_openblas64", "lib", "libscipy_openblas64_*.so")))


@functools.lru_cache(maxsize=None)
def library() -> str | None:
    """Path of the loaded BLAS exporting every symbol in GEMM_SYMBOLS, or None."""
    if os.environ.get("TFN_NO_BLAS"):
        return None
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        if all(hasattr(lib, s) for s in GEMM_SYMBOLS.values()):
            return path
    return None


def available() -> bool:
    return library() is not None
