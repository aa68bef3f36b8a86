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


def _transpose_lhs(ct, rhs, lhs_rank, batch, contract):
    """Cotangent of the lhs of dot_general(lhs, rhs) given the result's cotangent `ct`."""
    (lb, rb), (lc, rc) = batch, contract
    rhs_rank = len(shape_of(rhs))
    lfree, rfree = _free(lhs_rank, lb, lc), _free(rhs_rank, rb, rc)
    nb, nl = len(lb), len(lfree)
    # ct dims: [batch, lfree, rfree]; contract ct's rfree with rhs's rfree, batch with batch.
    ct_rfree = list(range(nb + nl, nb + nl + len(rfree)))
    out = ops.dot_general(ct, rhs, (list(range(nb)), rb), (ct_rfree, rfree))
    # out dims: [batch, lfree, rhs contracting dims in rhs order (= rc sorted)]
    rc_sorted = sorted(rc)
    produced = list(lb) + lfree + [lc[rc.index(r)] for r in rc_sorted]
    return ops.transpose(out, [produced.index(d) for d in range(lhs_rank)])


def _t_dot(op, ct, operands, linear):
    a, b = operands
    (lb, rb), (lc, rc) = dimension_numbers(op)
    lhs_rank, rhs_rank = len(shape_of(op.operands[0])), len(shape_of(op.operands[1]))
    ct_a = ct_b = None
    if linear[0]:
        ct_a = _transpose_lhs(ct, b, lhs_rank, (lb, rb), (lc, rc))
    if linear[1]:
        # Swap roles: the result with operands swapped has dims [batch, rfree, lfree].
        nb = len(lb)
        lfree, rfree = _free(lhs_rank, lb, lc), _free(rhs_rank, rb, rc)
        perm = list(range(nb)) + list(range(nb + len(lfree), nb + len(lfree) + len(rfree))) + list(
            range(nb, nb + len(lfree)))
        ct_swapped = ops.transpose(ct, perm)
        ct_b = _transpose_lhs(ct_swapped, a, rhs_rank, (rb, lb), (rc, lc))
    return [ct_a, ct_b]


JVP_RULES["tfn.dot_general"] = _jvp_dot
TRANSPOSE_RULES["tfn.dot_general"] = _t_dot
