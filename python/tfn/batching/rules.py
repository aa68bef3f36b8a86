"""The batching rule table, the state of the vmap being expanded, and rule helpers.

BATCH_RULES[name](op, operands, bdims) -> (result, bdim): `op` is the unbatched op
being batched (read its attributes), `operands` the batched operands and `bdims[i]`
where operand i carries the batch dimension, or None when it is unbatched (at least
one operand is batched: the batching pass clones ops without batched operands
unchanged, except those in ALWAYS_BATCHED). The result's batch dim is returned
beside it. Rules keep the batch dim where it is when that costs nothing
(elementwise, slice, reductions, transpose) and otherwise move it to 0.

    %r = "tfn.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>          // x batched at 0
    ==> %r = "tfn.exp"(%xb) : (tensor<8x4xf32>) -> tensor<8x4xf32>  // bdim 0

The rules of each op are registered by its family module in `tfn.ops`. This module
does not import `tfn.ops`: its helpers build transposes and broadcasts through
`tfn.dialect.core.BUILDERS`, and a rule a `def*` helper makes carries the family
module that asked for it as its `__module__`.
"""
from __future__ import annotations

import contextvars
from typing import Callable, Sequence

from mlir import ir

from tfn.dialect.core import BUILDERS, int_array
from tfn.dialect.types import shape_of

BATCH_RULES: dict[str, Callable] = {}

# Ops whose rule must run even when no operand is batched (their meaning depends on `RANDOMNESS`).
ALWAYS_BATCHED: set[str] = set()

# The `randomness` mode of the vmap being expanded ('error', 'different' or 'same').
RANDOMNESS: contextvars.ContextVar[str] = contextvars.ContextVar("tfn_vmap_randomness", default="error")

# The batch size of the vmap being expanded (for rules of ops with no batched operand).
BATCH_SIZE: contextvars.ContextVar[int] = contextvars.ContextVar("tfn_vmap_batch_size", default=0)

# Values already moved or broadcast in the function being batched: (value, how) -> value.
# Set per expansion, so an operand used by several ops is transposed or broadcast once.
MEMO: contextvars.ContextVar[dict | None] = contextvars.ContextVar("tfn_vmap_memo", default=None)


class RandomnessError(RuntimeError):
    """A random op inside vmap(randomness='error') whose key is not mapped."""


# ---------------------------------------------------------------- moving batch dims

def batch_size(operands: Sequence[ir.Value], bdims: Sequence[int | None]) -> int:
    for v, d in zip(operands, bdims):
        if d is not None:
            return shape_of(v)[d]
    raise ValueError("no batched operand")


def _memoized(key, make):
    memo = MEMO.get()
    if memo is None:
        return make()
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = make()
    return hit


def moveaxis(x: ir.Value, src: int, dst: int) -> ir.Value:
    """x with its dim `src` moved to position `dst` (a transpose, or x itself)."""
    if src == dst:
        return x
    perm = [d for d in range(len(shape_of(x))) if d != src]
    perm.insert(dst, src)
    return _memoized((x, "transpose", tuple(perm)), lambda: BUILDERS["tfn.transpose"](x, perm))


def bdim_to_front(x: ir.Value, bdim: int | None, size: int) -> ir.Value:
    """x with its batch dim at 0; an unbatched x is broadcast to carry one."""
    return bdim_at(x, bdim, 0, size)


def bdim_at(x: ir.Value, bdim: int | None, dst: int, size: int) -> ir.Value:
    """x with its batch dim at `dst`; an unbatched x is broadcast there."""
    if bdim is None:
        shape = list(shape_of(x))
        out = shape[:dst] + [size] + shape[dst:]
        return _memoized((x, "broadcast", dst, size), lambda: BUILDERS["tfn.broadcast_in_dim"](
            x, out, [d for d in range(len(out)) if d != dst]))
    return moveaxis(x, bdim, dst)


def shift(dims: Sequence[int], bdim: int) -> list[int]:
    """Unbatched dim numbers -> dim numbers of the operand whose batch dim is `bdim`."""
    return [d + 1 if d >= bdim else d for d in dims]


# ---------------------------------------------------------------- family rules

def defvectorized(name: str, build: Callable, *, module: str) -> None:
    """One-operand elementwise op whose builder is `build(x)`: the batch dim stays where it is."""
    def rule(op, operands, bdims):
        return build(operands[0]), bdims[0]
    rule.__module__ = module
    BATCH_RULES[name] = rule


def _elementwise_operands(operands, bdims):
    """Operands with one common batch dim: kept if all batched operands agree, else 0;
    unbatched operands are broadcast into the batched shape."""
    size = batch_size(operands, bdims)
    batched = {d for d in bdims if d is not None}
    dst = batched.pop() if len(batched) == 1 else 0
    return [bdim_at(v, d, dst, size) for v, d in zip(operands, bdims)], dst


def defbroadcasting(name: str, apply: Callable, *, module: str) -> None:
    """n-ary elementwise op: `apply(op, *operands)` re-emits it on operands of one batched shape."""
    def rule(op, operands, bdims):
        args, dst = _elementwise_operands(operands, bdims)
        return apply(op, *args), dst
    rule.__module__ = module
    BATCH_RULES[name] = rule


def defreducer(name: str, apply: Callable, *, module: str) -> None:
    """A reduction over the op's `dimensions`: `apply(op, x, dims)` re-emits it over `dims`.
    The batch dim is kept, the reduced dims shift around it."""
    def rule(op, operands, bdims):
        bd = bdims[0]
        dims = int_array(op, "dimensions")
        out = apply(op, operands[0], shift(dims, bd))
        return out, bd - sum(1 for d in dims if d < bd)
    rule.__module__ = module
    BATCH_RULES[name] = rule
