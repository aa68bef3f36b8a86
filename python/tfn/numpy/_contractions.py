"""Contractions: `matmul` (the `@` operator), `dot`, `inner`, `vdot`, `outer`, `tensordot`
and `einsum` (any number of operands, `...`, repeated indices: diagonals by strided slices),
each pair one `dot_general` op in numpy's result dtype.
"""
from __future__ import annotations

import string

import numpy as _np

from tfn import ops
from tfn.frontend.tracer import Tracer, wrap
from tfn.numpy._core import _as_tracer, _as_value, _axis, _fail, _op, _shape, asarray, broadcast_shapes, result_type
from tfn.numpy._elementwise import multiply, not_equal
from tfn.numpy._manipulation import diagonal
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


def _einsum_terms(subscripts: str, arrays: list) -> tuple[list[str], str]:
    """The terms and output of `subscripts` with each ellipsis spelled out as letters unused
    elsewhere (right-aligned across operands, as numpy broadcasts them)."""
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(arrays):
        _fail("einsum", f"{subscripts!r} names {len(terms)} operands, got {len(arrays)}")
    for t in terms + [output]:
        if t.replace("...", "").strip(string.ascii_letters) or t.count("...") > 1:
            _fail("einsum", f"invalid subscripts {subscripts!r}")
    free = [c for c in string.ascii_letters if c not in spec]
    widths = [a.ndim - (len(t) - 3) if "..." in t else 0 for t, a in zip(terms, arrays)]
    if any(w < 0 for w in widths):
        _fail("einsum", f"{subscripts!r}: an ellipsis term has more indices than its operand has dims")
    width = max(widths, default=0)
    ellipsis = "".join(free[:width])
    terms = [t.replace("...", ellipsis[width - w:]) for t, w in zip(terms, widths)]
    if arrow:
        if width and "..." not in output:
            _fail("einsum", f"{subscripts!r}: the output drops the ellipsis dims without '...' (as numpy, "
                            f"an error)")
        output = output.replace("...", ellipsis)
    else:
        joined = "".join(terms)
        singles = sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ellipsis)
        output = ellipsis + "".join(singles)
    return terms, output


def _einsum_diagonals(term: str, a: Tracer) -> tuple[str, Tracer]:
    """An operand with an index repeated in its term ('ii', 'iij') reduced to its diagonal:
    one strided slice per repetition (`diagonal`), the index moved last."""
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        i = term.index(c)
        j = term.index(c, i + 1)
        if a.shape[i] != a.shape[j]:
            _fail("einsum", f"index {c!r} repeated with sizes {a.shape[i]} and {a.shape[j]}")
        a = diagonal(a, 0, i, j)
        term = "".join(x for k, x in enumerate(term) if k not in (i, j)) + c
    return term, a


@_op
def einsum(subscripts: str, *operands) -> Tracer:
    """einsum as numpy's: any number of operands (contracted pairwise, left to right), `...`
    (broadcast), repeated indices within an operand (its diagonal, a strided slice), implicit
    output; each pair is one `dot_general`.

        >>> import numpy as np, tfn.numpy as tnp
        >>> tnp.einsum("ii->", np.eye(3)), tnp.einsum("...ij,...jk->...ik", np.ones((2, 1, 3)), np.ones((3, 2))).shape
        (array(3.), (2, 1, 2))
    """
    if not operands:
        _fail("einsum", "needs at least one operand")
    arrays = [_as_tracer(o) for o in operands]
    terms, output = _einsum_terms(subscripts, arrays)
    if len({a.dtype for a in arrays}) > 1:
        # Promote before the per-operand sums below: a bool operand summed on its own would
        # count as "any" instead of adding up in the result's dtype.
        common = result_type(*arrays)
        arrays = [asarray(a, common) for a in arrays]
    sizes: dict[str, int] = {}
    for term, arr in zip(terms, arrays):
        if len(term) != arr.ndim:
            _fail("einsum", f"term {term!r} does not fit operand of shape {arr.shape}")
        for c in set(term):
            if len({n for x, n in zip(term, arr.shape) if x == c}) > 1:
                _fail("einsum", f"term {term!r} repeats an index over dims of different sizes {arr.shape}")
        for c, n in zip(term, arr.shape):
            if c not in sizes or sizes[c] == 1:
                sizes[c] = n
            elif n not in (1, sizes[c]):
                _fail("einsum", f"index {c!r} has sizes {sizes[c]} and {n} in {subscripts!r}")
    if set(output) - set("".join(terms)) or len(set(output)) != len(output):
        _fail("einsum", f"output {output!r} does not match the operands' indices in {subscripts!r}")
    # Size-1 dims of an index another operand has longer broadcast (numpy's rule for '...').
    pairs = []
    for term, arr in zip(terms, arrays):
        term, arr = _einsum_diagonals(term, arr)
        full = tuple(sizes[c] for c in term)
        pairs.append([term, arr if arr.shape == full else broadcast_to(arr, full)])
    # Indices in one operand only and not in the output are summed first.
    for k, (term, arr) in enumerate(pairs):
        others = "".join(t for j, (t, _) in enumerate(pairs) if j != k) + output
        drop = [i for i, c in enumerate(term) if c not in others]
        if drop:
            pairs[k] = ["".join(c for c in term if c in others), _sum_keeping_dtype(arr, drop)]
    ta, a = pairs[0]
    for k in range(1, len(pairs)):
        tb, b = pairs[k]
        keep = "".join(t for t, _ in pairs[k + 1:]) + output
        batch = [c for c in ta if c in tb and c in keep]
        contract = [c for c in ta if c in tb and c not in keep]
        a = _dot_general(a, b, ([ta.index(c) for c in batch], [tb.index(c) for c in batch]),
                         ([ta.index(c) for c in contract], [tb.index(c) for c in contract]), "einsum")
        ta = "".join(batch) + "".join(c for c in ta if c not in tb) + "".join(c for c in tb if c not in ta)
        drop = [i for i, c in enumerate(ta) if c not in keep]
        if drop:
            a, ta = _sum_keeping_dtype(a, drop), "".join(c for c in ta if c in keep)
    return transpose(a, [ta.index(c) for c in output])
