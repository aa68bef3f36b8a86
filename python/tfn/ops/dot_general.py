"""`dot_general`: contraction with batch dimensions, StableHLO's order of result dims.

`DotDims` holds the dimension numbers of one contraction and what follows from them
(the free dims of each operand, where a free dim lands in the result); the builder,
the JVP and transpose rules, the batching rule, the shape rule and the lowering (here
and in `tfn.lowering.contraction`) all read them from it.

The op is bilinear: its JVP is the product rule, and each transpose is another
dot_general followed by a transpose into the operand's dim order. Batching never
loops: two batched operands gain a batching dimension pair, one batched operand keeps
its batch dim as a free dim (the other operand is not broadcast).

    >>> dims = DotDims.of(batch=([0], [0]), contract=([2], [1]), lhs_rank=3, rhs_rank=3)  # bmm
    >>> dims.lhs_free, dims.rhs_free, dims.rhs_free_position(2)
    ((1,), (2,), 2)
"""
from __future__ import annotations

from typing import Sequence

from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import TRANSPOSE_RULES, add_any, defjvp
from tfn.batching.rules import BATCH_RULES, shift
from tfn.dialect.core import BUILDERS, create, fail, i64_array, int_array, result_type_like
from tfn.dialect.types import dtype_of, shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import (LOWERINGS, LazyModule, accumulator_type, arith, builders, convert_elements,
                                element_kind)

contraction = LazyModule("tfn.lowering.contraction")


class DotDims:
    """Dimension numbers of a dot_general of a rank-`lhs_rank` lhs and a rank-`rhs_rank` rhs.

    Result dims: the batch dims, then lhs's free dims, then rhs's free dims (each in order).
    (A plain class: a dataclass cost 1 ms of `import tfn`.)
    """
    __slots__ = ("lhs_batch", "rhs_batch", "lhs_contract", "rhs_contract", "lhs_rank", "rhs_rank",
                 "lhs_free", "rhs_free")

    def __init__(self, lhs_batch: tuple[int, ...], rhs_batch: tuple[int, ...], lhs_contract: tuple[int, ...],
                 rhs_contract: tuple[int, ...], lhs_rank: int, rhs_rank: int):
        self.lhs_batch, self.rhs_batch = lhs_batch, rhs_batch
        self.lhs_contract, self.rhs_contract = lhs_contract, rhs_contract
        self.lhs_rank, self.rhs_rank = lhs_rank, rhs_rank
        # The dims of each operand that are neither batch nor contracting dims, in order.
        self.lhs_free = tuple([d for d in range(lhs_rank) if d not in lhs_batch and d not in lhs_contract])
        self.rhs_free = tuple([d for d in range(rhs_rank) if d not in rhs_batch and d not in rhs_contract])

    def __repr__(self) -> str:
        return (f"DotDims(batch={self.batch}, contract={self.contract}, lhs_rank={self.lhs_rank}, "
                f"rhs_rank={self.rhs_rank})")

    @classmethod
    def of(cls, batch: tuple[Sequence[int], Sequence[int]], contract: tuple[Sequence[int], Sequence[int]],
           lhs_rank: int, rhs_rank: int) -> DotDims:
        """From the builder's arguments: batch = (lhs dims, rhs dims), contract likewise."""
        return cls(tuple(map(int, batch[0])), tuple(map(int, batch[1])),
                   tuple(map(int, contract[0])), tuple(map(int, contract[1])), lhs_rank, rhs_rank)

    @classmethod
    def from_op(cls, op: ir.Operation) -> DotDims:
        return cls(tuple(int_array(op, "lhs_batching_dimensions")), tuple(int_array(op, "rhs_batching_dimensions")),
                   tuple(int_array(op, "lhs_contracting_dimensions")),
                   tuple(int_array(op, "rhs_contracting_dimensions")),
                   len(shape_of(op.operands[0])), len(shape_of(op.operands[1])))

    @property
    def batch(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return self.lhs_batch, self.rhs_batch

    @property
    def contract(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return self.lhs_contract, self.rhs_contract

    def lhs_free_position(self, d: int) -> int:
        """The result dim that lhs's free dim `d` becomes."""
        return len(self.lhs_batch) + self.lhs_free.index(d)

    def rhs_free_position(self, d: int) -> int:
        """The result dim that rhs's free dim `d` becomes."""
        return len(self.lhs_batch) + len(self.lhs_free) + self.rhs_free.index(d)

    def result_shape(self, lhs_shape: Sequence[int], rhs_shape: Sequence[int]) -> list[int]:
        return [lhs_shape[d] for d in self.lhs_batch + self.lhs_free] + [rhs_shape[d] for d in self.rhs_free]


def dot_general(lhs: ir.Value, rhs: ir.Value, batch: tuple[Sequence[int], Sequence[int]],
                contract: tuple[Sequence[int], Sequence[int]]) -> ir.Value:
    """Result dims: batch dims, lhs free dims, rhs free dims (StableHLO's order)."""
    a, b = shape_of(lhs), shape_of(rhs)
    dims = DotDims.of(batch, contract, len(a), len(b))
    lb, rb, lc, rc = dims.lhs_batch, dims.rhs_batch, dims.lhs_contract, dims.rhs_contract
    ok = (len(lb) == len(rb) and len(lc) == len(rc) and dtype_of(lhs) == dtype_of(rhs)
          and len(set(lb + lc)) == len(lb + lc) and len(set(rb + rc)) == len(rb + rc)
          and all(0 <= d < len(a) for d in lb + lc) and all(0 <= d < len(b) for d in rb + rc)
          and all(a[i] == b[j] for i, j in zip(lb + lc, rb + rc)))
    if not ok:
        fail("dot_general", f"dimensions do not match (batch {list(lb)}/{list(rb)}, contracting "
                            f"{list(lc)}/{list(rc)})", lhs, rhs)
    return create("dot_general", [lhs, rhs], result_type_like(lhs, shape=dims.result_shape(a, b)),
                  {"lhs_batching_dimensions": i64_array(lb), "rhs_batching_dimensions": i64_array(rb),
                   "lhs_contracting_dimensions": i64_array(lc), "rhs_contracting_dimensions": i64_array(rc)})


# ---------------------------------------------------------------- autodiff

def _jvp_dot(op, primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    dims = DotDims.from_op(op)
    return add_any(None if ta is None else dot_general(ta, b, dims.batch, dims.contract),
                   None if tb is None else dot_general(a, tb, dims.batch, dims.contract))


def _cotangent(ct, other, x_rank, x_dims, other_dims, x_is_lhs):
    """Cotangent of one operand X of dot_general(lhs, rhs) given the result's cotangent.

    `x_dims`, `other_dims`: (batch, contracting, free) dims of X and of the other operand Y.
    It is another dot_general of ct with Y, contracting ct's Y-free dims with Y's free
    dims and pairing batch dims. X on the left keeps ct first, X on the right keeps Y
    first, so that plain matmuls need no transpose afterwards.
    """
    (bx, cx, xfree), (by, cy, yfree) = x_dims, other_dims
    nb = len(bx)
    ct_y = list(range(nb + len(xfree), nb + len(xfree) + len(yfree))) if x_is_lhs else list(range(nb, nb + len(yfree)))
    from_y = [cx[cy.index(d)] for d in sorted(cy)]  # Y's leftover dims are its contracting dims
    if x_is_lhs:
        out = dot_general(ct, other, (list(range(nb)), by), (ct_y, yfree))
        produced = list(bx) + list(xfree) + from_y
    else:
        out = dot_general(other, ct, (by, list(range(nb))), (yfree, ct_y))
        produced = list(bx) + from_y + list(xfree)
    return ops.transpose(out, [produced.index(d) for d in range(x_rank)])


def _t_dot(op, ct, operands, linear):
    a, b = operands
    d = DotDims.from_op(op)
    lhs, rhs = (d.lhs_batch, d.lhs_contract, d.lhs_free), (d.rhs_batch, d.rhs_contract, d.rhs_free)
    ct_a = _cotangent(ct, b, d.lhs_rank, lhs, rhs, True) if linear[0] else None
    ct_b = _cotangent(ct, a, d.rhs_rank, rhs, lhs, False) if linear[1] else None
    return [ct_a, ct_b]


# ---------------------------------------------------------------- batching

def _batch_dot_general(op, operands, bdims):
    (lhs, rhs), (ld, rd) = operands, bdims
    d = DotDims.from_op(op)
    lb, rb, lc, rc = d.lhs_batch, d.rhs_batch, d.lhs_contract, d.rhs_contract
    if ld is not None and rd is not None:
        # A new batching dimension pair, first in the result.
        return dot_general(lhs, rhs, ([ld] + shift(lb, ld), [rd] + shift(rb, rd)), (shift(lc, ld), shift(rc, rd))), 0
    if ld is not None:
        # The batch dim becomes a free dim of lhs: result = batch dims, lhs free dims, rhs free dims.
        new = DotDims.of((shift(lb, ld), rb), (shift(lc, ld), rc), d.lhs_rank + 1, d.rhs_rank)
        return dot_general(lhs, rhs, new.batch, new.contract), new.lhs_free_position(ld)
    new = DotDims.of((lb, shift(rb, rd)), (lc, shift(rc, rd)), d.lhs_rank, d.rhs_rank + 1)
    return dot_general(lhs, rhs, new.batch, new.contract), new.rhs_free_position(rd)


# ---------------------------------------------------------------- lowering

# (multiply, add) of a contraction by element kind, as names of arith builders: numpy's bool
# matmul is an OR of ANDs (i1 muli/addi would be AND/XOR); integers wrap around like numpy's.
_PRODUCT_SUM: dict[str, tuple[str, str]] = {
    "float": ("mulf", "addf"), "int": ("muli", "addi"), "bool": ("andi", "ori"),
}


def _lower_dot_general(op, a, b):
    return lower_contraction(a, b, DotDims.from_op(op), builders.shape(op.result))


def lower_contraction(a, b, d: DotDims, out_dims) -> ir.Value:
    """The linalg of dot_general(a, b) with dims `d` (a matmul where BLAS pays, else a
    linalg.generic); the convolution's lowering contracts its gathered windows with it."""
    elem = builders.element_type(a)
    acc = accumulator_type(elem)
    if acc != elem:
        # 16-bit floats: operands extended to f32 (BLAS has no f16; in a generic the extension
        # fuses into the contraction), accumulated there, the result rounded back once.
        wide = lower_contraction(convert_elements(a, acc), convert_elements(b, acc), d, out_dims)
        return convert_elements(wide, elem)
    lfree, rfree = d.lhs_free, d.rhs_free
    nb, nl, nr, nc = len(d.lhs_batch), len(lfree), len(rfree), len(d.lhs_contract)
    loops = nb + nl + nr + nc
    if contraction.wants_blas(a, b, d):
        return contraction.lower_as_matmul(a, b, d, out_dims)

    a_shape = builders.shape(a)
    if all(a_shape[dim] == 1 for dim in d.lhs_contract):
        # unit contracting dims are read at index 0: a plain product, no reduction loop
        nc, loops = 0, nb + nl + nr

    def operand_map(rank, batch, free, contract, free_base):
        exprs = [0] * rank
        for k, dim in enumerate(batch):
            exprs[dim] = k
        for k, dim in enumerate(free):
            exprs[dim] = free_base + k
        for k, dim in enumerate(contract):
            exprs[dim] = nb + nl + nr + k if nc else None
        return builders.affine_map(loops, exprs)

    elem = builders.element_type(a)
    maps = [operand_map(d.lhs_rank, d.lhs_batch, lfree, d.lhs_contract, nb),
            operand_map(d.rhs_rank, d.rhs_batch, rfree, d.rhs_contract, nb + nl),
            builders.affine_map(loops, list(range(nb + nl + nr)))]
    mul, add = (getattr(arith, name) for name in _PRODUCT_SUM[element_kind(elem)])
    if nc == 0:
        # No contraction: a plain (broadcasting) product. An all-parallel generic must not
        # read its `outs`: elementwise fusion treats such an op as a pure map and re-runs an
        # `acc + x*y` body once per consumer element of a broadcasting consumer.
        return builders.generic([a, b], builders.empty(out_dims, elem), maps, [builders.PARALLEL] * loops,
                                lambda x, y, acc: mul(x, y))
    init = builders.fill(out_dims, builders.scalar_constant(elem, 0))
    return builders.generic([a, b], init, maps, [builders.PARALLEL] * (nb + nl + nr) + [builders.REDUCTION] * nc,
                            lambda x, y, acc: add(acc, mul(x, y)))


def _check_dot_general(op, a, b):
    dims = DotDims.from_op(op)
    return dot_general(a, b, dims.batch, dims.contract)


BUILDERS["tfn.dot_general"] = dot_general
SHAPE_RULES["tfn.dot_general"] = _check_dot_general
defjvp("tfn.dot_general", _jvp_dot, emits=["tfn.dot_general", "tfn.add"])
TRANSPOSE_RULES["tfn.dot_general"] = _t_dot
BATCH_RULES["tfn.dot_general"] = _batch_dot_general
LOWERINGS["tfn.dot_general"] = _lower_dot_general

__all__ = ["dot_general", "DotDims"]
