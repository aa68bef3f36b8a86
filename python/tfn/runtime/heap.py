"""Giving freed heap memory back to the operating system.

A compiled program (its ExecutionEngine, ~0.8 MB even for a tiny function) and the
IR of a compile are freed with their Python objects, but glibc's malloc keeps freed
pages in its arenas, so the process's resident size does not go down and a process
that compiles many short-lived programs looks like it leaks. `trim()` asks malloc to
return them (`malloc_trim`); elsewhere it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=None)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


def trim() -> None:
    """Returns the heap's free pages to the OS where the C library can (glibc)."""
    fn = _malloc_trim()
    if fn is not None:
        fn(0)
