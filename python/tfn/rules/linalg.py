"""Rules of dot_general: bilinear, so the JVP is the product rule and each transpose is
another dot_general followed by a transpose into the operand's dim order."""
from __future__ import annotations

from tfn.dialect import ops
from tfn.dialect.ops import int_array
from tfn.dialect.types import shape_of
from tfn.rules import JVP_RULES, TRANSPOSE_RULES
from tfn.rules.common import add_any


def dimension_numbers(op):
    return ((int_array(op, "lhs_batching_dimensions"), int_array(op, "rhs_batching_dimensions")),
            (int_array(op, "lhs_contracting_dimensions"), int_array(op, "rhs_contracting_dimensions")))


def _jvp_dot(op, primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    batch, contract = dimension_numbers(op)
    return add_any(None if ta is None else ops.dot_general(ta, b, batch, contract),
                   None if tb is None else ops.dot_general(a, tb, batch, contract))


def _free(rank, batch, contract):
    return [d for d in range(rank) if d not in batch and d not in contract]


def _cotangent(ct, other, x_rank, x_dims, other_dims, x_is_lhs):
    """Cotangent of one operand X of dot_general(lhs, rhs) given the result's cotangent.

    It is another dot_general of ct with the other operand Y, contracting ct's Y-free
    dims with Y's free dims and pairing batch dims. X on the left keeps ct first, X on
    the right keeps Y first, so that plain matmuls need no transpose afterwards.
    """
    (bx, cx), (by, cy) = x_dims, other_dims
    nb = len(bx)
    xfree, yfree = _free(x_rank, bx, cx), _free(len(shape_of(other)), by, cy)
    ct_y = list(range(nb + len(xfree), nb + len(xfree) + len(yfree))) if x_is_lhs else list(range(nb, nb + len(yfree)))
    from_y = [cx[cy.index(d)] for d in sorted(cy)]  # Y's leftover dims are its contracting dims
    if x_is_lhs:
        out = ops.dot_general(ct, other, (list(range(nb)), by), (ct_y, yfree))
        produced = list(bx) + xfree + from_y
    else:
        out = ops.dot_general(other, ct, (by, list(range(nb))), (yfree, ct_y))
        produced = list(bx) + from_y + xfree
    return ops.transpose(out, [produced.index(d) for d in range(x_rank)])


def _t_dot(op, ct, operands, linear):
    a, b = operands
    (lb, rb), (lc, rc) = dimension_numbers(op)
    lhs_rank, rhs_rank = len(shape_of(op.operands[0])), len(shape_of(op.operands[1]))
    ct_a = _cotangent(ct, b, lhs_rank, (lb, lc), (rb, rc), True) if linear[0] else None
    ct_b = _cotangent(ct, a, rhs_rank, (rb, rc), (lb, lc), False) if linear[1] else None
    return [ct_a, ct_b]


JVP_RULES["tfn.dot_general"] = _jvp_dot
TRANSPOSE_RULES["tfn.dot_general"] = _t_dot
