"""Defects the fuzzer finds that are known and not fixed yet: the `make test` slice skips them.

Each entry says what a failure must look like to be this defect (oracle, kind, ops the
program uses, a pattern of the message) and carries a minimal repro. When a fix lands,
delete its entry: the slice then checks those programs again, and the regression
files under fuzz_regressions/ that matched it must pass.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fuzz.program import Failure


@dataclass(frozen=True)
class KnownOpen:
    name: str
    summary: str
    repro: str
    oracles: tuple = ()        # () matches any oracle
    kinds: tuple = ()          # () matches any kind
    ops_any: tuple = ()        # the program uses one of these (see Case.ops); () matches any program
    message: str = ""          # a regex the failure's message must contain

    def matches(self, failure: Failure) -> bool:
        if self.oracles and failure.oracle not in self.oracles:
            return False
        if self.kinds and failure.kind not in self.kinds:
            return False
        if self.ops_any and failure.case is not None and not (set(self.ops_any) & failure.case.ops()):
            return False
        return not self.message or re.search(self.message, failure.message) is not None


KNOWN_OPEN: list[KnownOpen] = [
    KnownOpen("bool-arith-int8", "bool ** n, square, // and % of bools give int32 where numpy gives int8",
              "tfn.jit(lambda a: a ** 2)(np.array([False, True])).dtype  # int32, numpy int8",
              kinds=("dtype",), message=r"numpy gives u?int(8|16)"),
    KnownOpen("logaddexp-inf", "logaddexp(inf, inf) and logaddexp(-inf, -inf) give nan",
              "tfn.jit(lambda x: tnp.logaddexp(x, x))(np.array([np.inf, -np.inf]))  # [nan, nan]",
              kinds=("mismatch",), ops_any=("logaddexp",),
              message=r"got np\.float\d+\(nan\), numpy gives np\.float\d+\(-?inf\)"),
    KnownOpen("cosh-overflow", "cosh and sinh overflow to inf for 709.78 < |x| < 710.48 (float32: 88.72-89.41)",
              "tfn.jit(lambda x: tnp.cosh(x))(np.array([710.0]))  # inf, numpy 1.117e308",
              kinds=("mismatch",), ops_any=("cosh", "sinh"),
              message=r"got np\.float\d+\(-?inf\), numpy gives np\.float\d+\(-?[\d.]+(e[-+]?\d+)?\)"),
    KnownOpen("round-int-negative-decimals", "round(int array, decimals < 0) returns the input",
              "tfn.jit(lambda a: tnp.round(a, -1))(np.array([15, 25]))  # [15, 25], numpy [20, 20]",
              kinds=("mismatch",), ops_any=("round", "around"), message=r"numpy gives np\.int"),
    KnownOpen("take-out-of-bounds", "take / take_along_axis accept out-of-bounds constant indices",
              "tfn.jit(lambda a: tnp.take(a, [5]))(np.ones(3))  # [0.], numpy IndexError",
              kinds=("accepts-invalid",), ops_any=("take", "take_along_axis")),
    KnownOpen("tensordot-axis-out-of-range", "tensordot wraps out-of-range axes instead of rejecting them",
              "tfn.jit(lambda a: tnp.tensordot(a, a, axes=([5], [0])))(np.ones((3, 3)))",
              kinds=("accepts-invalid",), ops_any=("tensordot",)),
    KnownOpen("pad-0d-negative", "pad of a 0-d array accepts negative widths",
              "tfn.jit(lambda a: tnp.pad(a, -1))(np.array(True))  # array(True), numpy ValueError",
              kinds=("accepts-invalid",), ops_any=("pad",)),
    KnownOpen("vmap-size-0", "vmap over a size-0 axis is a BatchingError (batch_size must be positive)",
              "tfn.vmap(lambda a: a * 2)(np.ones((0, 3)))",
              kinds=("rejects-valid",), message=r"batch_size must be positive"),
    KnownOpen("divmod-infinite-divisor", "float floor_divide and remainder by +-inf give nan",
              "tfn.jit(lambda a: a // np.inf)(np.array([-0.25, 1.0]))  # [nan nan], numpy [-1. 0.]",
              kinds=("mismatch",), ops_any=("floor_divide", "remainder", "mod"), message=r"got np\.float\d+\(nan\)"),
    KnownOpen("take-nonfinite", "take and take_along_axis give nan when the axis holds inf or nan anywhere "
                                "(one-hot contraction: 0 * inf)",
              "tfn.jit(lambda a: tnp.take(a, [0]))(np.array([1.0, np.inf]))  # [nan], numpy [1.]",
              kinds=("mismatch",), ops_any=("take", "take_along_axis"), message=r"got np\.float\d+\(nan\)"),
]


def match(failure: Failure) -> KnownOpen | None:
    return next((k for k in KNOWN_OPEN if k.matches(failure)), None)
