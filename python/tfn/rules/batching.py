"""Batching rules: BATCH_RULES[name](op, operands, bdims) -> (result, bdim).

`op` is the unbatched op being batched (read its attributes), `operands` the
batched operands and `bdims[i]` where operand i carries the batch dimension, or
None when it is unbatched (at least one operand is batched: the batching pass
clones ops without batched operands unchanged). The result's batch dim is
returned beside it. Rules keep the batch dim where it is when that costs
nothing (elementwise, slice, reductions, transpose) and otherwise move it to 0.

    %r = "tfn.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>          // x batched at 0
    ==> %r = "tfn.exp"(%xb) : (tensor<8x4xf32>) -> tensor<8x4xf32>  // bdim 0

dot_general never loops: two batched operands gain a batching dimension pair,
one batched operand keeps its batch dim as a free dim (the other operand is not
broadcast).
"""
from __future__ import annotations

import contextvars
from typing import Sequence

import numpy as np
from mlir import ir

from tfn.dialect import ops
from tfn.dialect.ops import int_array, int_attr, str_attr
from tfn.dialect.types import dtype_of, shape_of
from tfn.rules import BATCH_RULES, NO_DERIVATIVE

# The `randomness` mode of the vmap being expanded ('error', 'different' or 'same').
RANDOMNESS: contextvars.ContextVar[str] = contextvars.ContextVar("tfn_vmap_randomness", default="error")

# The batch size of the vmap being expanded (for rules of ops with no batched operand).
BATCH_SIZE: contextvars.ContextVar[int] = contextvars.ContextVar("tfn_vmap_batch_size", default=0)

# Values already moved or broadcast in the function being batched: (value, how) -> value.
# Set per expansion, so an operand used by several ops is transposed or broadcast once.
MEMO: contextvars.ContextVar[dict | None] = contextvars.ContextVar("tfn_vmap_memo", default=None)

# Ops whose rule must run even when no operand is batched (their meaning depends on `RANDOMNESS`).
ALWAYS_BATCHED: set[str] = set()


# ---------------------------------------------------------------- helpers

def batch_size(operands: Sequence[ir.Value], bdims: Sequence[int | None]) -> int:
    for v, d in zip(operands, bdims):
        if d is not None:
            return shape_of(v)[d]
    raise ValueError("no batched operand")


def _memoized(key, build):
    memo = MEMO.get()
    if memo is None:
        return build()
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = build()
    return hit


def moveaxis(x: ir.Value, src: int, dst: int) -> ir.Value:
    """x with its dim `src` moved to position `dst` (a transpose, or x itself)."""
    if src == dst:
        return x
    perm = [d for d in range(len(shape_of(x))) if d != src]
    perm.insert(dst, src)
    return _memoized((x, "transpose", tuple(perm)), lambda: ops.transpose(x, perm))


def bdim_to_front(x: ir.Value, bdim: int | None, size: int) -> ir.Value:
    """x with its batch dim at 0; an unbatched x is broadcast to carry one."""
    return bdim_at(x, bdim, 0, size)


def bdim_at(x: ir.Value, bdim: int | None, dst: int, size: int) -> ir.Value:
    """x with its batch dim at `dst`; an unbatched x is broadcast there."""
    if bdim is None:
        shape = list(shape_of(x))
        out = shape[:dst] + [size] + shape[dst:]
        return _memoized((x, "broadcast", dst, size), lambda: ops.broadcast_in_dim(
            x, out, [d for d in range(len(out)) if d != dst]))
    return moveaxis(x, bdim, dst)


def shift(dims: Sequence[int], bdim: int) -> list[int]:
    """Unbatched dim numbers -> dim numbers of the operand whose batch dim is `bdim`."""
    return [d + 1 if d >= bdim else d for d in dims]


# ---------------------------------------------------------------- elementwise family

def defvectorized(name: str) -> None:
    """Unary elementwise op: the batch dim stays where it is."""
    def rule(op, operands, bdims):
        return ops.unary(name, operands[0]), bdims[0]
    BATCH_RULES[f"tfn.{name}"] = rule


def _elementwise_operands(operands, bdims):
    """Operands with one common batch dim: kept if all batched operands agree, else 0;
    unbatched operands are broadcast into the batched shape."""
    size = batch_size(operands, bdims)
    batched = {d for d in bdims if d is not None}
    dst = batched.pop() if len(batched) == 1 else 0
    return [bdim_at(v, d, dst, size) for v, d in zip(operands, bdims)], dst


def defbroadcasting(name: str, build) -> None:
    """n-ary elementwise op: `build(op, *operands)` re-emits it on operands of one batched shape."""
    def rule(op, operands, bdims):
        args, dst = _elementwise_operands(operands, bdims)
        return build(op, *args), dst
    BATCH_RULES[f"tfn.{name}"] = rule


for _name in ops.UNARY_OPS:
    defvectorized(_name)
for _name in ops.BINARY_OPS:
    defbroadcasting(_name, lambda op, a, b, _n=_name: ops.binary(_n, a, b))
defbroadcasting("compare", lambda op, a, b: ops.compare(str_attr(op, "direction"), a, b))
defbroadcasting("select", lambda op, p, a, b: ops.select(p, a, b))


def _batch_convert(op, operands, bdims):
    return ops.convert(operands[0], dtype_of(op.result)), bdims[0]


BATCH_RULES["tfn.convert"] = _batch_convert


# ---------------------------------------------------------------- shape ops

def _batch_broadcast_in_dim(op, operands, bdims):
    x = moveaxis(operands[0], bdims[0], 0)
    shape = shape_of(op.result)
    dims = int_array(op, "broadcast_dimensions")
    return ops.broadcast_in_dim(x, (shape_of(x)[0],) + shape, [0] + [d + 1 for d in dims]), 0


def _batch_reshape(op, operands, bdims):
    x = moveaxis(operands[0], bdims[0], 0)
    return ops.reshape(x, (shape_of(x)[0],) + shape_of(op.result)), 0


def _batch_transpose(op, operands, bdims):
    # Batch dim first in the result: one transpose, whatever bdim was.
    bd = bdims[0]
    perm = [bd] + shift(int_array(op, "permutation"), bd)
    return ops.transpose(operands[0], perm), 0


def _batch_slice(op, operands, bdims):
    x, bd = operands[0], bdims[0]
    start, limit, strides = (int_array(op, k) for k in ("start_indices", "limit_indices", "strides"))
    start.insert(bd, 0)
    limit.insert(bd, shape_of(x)[bd])
    strides.insert(bd, 1)
    return ops.slice(x, start, limit, strides), bd


def _batch_concatenate(op, operands, bdims):
    size = batch_size(operands, bdims)
    lhs, rhs = (bdim_to_front(v, d, size) for v, d in zip(operands, bdims))
    return ops.concatenate(lhs, rhs, int_attr(op, "dimension") + 1), 0


def _batch_pad(op, operands, bdims):
    (x, value), (xd, vd) = operands, bdims
    low, high, interior = (int_array(op, k) for k in ("edge_padding_low", "edge_padding_high",
                                                      "interior_padding"))
    size = batch_size(operands, bdims)
    if vd is None:
        return ops.pad(x, value, _ins(low, xd), _ins(high, xd), _ins(interior, xd)), xd
    # A batched padding value: pad with zeros, then select the value where the mask says "padding".
    x = bdim_to_front(x, xd, size)
    inner = shape_of(x)[1:]
    zero = ops.constant(np.zeros((), dtype_of(x)))
    padded = ops.pad(x, zero, [0] + low, [0] + high, [0] + interior)
    mask = ops.pad(ops.full(inner, True, np.bool_), ops.constant(np.array(False)), low, high, interior)
    out_shape = shape_of(padded)
    mask = ops.broadcast_in_dim(mask, out_shape, range(1, len(out_shape)))
    fill_value = ops.broadcast_in_dim(value, out_shape, [0])
    return ops.select(mask, padded, fill_value), 0


def _ins(values, at):
    values = list(values)
    values.insert(at, 0)
    return values


BATCH_RULES.update({
    "tfn.broadcast_in_dim": _batch_broadcast_in_dim, "tfn.reshape": _batch_reshape,
    "tfn.transpose": _batch_transpose, "tfn.slice": _batch_slice,
    "tfn.concatenate": _batch_concatenate, "tfn.pad": _batch_pad,
})


def _no_operands(op, operands, bdims):
    raise AssertionError(f"'{op.name}' has no operands: it is never batched")


BATCH_RULES["tfn.constant"] = _no_operands
BATCH_RULES["tfn.iota"] = _no_operands


# ---------------------------------------------------------------- contraction

def _batch_dot_general(op, operands, bdims):
    (lhs, rhs), (ld, rd) = operands, bdims
    lb, rb = int_array(op, "lhs_batching_dimensions"), int_array(op, "rhs_batching_dimensions")
    lc, rc = int_array(op, "lhs_contracting_dimensions"), int_array(op, "rhs_contracting_dimensions")
    if ld is not None and rd is not None:
        # A new batching dimension pair, first in the result.
        out = ops.dot_general(lhs, rhs, ([ld] + shift(lb, ld), [rd] + shift(rb, rd)),
                              (shift(lc, ld), shift(rc, rd)))
        return out, 0
    if ld is not None:
        # The batch dim becomes a free dim of lhs: result = batch dims, lhs free dims, rhs free dims.
        lb2, lc2 = shift(lb, ld), shift(lc, ld)
        out = ops.dot_general(lhs, rhs, (lb2, rb), (lc2, rc))
        free = [d for d in range(len(shape_of(lhs))) if d not in lb2 and d not in lc2]
        return out, len(lb) + free.index(ld)
    rb2, rc2 = shift(rb, rd), shift(rc, rd)
    out = ops.dot_general(lhs, rhs, (lb, rb2), (lc, rc2))
    n_lfree = len(shape_of(lhs)) - len(lb) - len(lc)
    free = [d for d in range(len(shape_of(rhs))) if d not in rb2 and d not in rc2]
    return out, len(lb) + n_lfree + free.index(rd)


BATCH_RULES["tfn.dot_general"] = _batch_dot_general


# ---------------------------------------------------------------- reductions

def defreducer(name: str) -> None:
    """Reductions keep the batch dim, shifting the reduced axes around it."""
    def rule(op, operands, bdims):
        bd = bdims[0]
        dims = int_array(op, "dimensions")
        out = ops.reduce(name[len("reduce_"):], operands[0], shift(dims, bd))
        return out, bd - sum(1 for d in dims if d < bd)
    BATCH_RULES[f"tfn.{name}"] = rule


for _name in ops.REDUCE_OPS:
    defreducer(_name)


# ---------------------------------------------------------------- random numbers

class RandomnessError(RuntimeError):
    """A random op inside vmap(randomness='error') whose key is not mapped."""


def _batch_random_bits(op, operands, bdims):
    """A mapped key draws per example. An unmapped key follows the vmap's `randomness`:
    'same' draws once for all examples, 'different' derives one key per example
    (random_bits of the key, as tfn.random.split does), 'error' raises."""
    (key,), (kd,) = operands, bdims
    sample = shape_of(op.result)[len(shape_of(op.operands[0])) - 1:]
    if kd is not None:
        return ops.random_bits(moveaxis(key, kd, 0), sample), 0
    mode = RANDOMNESS.get()
    if mode == "same":
        return ops.random_bits(key, sample), None
    if mode == "error":
        err = RandomnessError(
            f"vmap: random op '{op.name}' inside vmap with randomness='error' (at {op.location}); pass "
            f"randomness='different' (independent draws per example) or 'same' (one draw shared by all), "
            f"or map over keys from tfn.random.split")
        err.location = op.location
        raise err
    size = BATCH_SIZE.get()
    keys = ops.random_bits(key, (size, 2))          # key batch dims..., size, 2
    keys = moveaxis(keys, len(shape_of(keys)) - 2, 0)
    return ops.random_bits(keys, sample), 0


BATCH_RULES["tfn.random_bits"] = _batch_random_bits
ALWAYS_BATCHED.add("tfn.random_bits")
NO_DERIVATIVE["tfn.random_bits"] = "integer result (random bits): no tangent"
