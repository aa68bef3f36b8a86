"""Pass `tfn-verify`: the shape and dtype rules of tfn ops that IRDL cannot state.

Each op's operands and attributes go through the same builder the tracer uses, in a
scratch block (`tfn.dialect.verifier.SHAPE_RULES`, filled by the family modules of
`tfn.ops`); the builder's inferred result type must equal the op's, and a builder's
ShapeError becomes a diagnostic at the op's location.
"""
from __future__ import annotations

from mlir import ir

from tfn import ops  # noqa: F401 - imports every op family, which registers its shape rule
from tfn.dialect.core import ShapeError
from tfn.dialect.verifier import SHAPE_RULES


class VerificationError(ValueError):
    def __init__(self, message: str, location: ir.Location):
        super().__init__(message)
        self.location = location


def verify_op(op: ir.Operation, scratch: ir.Block) -> str | None:
    """The error message for `op`, or None when its result type is the inferred one."""
    rebuild = SHAPE_RULES.get(op.name)
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
