"""What every op builder needs: creating a tfn op, reporting bad shapes, reading attributes back.

The builders themselves live with the rest of each op's rules in `tfn.ops.<family>`;
this module is the small shared base they (and the rule tables of the interpreters)
stand on, so that the tables never need to import `tfn.ops`.

`BUILDERS` maps each op name to its builder. The generic helpers of the interpreters
(`add_any`, `moveaxis`, ...) build the few ops they need through it, by name
(`BUILDERS["tfn.add"](a, b)`).

    >>> from mlir import ir
    >>> from tfn.dialect import new_context
    >>> with new_context(), ir.Location.unknown():
    ...     m = ir.Module.create()
    ...     with ir.InsertionPoint(m.body):
    ...         fail("reshape", "cannot reshape to (5,)")
    Traceback (most recent call last):
    ...
    tfn.dialect.core.ShapeError: tfn.reshape: cannot reshape to (5,)
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

from mlir import ir

from tfn.dialect.types import dtype_of, shape_of, tensor_type

# "tfn.add" -> tfn.ops.add, filled by the family modules of tfn.ops.
BUILDERS: dict[str, Callable[..., ir.Value]] = {}


class ShapeError(TypeError, ValueError):
    """Bad shapes or dtypes given to a tfn op; the message names the op, the shapes and the source line."""


_LOC_FILE_LINE = re.compile(r'loc\("([^"]*)":(\d+)(?::\d+)?')


def source_line() -> str:
    """'file:line' of the current location, or '' when it is unknown."""
    try:
        text = str(ir.Location.current)
    except ValueError:
        return ""
    match = _LOC_FILE_LINE.search(text)
    return f"{match.group(1)}:{match.group(2)}" if match else ""


def fail(op: str, message: str, *values_or_shapes) -> None:
    """Raises ShapeError for `tfn.<op>`, naming the operands' types and the user's line."""
    shapes = ", ".join(_describe(v) for v in values_or_shapes)
    where = source_line()
    text = f"tfn.{op}: {message}" + (f" (got {shapes})" if shapes else "") + (f"\n  at {where}" if where else "")
    raise ShapeError(text)


def _describe(v) -> str:
    if isinstance(v, ir.Value):
        return f"{dtype_of(v).name}{list(shape_of(v))}"
    return str(v)


def i64_array(values: Sequence[int]) -> ir.DenseI64ArrayAttr:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])


def i64_attr(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)


def create(name: str, operands: list, result_type: ir.Type, attributes: dict | None = None) -> ir.Value:
    """`tfn.<name>` with one result, at the current insertion point and location; no checks."""
    op = ir.Operation.create("tfn." + name, results=[result_type], operands=operands,
                             attributes=attributes or {})
    return op.result


def result_type_like(value: ir.Value, shape=None, dtype=None) -> ir.Type:
    """The tensor type of `value` with `shape` and/or `dtype` replaced."""
    if dtype is None:  # the operand's element type as it is (no dtype round trip)
        t = ir.RankedTensorType(value.type)
        return ir.RankedTensorType.get(t.shape if shape is None else list(shape), t.element_type)
    return tensor_type(shape_of(value) if shape is None else shape, dtype)


# ---------------------------------------------------------------- reading attributes back

def int_array(op: ir.Operation, name: str) -> list[int]:
    attr = ir.DenseI64ArrayAttr(op.attributes[name])
    return [attr[i] for i in range(len(attr))]  # indexing: ~7x faster than the attribute's iterator


def int_attr(op: ir.Operation, name: str) -> int:
    return ir.IntegerAttr(op.attributes[name]).value


def str_attr(op: ir.Operation, name: str) -> str:
    return ir.StringAttr(op.attributes[name]).value
