"""numpy dtypes <-> MLIR element types, and tensor type helpers."""
from __future__ import annotations

import sys

import numpy as np
from mlir import ir

# The dtypes tfn computes in, by numpy's name, in numpy's promotion order within each kind.
# bfloat16 is ml_dtypes' (numpy has none; JAX uses the same one). It is named, not imported:
# loading ml_dtypes' extension costs ~0.7 s, so it is imported where a bfloat16 is first made
# (`bfloat16()`), and an array that already is one says so by its dtype's name.
SUPPORTED_DTYPES = ("bool", "int32", "int64", "float16", "bfloat16", "float32", "float64")

_TO_MLIR = {
    np.dtype(np.bool_): lambda: ir.IntegerType.get_signless(1),
    np.dtype(np.int32): lambda: ir.IntegerType.get_signless(32),
    np.dtype(np.int64): lambda: ir.IntegerType.get_signless(64),
    np.dtype(np.float16): ir.F16Type.get,
    np.dtype(np.float32): ir.F32Type.get,
    np.dtype(np.float64): ir.F64Type.get,
}   # and bfloat16 -> ir.BF16Type, by name (`is_bfloat16`)


class DtypeError(TypeError):
    """A dtype tfn does not compute in (complex, strings, objects, ...)."""


_BFLOAT16: np.dtype | None = None


def bfloat16() -> np.dtype:
    """ml_dtypes' bfloat16 dtype (8 exponent bits like float32, 8 significand bits), imported
    on first use.

        >>> bfloat16().name, bfloat16().itemsize
        ('bfloat16', 2)
    """
    global _BFLOAT16
    if _BFLOAT16 is None:
        module = sys.modules.get("ml_dtypes")
        if module is None:
            import ml_dtypes as module
        _BFLOAT16 = np.dtype(module.bfloat16)
    return _BFLOAT16


def is_bfloat16(dtype) -> bool:
    d = np.dtype(dtype)
    return d.kind == "V" and d.itemsize == 2 and d.name == "bfloat16"   # `name` costs microseconds: last


def canonical_dtype(dtype) -> np.dtype:
    """Maps any numpy-understood dtype to one tfn supports, or raises TypeError.

    Byte order is dropped (data is converted to native order where it enters), narrow
    integer types widen: int8/16 and uint8/16 -> int32, uint32 and uint64 -> int64
    (uint64 values above 2**63 - 1 do not fit and wrap). float16 and bfloat16 stay.

        >>> canonical_dtype(">f4"), canonical_dtype(np.int8), canonical_dtype(np.float16)
        (dtype('float32'), dtype('int32'), dtype('float16'))
    """
    d = np.dtype(dtype)
    if not d.isnative:
        d = d.newbyteorder("=")
    if d in _TO_MLIR or is_bfloat16(d):
        return d
    if (d.kind == "i" and d.itemsize <= 4) or (d.kind == "u" and d.itemsize <= 2):
        return np.dtype(np.int32)
    if d.kind in "iu":
        return np.dtype(np.int64)
    raise DtypeError(f"tfn does not support dtype {d} (supported: {', '.join(SUPPORTED_DTYPES)})")


def input_array(x) -> np.ndarray:
    """`x` (an array, numpy scalar, Python number or nested list) as a C-ordered numpy array
    in native byte order and a dtype tfn supports: what every array entering tfn becomes.

        >>> input_array(np.ones(2, ">f4")).dtype.str
        '<f4'
    """
    a = np.asarray(x)
    dtype = canonical_dtype(a.dtype)
    if a.dtype != dtype or not a.flags.c_contiguous:
        a = np.asarray(a, dtype=dtype, order="C")
    return a


def to_element_type(dtype) -> ir.Type:
    """The MLIR element type of a numpy dtype (the inverse of `to_dtype`)."""
    d = canonical_dtype(dtype)
    return ir.BF16Type.get() if d.kind == "V" else _TO_MLIR[d]()


# By the class the bindings give an element type (a hot path: printing a type costs ~3 us).
_FROM_CLASS = {ir.F32Type: np.dtype(np.float32), ir.F64Type: np.dtype(np.float64), ir.F16Type: np.dtype(np.float16)}
_FROM_INT_WIDTH = {1: np.dtype(np.bool_), 32: np.dtype(np.int32), 64: np.dtype(np.int64)}


def to_dtype(element: ir.Type) -> np.dtype:
    dtype = _FROM_CLASS.get(type(element))
    if dtype is not None:
        return dtype
    if type(element) is ir.BF16Type:
        return bfloat16()
    if type(element) is ir.IntegerType and element.is_signless and element.width in _FROM_INT_WIDTH:
        return _FROM_INT_WIDTH[element.width]
    raise TypeError(f"tfn does not support element type {element}")


def tensor_type(shape, dtype) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(list(shape), to_element_type(dtype))


def shape_of(value: ir.Value) -> tuple[int, ...]:
    return tuple(ir.RankedTensorType(value.type).shape)


def dtype_of(value: ir.Value) -> np.dtype:
    return to_dtype(ir.RankedTensorType(value.type).element_type)


def is_float_dtype(dtype) -> bool:
    """A floating-point dtype: numpy's kind "f", or bfloat16 (whose numpy kind is "V").

        >>> is_float_dtype(np.float16), is_float_dtype(bfloat16()), is_float_dtype(np.int32)
        (True, True, False)
    """
    d = np.dtype(dtype)
    return d.kind == "f" or is_bfloat16(d)

