"""`random_bits`: stateless Threefry-2x32 random bits from an explicit key.

No derivative (the result is integer bits). Its batching rule is the one that reads the
vmap's `randomness` mode, so it runs even when the key is not batched (ALWAYS_BATCHED).
It lowers to one linalg.generic computing Threefry-2x32 (20 rounds, Random123) of each
element's row-major counter.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mlir import ir

from tfn.autodiff.rules import NO_DERIVATIVE
from tfn.batching.rules import ALWAYS_BATCHED, BATCH_RULES, BATCH_SIZE, RANDOMNESS, RandomnessError, moveaxis
from tfn.dialect.core import BUILDERS, create, fail
from tfn.dialect.types import dtype_of, shape_of, tensor_type
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import LOWERINGS, arith, builders, linalg


def random_bits(key: ir.Value, shape: Sequence[int]) -> ir.Value:
    """`tfn.random_bits`: Threefry-2x32 bits of counters 0.. over `shape`, for each key of
    `key` (int32[..., 2]); the result shape is key.shape[:-1] + shape, int32."""
    src, shape = shape_of(key), tuple(int(s) for s in shape)
    if not src or src[-1] != 2 or dtype_of(key) != np.int32 or any(s < 0 for s in shape):
        fail("random_bits", f"needs an int32 key of shape [..., 2] and a non-negative shape, got shape {shape}",
             key)
    return create("random_bits", [key], tensor_type(src[:-1] + shape, np.int32))


def _sample_shape(op):
    return shape_of(op.result)[len(shape_of(op.operands[0])) - 1:]


def _batch_random_bits(op, operands, bdims):
    """A mapped key draws per example. An unmapped key follows the vmap's `randomness`:
    'same' draws once for all examples, 'different' derives one key per example
    (random_bits of the key, as tfn.random.split does), 'error' raises."""
    (key,), (kd,) = operands, bdims
    sample = _sample_shape(op)
    if kd is not None:
        return random_bits(moveaxis(key, kd, 0), sample), 0
    mode = RANDOMNESS.get()
    if mode == "same":
        return random_bits(key, sample), None
    if mode == "error":
        err = RandomnessError(
            f"vmap: random op '{op.name}' inside vmap with randomness='error' (at {op.location}); pass "
            f"randomness='different' (independent draws per example) or 'same' (one draw shared by all), "
            f"or map over keys from tfn.random.split")
        err.location = op.location
        raise err
    size = BATCH_SIZE.get()
    keys = random_bits(key, (size, 2))          # key batch dims..., size, 2
    keys = moveaxis(keys, len(shape_of(keys)) - 2, 0)
    return random_bits(keys, sample), 0


_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(k0, k1, x0, x1):
    """Threefry-2x32 with 20 rounds (Random123) on i32 scalars; returns the two output words."""
    i32 = k0.type

    def c(v):
        return builders.scalar_constant(i32, v - (1 << 32) if v >= 1 << 31 else v)

    def rotl(v, r):
        return arith.ori(arith.shli(v, c(r)), arith.shrui(v, c(32 - r)))
    ks = [k0, k1, arith.xori(arith.xori(k0, k1), c(0x1BD11BDA))]
    x0, x1 = arith.addi(x0, ks[0]), arith.addi(x1, ks[1])
    for group in range(5):
        for r in _THREEFRY_ROTATIONS[group % 2]:
            x0 = arith.addi(x0, x1)
            x1 = arith.xori(rotl(x1, r), x0)
        x0 = arith.addi(x0, ks[(group + 1) % 3])
        x1 = arith.addi(arith.addi(x1, ks[(group + 2) % 3]), c(group + 1))
    return x0, x1


def _lower_random_bits(op, key):
    out = ir.RankedTensorType(op.result.type)
    dims, i32 = list(out.shape), out.element_type
    nk = len(builders.shape(key)) - 1
    sample = dims[nk:]

    def key_map(word):
        return ir.AffineMap.get(len(dims), 0, [ir.AffineDimExpr.get(d) for d in range(nk)]
                                + [ir.AffineConstantExpr.get(word)])

    def body(k0, k1, acc):
        index_t = ir.IndexType.get()
        counter = builders.scalar_constant(index_t, 0)
        for d, n in enumerate(sample):
            counter = arith.addi(arith.muli(counter, builders.scalar_constant(index_t, n)),
                                 linalg.IndexOp(nk + d).result)
        x0, x1 = threefry2x32(k0, k1, arith.index_cast(i32, counter), builders.scalar_constant(i32, 0))
        return x0
    return builders.generic([key, key], builders.empty(dims, i32),
                            [key_map(0), key_map(1), ir.AffineMap.get_identity(len(dims))],
                            [builders.PARALLEL] * len(dims), body)


BUILDERS["tfn.random_bits"] = random_bits
SHAPE_RULES["tfn.random_bits"] = lambda op, key: random_bits(key, shape_of(op.results[0])[len(shape_of(key)) - 1:])
NO_DERIVATIVE["tfn.random_bits"] = "integer result (random bits): no tangent"
BATCH_RULES["tfn.random_bits"] = _batch_random_bits
ALWAYS_BATCHED.add("tfn.random_bits")
LOWERINGS["tfn.random_bits"] = _lower_random_bits

__all__ = ["random_bits"]
