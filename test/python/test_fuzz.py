"""A fixed-seed slice of the differential fuzzer (test/python/fuzz): random tfn.numpy programs
checked against numpy, finite differences and each other, each in a worker process.

`make fuzz FUZZ_MINUTES=30` runs the same fuzzer for as long as asked and saves what it finds
under fuzz_regressions/. Failures matching fuzz/known_open.py are counted, not failed.
"""
from __future__ import annotations

from fuzz.runner import run_parallel

SEED = 20261201
PROGRAMS = 300
BUDGET_S = 70.0    # wall-clock cap: a loaded machine runs fewer programs rather than take longer


def test_fuzz_slice(capsys):
    report = run_parallel(SEED, PROGRAMS, BUDGET_S, jobs=2, shrink=False, profile="slice")
    with capsys.disabled():
        print("\n" + report.summary().split("\n\n")[0])
    assert not report.failures, report.summary()
    assert report.programs >= 10, f"only {report.programs} programs ran within {BUDGET_S} s"
