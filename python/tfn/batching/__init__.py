"""Batching rule table and vmap state (`tfn.batching.rules`): filled by the op families of
`tfn.ops`, read by the `tfn-batch` pass (`tfn.passes.batching`)."""
from tfn.batching.rules import ALWAYS_BATCHED, BATCH_RULES, RandomnessError

__all__ = ["ALWAYS_BATCHED", "BATCH_RULES", "RandomnessError"]
