"""Rules of the reduction family."""
from __future__ import annotations

from tfn.dialect import ops
from tfn.dialect.ops import int_array
from tfn.dialect.types import dtype_of, shape_of
from tfn.rules import JVP_RULES, TRANSPOSE_RULES


def _kept_dims(op):
    dims = int_array(op, "dimensions")
    return [d for d in range(len(shape_of(op.operands[0]))) if d not in dims]


def broadcast_back(op, value):
    """`value` (shaped like the reduction's result) broadcast to the operand's shape."""
    return ops.broadcast_in_dim(value, shape_of(op.operands[0]), _kept_dims(op))


def _jvp_sum(op, primals, tangents):
    t = tangents[0]
    return None if t is None else ops.reduce("sum", t, int_array(op, "dimensions"))


def _t_sum(op, ct, operands, linear):
    return [broadcast_back(op, ct)]


def _jvp_max_min(op, primals, tangents):
    # The tangent at the extremum; ties share it equally (a subgradient, as JAX does).
    t = tangents[0]
    if t is None:
        return None
    x = primals[0]
    dims = int_array(op, "dimensions")
    at_extremum = ops.compare("eq", x, broadcast_back(op, op.result))
    ones = ops.convert(at_extremum, dtype_of(x))
    count = ops.reduce("sum", ones, dims)
    picked = ops.reduce("sum", ops.mul(t, ones), dims)
    return ops.div(picked, count)


def _jvp_prod(op, primals, tangents):
    # d prod(x) = sum(t * prod(x) / x); exact away from zeros in x.
    t = tangents[0]
    if t is None:
        return None
    x = primals[0]
    return ops.reduce("sum", ops.mul(t, ops.div(broadcast_back(op, op.result), x)), int_array(op, "dimensions"))


JVP_RULES.update({"tfn.reduce_sum": _jvp_sum, "tfn.reduce_max": _jvp_max_min,
                  "tfn.reduce_min": _jvp_max_min, "tfn.reduce_prod": _jvp_prod})
TRANSPOSE_RULES["tfn.reduce_sum"] = _t_sum
