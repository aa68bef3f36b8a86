"""Contractions: `matmul` (the `@` operator), `dot`, `inner`, `vdot`, `outer`, `tensordot`
and `einsum`, all one `dot_general` op in numpy's result dtype.
"""
from __future__ import annotations

import string

import numpy as _np

from tfn import ops
from tfn.frontend.tracer import Tracer, wrap
from tfn.numpy._core import _as_tracer, _as_value, _axis, _fail, _op, _shape, asarray, broadcast_shapes, result_type
from tfn.numpy._elementwise import multiply, not_equal
from tfn.numpy._reductions import _sum_keeping_dtype
from tfn.numpy._shapes import broadcast_to, ravel, reshape, transpose


def _dot_general(a, b, batch, contract, name):
    """numpy's contraction dtype (result_type); bools count in int64, then any (numpy's bool dot)."""
    dtype = result_type(a, b)
    compute = _np.dtype(_np.int64) if dtype == _np.bool_ else dtype
    out = wrap(ops.dot_general(_as_value(a, compute), _as_value(b, compute), batch, contract))
    return not_equal(out, 0) if dtype == _np.bool_ else out


@_op
def matmul(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        _fail("matmul", f"matmul does not take 0-d operands (shapes {sa} and {sb})")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        _fail("matmul", f"contraction dimensions differ: lhs shape {sa} has {ka}, rhs shape {sb} has {kb}")
    if len(sb) <= 2:
        # rhs has no batch dims: contract directly, no broadcast of rhs.
        return _dot_general(a, b, ([], []), ([len(sa) - 1], [0]), "matmul")
    if len(sa) == 1:
        return _dot_general(a, b, ([], []), ([0], [len(sb) - 2]), "matmul")
    if len(sa) == 2:
        out = _dot_general(a, b, ([], []), ([1], [len(sb) - 2]), "matmul")  # [M, batch..., N]
        nb = len(sb) - 2
        return transpose(out, tuple(range(1, nb + 1)) + (0, nb + 1))
    batch = broadcast_shapes(sa[:-2], sb[:-2], name="matmul")
    a = broadcast_to(a, batch + tuple(sa[-2:]))
    b = broadcast_to(b, batch + tuple(sb[-2:]))
    nb = len(batch)
    return _dot_general(a, b, (list(range(nb)), list(range(nb))), ([nb + 1], [nb]), "matmul")


@_op
def dot(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return multiply(a, b)
    cb = 0 if len(sb) == 1 else len(sb) - 2
    if sa[-1] != sb[cb]:
        _fail("dot", f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != {sb[cb]} (dim {cb})")
    return _dot_general(a, b, ([], []), ([len(sa) - 1], [cb]), "dot")


@_op
def inner(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return multiply(a, b)
    if sa[-1] != sb[-1]:
        _fail("inner", f"shapes {sa} and {sb} not aligned on the last axis")
    return _dot_general(a, b, ([], []), ([len(sa) - 1], [len(sb) - 1]), "inner")


@_op
def vdot(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    return inner(ravel(a), ravel(b))


@_op
def outer(a, b) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)  # contractions promote Python scalars as arrays (numpy's rule)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


@_op
def tensordot(a, b, axes=2) -> Tracer:
    a, b = _as_tracer(a), _as_tracer(b)
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, int):
        ca, cb = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        ca, cb = [axes[0]] if isinstance(axes[0], int) else list(axes[0]), [axes[1]] if isinstance(axes[1], int) else list(axes[1])
    ca, cb = [_axis(c, len(sa), "tensordot") for c in ca], [_axis(c, len(sb), "tensordot") for c in cb]
    if len(ca) != len(cb) or [sa[i] for i in ca] != [sb[j] for j in cb]:
        _fail("tensordot", f"shape-mismatch for sum: {sa} axes {ca} vs {sb} axes {cb}")
    return _dot_general(a, b, ([], []), (ca, cb), "tensordot")


@_op
def einsum(subscripts: str, *operands) -> Tracer:
    """einsum of one or two operands (no repeated index within one operand)."""
    spec = subscripts.replace(" ", "")
    if "..." in spec:
        _fail("einsum", "ellipsis in subscripts is not supported")
    inputs, _, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands) or len(terms) not in (1, 2):
        _fail("einsum", f"{subscripts!r} needs one or two operands, got {len(operands)}")
    if "->" not in spec:
        counts = {c: inputs.count(c) for c in inputs if c in string.ascii_letters}
        output = "".join(sorted(c for c, k in counts.items() if k == 1))
    arrays = [_as_tracer(o) for o in operands]
    if len({a.dtype for a in arrays}) > 1:
        # Promote before the per-operand sums below: a bool operand summed on its own would
        # count as "any" instead of adding up in the result's dtype.
        common = result_type(*arrays)
        arrays = [asarray(a, common) for a in arrays]
    sizes: dict[str, int] = {}
    for term, arr in zip(terms, arrays):
        if len(term) != arr.ndim or len(set(term)) != len(term):
            _fail("einsum", f"term {term!r} does not fit operand of shape {arr.shape} (or repeats an index)")
        for c, n in zip(term, arr.shape):
            if sizes.setdefault(c, n) != n:
                _fail("einsum", f"index {c!r} has sizes {sizes[c]} and {n} in {subscripts!r}")
    # Indices in one operand only and not in the output are summed first.
    reduced = []
    for k, (term, arr) in enumerate(zip(terms, arrays)):
        others = "".join(t for j, t in enumerate(terms) if j != k) + output
        drop = [i for i, c in enumerate(term) if c not in others]
        reduced.append(("".join(c for c in term if c in others), _sum_keeping_dtype(arr, drop) if drop else arr))
    if len(reduced) == 1:
        term, arr = reduced[0]
    else:
        (ta, a), (tb, b) = reduced
        batch = [c for c in ta if c in tb and c in output]
        contract = [c for c in ta if c in tb and c not in output]
        res = _dot_general(a, b, ([ta.index(c) for c in batch], [tb.index(c) for c in batch]),
                           ([ta.index(c) for c in contract], [tb.index(c) for c in contract]), "einsum")
        term = "".join(batch) + "".join(c for c in ta if c not in tb) + "".join(c for c in tb if c not in ta)
        arr = res
    if set(term) != set(output):
        _fail("einsum", f"output {output!r} does not match the operands' indices in {subscripts!r}")
    return transpose(arr, [term.index(c) for c in output])

