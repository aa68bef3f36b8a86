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
    KnownOpen(
        name="bool-times-nonfinite-contraction",
        summary="numpy's dot/tensordot of a bool operand with inf gives 0 where False meets inf; "
                "tfn converts the bool to 0.0 and multiplies, and IEEE's 0 * inf is nan",
        repro="tnp.tensordot(np.array(False), np.array([-np.inf], np.float32), axes=0)  # numpy 0, tfn nan",
        kinds=("mismatch",), ops_any=("tensordot", "dot", "matmul", "inner", "outer", "einsum", "vdot"),
        message=r"got np\.float\d+\(nan\), numpy gives np\.float\d+\(-?0\.0\)"),
]


def match(failure: Failure) -> KnownOpen | None:
    return next((k for k in KNOWN_OPEN if k.matches(failure)), None)
