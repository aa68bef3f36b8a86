"""Replays every program the fuzzer saved under fuzz_regressions/ (see fuzz/runner.py).

A regression whose failure still matches an entry of fuzz/known_open.py is an expected
failure; any other failure is a regression.
"""
from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

from fuzz import known_open
from fuzz.program import Case, Failure
from fuzz.worker import Worker

FILES = sorted((Path(__file__).parent / "fuzz_regressions").glob("*.py"))


def load_case(path: Path) -> Case:
    spec = importlib.util.spec_from_file_location(f"fuzz_regression_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Case(inspect.getsource(module.f), list(module.INPUTS), tuple(module.CHECKS), module.SEED,
                module.EXPECT_ERROR, module.SIGNATURE)


@pytest.fixture(scope="module")
def worker():
    w = Worker(timeout=60)
    yield w
    w.stop()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fuzz_regression(path, worker):
    case = load_case(path)
    failures = [Failure(o, k, m, case) for o, k, m in worker.run(case).failures()]
    open_ = [known_open.match(f) for f in failures]
    if failures and all(open_):
        pytest.xfail("known open: " + ", ".join(sorted({k.name for k in open_})))
    assert not failures, "\n\n".join(f"{f.signature()}\n{f.message}" for f in failures) + "\n\n" + case.source
