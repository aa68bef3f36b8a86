"""Reductions (reduce_sum, reduce_max, reduce_min, reduce_prod) over a set of dimensions.

Each op's block: its JVP (and transpose, for reduce_sum, the one JVP rules emit on
tangents), then its row `reduce_op(kind, ...)`, which also registers the builder,
the shape rule, the batching rule (the batch dim is kept, the reduced dims shift
around it) and the lowering (a linalg.generic combining with the binary op's scalar
body, from that op's identity).
"""
from __future__ import annotations

from typing import Callable, Sequence

from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import TRANSPOSE_RULES, defjvp
from tfn.batching.rules import defreducer
from tfn.dialect.core import BUILDERS, create, fail, i64_array, int_array, result_type_like
from tfn.dialect.types import dtype_of, shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import (LOWERINGS, accumulator_type, builders, cast_scalar, convert_elements,
                                identity_element, scalar_body)

_names: list[str] = []


def reduce(kind: str, x: ir.Value, dimensions: Sequence[int]) -> ir.Value:
    """`tfn.reduce_<kind>` over `dimensions`, which leave the result shape (x itself for none)."""
    name = "reduce_" + kind
    if name not in _names:
        fail(name, "unknown reduction")
    src = shape_of(x)
    dims = sorted({int(d) for d in dimensions})
    if any(not 0 <= d < len(src) for d in dims):
        fail(name, f"dimensions {dims} out of range", x)
    if not dims:
        return x
    out = [n for i, n in enumerate(src) if i not in dims]
    return create(name, [x], result_type_like(x, shape=out), {"dimensions": i64_array(dims)})


def reduce_op(kind: str, *, combine: str, jvp: Callable, emits: Sequence[str],
              transpose: Callable | None = None) -> Callable[..., ir.Value]:
    """Defines `tfn.reduce_<kind>` and its rules; returns its builder `(x, dimensions)`.

    combine: the binary op whose scalar body accumulates (sum: "add"); jvp: the JVP rule,
    which applies the ops `emits` to tangents; transpose: its transpose rule, if it is one
    of those.
    """
    name = "reduce_" + kind
    op_name = "tfn." + name

    def build(x: ir.Value, dimensions: Sequence[int]) -> ir.Value:
        return reduce(kind, x, dimensions)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"`tfn.{name}` of x over `dimensions`."

    def lower(op, x):
        dims, src, elem = int_array(op, "dimensions"), builders.shape(x), builders.element_type(x)
        if not dims:
            return x  # nothing reduced (and an all-parallel generic must not read its `outs`)
        # sum and prod of 16-bit floats accumulate in f32 (max and min are exact in any type)
        acc = accumulator_type(elem) if kind in ("sum", "prod") else elem
        body = scalar_body(combine, acc)
        init = builders.fill(builders.shape(op.result), builders.scalar_constant(acc, identity_element(kind, acc)))
        kept = [d for d in range(len(src)) if d not in dims]
        total = builders.generic(
            [x], init, [ir.AffineMap.get_identity(len(src)), builders.affine_map(len(src), kept)],
            [builders.REDUCTION if d in dims else builders.PARALLEL for d in range(len(src))],
            lambda v, a: body(a, cast_scalar(v, acc)))
        return convert_elements(total, elem)

    BUILDERS[op_name] = build
    SHAPE_RULES[op_name] = lambda op, x: build(x, int_array(op, "dimensions"))
    defjvp(op_name, jvp, emits=emits)
    if transpose is not None:
        TRANSPOSE_RULES[op_name] = transpose
    defreducer(op_name, lambda op, x, dims: build(x, dims), module=__name__)
    LOWERINGS[op_name] = lower
    _names.append(name)
    return build


def _kept_dims(op):
    dims = int_array(op, "dimensions")
    return [d for d in range(len(shape_of(op.operands[0]))) if d not in dims]


def broadcast_back(op, value):
    """`value` (shaped like the reduction's result) broadcast to the operand's shape."""
    return ops.broadcast_in_dim(value, shape_of(op.operands[0]), _kept_dims(op))


# ---------------------------------------------------------------- reduce_sum: linear

def _jvp_sum(op, primals, tangents):
    t = tangents[0]
    return None if t is None else reduce("sum", t, int_array(op, "dimensions"))


def _t_sum(op, ct, operands, linear):
    return [broadcast_back(op, ct)]


reduce_sum = reduce_op("sum", combine="add", jvp=_jvp_sum, emits=["tfn.reduce_sum"], transpose=_t_sum)


# ---------------------------------------------------------------- reduce_max, reduce_min

def _jvp_max_min(op, primals, tangents):
    # The tangent at the extremum; ties share it equally (a subgradient, as JAX does).
    t = tangents[0]
    if t is None:
        return None
    x = primals[0]
    dims = int_array(op, "dimensions")
    at_extremum = ops.compare("eq", x, broadcast_back(op, op.result))
    ones = ops.convert(at_extremum, dtype_of(x))
    count = reduce("sum", ones, dims)
    picked = reduce("sum", ops.mul(t, ones), dims)
    return ops.div(picked, count)


reduce_max = reduce_op("max", combine="max", jvp=_jvp_max_min, emits=["tfn.mul", "tfn.reduce_sum", "tfn.div"])
reduce_min = reduce_op("min", combine="min", jvp=_jvp_max_min, emits=["tfn.mul", "tfn.reduce_sum", "tfn.div"])


# ---------------------------------------------------------------- reduce_prod

def _jvp_prod(op, primals, tangents):
    # d prod(x) = sum(t * prod(x) / x); exact away from zeros in x.
    t = tangents[0]
    if t is None:
        return None
    x = primals[0]
    return reduce("sum", ops.mul(t, ops.div(broadcast_back(op, op.result), x)), int_array(op, "dimensions"))


reduce_prod = reduce_op("prod", combine="mul", jvp=_jvp_prod, emits=["tfn.mul", "tfn.reduce_sum"])

REDUCE_OPS: tuple[str, ...] = tuple(_names)

__all__ = ["reduce", *REDUCE_OPS, "REDUCE_OPS", "broadcast_back"]
