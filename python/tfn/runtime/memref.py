"""Memref descriptors for numpy arrays, built once per signature and re-pointed per call."""
from __future__ import annotations

import ctypes

_DESCRIPTOR_TYPES: dict[int, type] = {}


def descriptor_type(rank: int) -> type:
    """ctypes struct of MLIR's ranked memref descriptor (element type erased)."""
    if rank not in _DESCRIPTOR_TYPES:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p), ("offset", ctypes.c_longlong)]
        if rank:
            fields += [("shape", ctypes.c_longlong * rank), ("strides", ctypes.c_longlong * rank)]
        _DESCRIPTOR_TYPES[rank] = type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})
    return _DESCRIPTOR_TYPES[rank]


def make_descriptor(shape: tuple[int, ...]):
    """A descriptor for a contiguous row-major array of `shape` (pointer set later)."""
    desc = descriptor_type(len(shape))()
    desc.offset = 0
    stride = 1
    for i in reversed(range(len(shape))):
        desc.shape[i] = shape[i]
        desc.strides[i] = stride
        stride *= shape[i]
    return desc
