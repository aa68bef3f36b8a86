"""numpy dtypes <-> MLIR element types, and tensor type helpers."""
from __future__ import annotations

import numpy as np
from mlir import ir

# The dtypes tfn computes in, in numpy's promotion order within each kind.
SUPPORTED_DTYPES = (np.dtype(np.bool_), np.dtype(np.int32), np.dtype(np.int64),
                    np.dtype(np.float32), np.dtype(np.float64))

_TO_MLIR = {
    np.dtype(np.bool_): lambda: ir.IntegerType.get_signless(1),
    np.dtype(np.int32): lambda: ir.IntegerType.get_signless(32),
    np.dtype(np.int64): lambda: ir.IntegerType.get_signless(64),
    np.dtype(np.float32): ir.F32Type.get,
    np.dtype(np.float64): ir.F64Type.get,
}
_FROM_MLIR = {"i1": np.dtype(np.bool_), "i32": np.dtype(np.int32), "i64": np.dtype(np.int64),
              "f32": np.dtype(np.float32), "f64": np.dtype(np.float64)}


class DtypeError(TypeError):
    """A dtype tfn does not compute in (complex, strings, objects, ...)."""


def canonical_dtype(dtype) -> np.dtype:
    """Maps any numpy-understood dtype to one tfn supports, or raises TypeError.

    Byte order is dropped (data is converted to native order where it enters), narrow
    types widen: float16 -> float32, int8/16 and uint8/16 -> int32, uint32 and uint64 -> int64
    (uint64 values above 2**63 - 1 do not fit and wrap).

        >>> canonical_dtype(">f4"), canonical_dtype(np.int8)
        (dtype('float32'), dtype('int32'))
    """
    d = np.dtype(dtype)
    if not d.isnative:
        d = d.newbyteorder("=")
    if d in _TO_MLIR:
        return d
    if d.kind == "f" and d.itemsize < 4:
        return np.dtype(np.float32)
    if (d.kind == "i" and d.itemsize <= 4) or (d.kind == "u" and d.itemsize <= 2):
        return np.dtype(np.int32)
    if d.kind in "iu":
        return np.dtype(np.int64)
    raise DtypeError(f"tfn does not support dtype {d} (supported: bool, int32, int64, float32, float64)")


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
    return _TO_MLIR[canonical_dtype(dtype)]()


# By the class the bindings give an element type (a hot path: printing a type costs ~3 us).
_FROM_CLASS = {ir.F32Type: np.dtype(np.float32), ir.F64Type: np.dtype(np.float64)}
_FROM_INT_WIDTH = {1: np.dtype(np.bool_), 32: np.dtype(np.int32), 64: np.dtype(np.int64)}


def to_dtype(element: ir.Type) -> np.dtype:
    dtype = _FROM_CLASS.get(type(element))
    if dtype is not None:
        return dtype
    if type(element) is ir.IntegerType and element.is_signless and element.width in _FROM_INT_WIDTH:
        return _FROM_INT_WIDTH[element.width]
    try:
        return _FROM_MLIR[str(element)]
    except KeyError:
        raise TypeError(f"tfn does not support element type {element}") from None


def tensor_type(shape, dtype) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(list(shape), to_element_type(dtype))


def shape_of(value: ir.Value) -> tuple[int, ...]:
    return tuple(ir.RankedTensorType(value.type).shape)


def dtype_of(value: ir.Value) -> np.dtype:
    return to_dtype(ir.RankedTensorType(value.type).element_type)


def is_float_dtype(dtype) -> bool:
    return np.dtype(dtype).kind == "f"
