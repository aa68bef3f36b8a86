"""Rules of the shape family: all linear, so each JVP applies the op to the tangent and
each transpose is the adjoint shape op."""
from __future__ import annotations

from tfn.dialect import ops
from tfn.dialect.ops import int_array, int_attr
from tfn.dialect.types import dtype_of, shape_of
from tfn.rules import JVP_RULES, NO_DERIVATIVE, TRANSPOSE_RULES
from tfn.rules.common import tangent_or_zeros

NO_DERIVATIVE["tfn.constant"] = "no operands"
NO_DERIVATIVE["tfn.iota"] = "no operands"


def _same_op_on_tangent(build):
    """JVP of a linear one-operand op: apply it to the tangent."""
    def jvp(op, primals, tangents):
        return None if tangents[0] is None else build(op, tangents[0])
    return jvp


def transpose_broadcast(ct, operand_shape, dims):
    """Adjoint of broadcast_in_dim: sum over new and expanded dims, reshape to the operand."""
    out_shape = shape_of(ct)
    summed = [d for d in range(len(out_shape)) if d not in dims] + [
        d for s, d in zip(operand_shape, dims) if s == 1 and out_shape[d] != 1]
    return ops.reshape(ops.reduce("sum", ct, summed), operand_shape)


def _broadcast(op, x):
    return ops.broadcast_in_dim(x, shape_of(op.result), int_array(op, "broadcast_dimensions"))


def _reshape(op, x):
    return ops.reshape(x, shape_of(op.result))


def _transpose(op, x):
    return ops.transpose(x, int_array(op, "permutation"))


def _slice(op, x):
    return ops.slice(x, int_array(op, "start_indices"), int_array(op, "limit_indices"), int_array(op, "strides"))


JVP_RULES.update({
    "tfn.broadcast_in_dim": _same_op_on_tangent(_broadcast),
    "tfn.reshape": _same_op_on_tangent(_reshape),
    "tfn.transpose": _same_op_on_tangent(_transpose),
    "tfn.slice": _same_op_on_tangent(_slice),
})


def _t_broadcast(op, ct, operands, linear):
    return [transpose_broadcast(ct, shape_of(op.operands[0]), int_array(op, "broadcast_dimensions"))]


def _t_reshape(op, ct, operands, linear):
    return [ops.reshape(ct, shape_of(op.operands[0]))]


def _t_transpose(op, ct, operands, linear):
    perm = int_array(op, "permutation")
    return [ops.transpose(ct, [perm.index(i) for i in range(len(perm))])]


def _t_slice(op, ct, operands, linear):
    src = shape_of(op.operands[0])
    start, strides = int_array(op, "start_indices"), int_array(op, "strides")
    out = shape_of(ct)
    high = [n - b - m - max(m - 1, 0) * (s - 1) for n, b, m, s in zip(src, start, out, strides)]
    zero = ops.full((), 0, dtype_of(ct))
    return [ops.pad(ct, zero, start, high, [s - 1 for s in strides])]


TRANSPOSE_RULES.update({"tfn.broadcast_in_dim": _t_broadcast, "tfn.reshape": _t_reshape,
                        "tfn.transpose": _t_transpose, "tfn.slice": _t_slice})


# ---- concatenate and pad: linear in every tensor operand
def _jvp_concatenate(op, primals, tangents):
    ta, tb = tangents
    if ta is None and tb is None:
        return None
    a, b = primals
    return ops.concatenate(tangent_or_zeros(ta, a), tangent_or_zeros(tb, b), int_attr(op, "dimension"))


def _t_concatenate(op, ct, operands, linear):
    dim = int_attr(op, "dimension")
    a = shape_of(op.operands[0])
    full = list(shape_of(ct))
    ct_a = ops.slice(ct, [0] * len(full), [a[dim] if i == dim else n for i, n in enumerate(full)])
    ct_b = ops.slice(ct, [a[dim] if i == dim else 0 for i in range(len(full))], full)
    return [ct_a if linear[0] else None, ct_b if linear[1] else None]


def _jvp_pad(op, primals, tangents):
    tx, tv = tangents
    if tx is None and tv is None:
        return None
    x, v = primals
    return ops.pad(tangent_or_zeros(tx, x), tangent_or_zeros(tv, v), int_array(op, "edge_padding_low"), int_array(op, "edge_padding_high"),
                   int_array(op, "interior_padding"))


def _t_pad(op, ct, operands, linear):
    low, interior = int_array(op, "edge_padding_low"), int_array(op, "interior_padding")
    src = shape_of(op.operands[0])
    limit = [lo + n + max(n - 1, 0) * i for lo, n, i in zip(low, src, interior)]
    ct_x = ops.slice(ct, low, limit, [i + 1 for i in interior])
    ct_v = None
    if linear[1]:
        # The padding value fills every position the operand does not.
        all_dims = list(range(len(src)))
        ct_v = ops.sub(ops.reduce("sum", ct, all_dims), ops.reduce("sum", ct_x, all_dims))
    return [ct_x if linear[0] else None, ct_v]


JVP_RULES.update({"tfn.concatenate": _jvp_concatenate, "tfn.pad": _jvp_pad})
TRANSPOSE_RULES.update({"tfn.concatenate": _t_concatenate, "tfn.pad": _t_pad})
