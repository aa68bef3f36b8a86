"""Per-op transform rules, one table per rule kind, filled by one file per op family.

- JVP_RULES[name](op, primals, tangents) -> tangent of op's result, or None for zero.
  `op` is the primal op already emitted, `primals` its operands, `tangents` one
  ir.Value or None (symbolic zero) per operand. Tangents are linear in `tangents`.
- TRANSPOSE_RULES[name](op, ct, operands, linear) -> one cotangent (or None) per operand.
  Only ops that JVP rules emit on tangents need one; `linear[i]` says which
  operands carry tangents (their entry in `operands` is None).
- BATCH_RULES[name](op, operands, bdims) -> (result, bdim): `operands` are the batched
  operands, `bdims[i]` the position of operand i's batch dim or None (unbatched);
  returns the batched result and its batch dim (None if unbatched).
- NO_DERIVATIVE: ops whose results have no tangent, with the reason.

Rules build tfn ops with the builders of tfn.dialect.ops, so derivatives are
themselves differentiable and batchable.
"""
from __future__ import annotations

from typing import Callable

JVP_RULES: dict[str, Callable] = {}
TRANSPOSE_RULES: dict[str, Callable] = {}
NO_DERIVATIVE: dict[str, str] = {}
BATCH_RULES: dict[str, Callable] = {}


def _load() -> None:
    from tfn.rules import batching, elementwise, linalg, reduce, shape  # noqa: F401 - fill the tables


_load()
