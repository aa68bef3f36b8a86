"""Pass `tfn-verify`: the shape and dtype rules of tfn ops that IRDL cannot state.

Each op's operands and attributes go through the same builder the tracer uses, in a
scratch block; the builder's inferred result type must equal the op's, and a
builder's ShapeError becomes a diagnostic at the op's location.
"""
from __future__ import annotations

from mlir import ir

from tfn.dialect import ops
from tfn.dialect.ops import ShapeError, int_array, int_attr, str_attr
from tfn.dialect.types import dtype_of, shape_of


def _result_shape(op):
    return shape_of(op.results[0])


def _reduce(op, x):
    return ops.reduce(op.name[len("tfn.reduce_"):], x, int_array(op, "dimensions"))


REBUILD = {
    **{f"tfn.{n}": (lambda op, x, n=n: ops.unary(n, x)) for n in ops.UNARY_OPS},
    **{f"tfn.{n}": (lambda op, a, b, n=n: ops.binary(n, a, b)) for n in ops.BINARY_OPS},
    **{f"tfn.{n}": _reduce for n in ops.REDUCE_OPS},
    "tfn.compare": lambda op, a, b: ops.compare(str_attr(op, "direction"), a, b),
    "tfn.select": lambda op, p, a, b: ops.select(p, a, b),
    "tfn.convert": lambda op, x: ops._create("convert", [x], op.results[0].type)
    if shape_of(x) == _result_shape(op) else ops.fail("convert", "changes the shape", x, op.results[0]),
    "tfn.broadcast_in_dim": lambda op, x: ops.broadcast_in_dim(x, _result_shape(op), int_array(op, "broadcast_dimensions")),
    "tfn.reshape": lambda op, x: ops._create("reshape", [x], op.results[0].type)
    if _result_shape(op) != shape_of(x) else ops.reshape(x, _result_shape(op)),
    "tfn.transpose": lambda op, x: ops.transpose(x, int_array(op, "permutation")),
    "tfn.slice": lambda op, x: ops.slice(x, int_array(op, "start_indices"), int_array(op, "limit_indices"),
                                         int_array(op, "strides")),
    "tfn.concatenate": lambda op, a, b: ops.concatenate(a, b, int_attr(op, "dimension")),
    "tfn.pad": lambda op, x, v: ops.pad(x, v, int_array(op, "edge_padding_low"), int_array(op, "edge_padding_high"),
                                        int_array(op, "interior_padding")),
    "tfn.dot_general": lambda op, a, b: ops.dot_general(
        a, b, (int_array(op, "lhs_batching_dimensions"), int_array(op, "rhs_batching_dimensions")),
        (int_array(op, "lhs_contracting_dimensions"), int_array(op, "rhs_contracting_dimensions"))),
    "tfn.iota": lambda op: ops.iota(_result_shape(op), int_attr(op, "dimension"), dtype_of(op.results[0])),
    "tfn.constant": lambda op: ops._create("constant", [], ir.DenseElementsAttr(op.attributes["value"]).type),
    "tfn.random_bits": lambda op, key: ops.random_bits(key, _result_shape(op)[len(shape_of(key)) - 1:]),
}


class VerificationError(ValueError):
    def __init__(self, message: str, location: ir.Location):
        super().__init__(message)
        self.location = location


def verify_op(op: ir.Operation, scratch: ir.Block) -> str | None:
    """The error message for `op`, or None when its result type is the inferred one."""
    rebuild = REBUILD.get(op.name)
    if rebuild is None:
        return None
    try:
        with ir.InsertionPoint(scratch), op.location:
            inferred = rebuild(op, *op.operands)
    except ShapeError as e:
        return str(e).split("\n")[0]
    if inferred.type != op.results[0].type:
        return (f"{op.name}: result type {op.results[0].type} does not match the inferred type {inferred.type}")
    return None


def verify_shapes(module_op: ir.Operation) -> None:
    """Raises VerificationError at the first tfn op whose types break its shape rules."""
    with module_op.context, ir.Location.unknown():
        holder = ir.Module.create()
        scratch = holder.body
        found = []

        def check(op):
            op = op.operation
            if op.name.startswith("tfn."):
                error = verify_op(op, scratch)
                if error:
                    found.append((error, op.location))
                    return ir.WalkResult.INTERRUPT
            return ir.WalkResult.ADVANCE
        module_op.walk(check)
    if found:
        raise VerificationError(*found[0])


NAME, DESCRIPTION, run = "tfn-verify", "Check the shape and dtype rules of tfn ops (IRDL checks only kinds)", verify_shapes
