"""A fixed-seed slice of the differential fuzzer (test/python/fuzz): random tfn.numpy programs
checked against numpy, finite differences and each other, each in a worker process.

`make fuzz FUZZ_MINUTES=30` runs the same fuzzer for as long as asked and saves what it finds
under fuzz_regressions/. Failures matching fuzz/known_open.py are counted, not failed.
"""
from __future__ import annotations

from fuzz.runner import run_parallel

SEED = 20261201
PROGRAMS = 300
BUDGET_S = 80.0    # wall-clock cap: a loaded machine runs fewer programs rather than take longer


def test_fuzz_slice(capsys):
    report = run_parallel(SEED, PROGRAMS, BUDGET_S, jobs=2, shrink=False, profile="slice")
    with capsys.disabled():
        print("\n" + report.summary().split("\n\n")[0])
    assert not report.failures, report.summary()
    assert report.programs >= 10, f"only {report.programs} programs ran within {BUDGET_S} s"


# Programs that misbehave only under tfn.numpy: the harness must report each as the right failure.
PLANTED = {
    "mismatch": "def f(xp, x0):\n    return xp.tanh(x0) + (1e-4 if xp.__name__ == 'tfn.numpy' else 0)\n",
    "grad": "def f(xp, x0):\n    import tfn\n    y = xp.tanh(x0)\n"
            "    return y + 0.01 * (tfn.stop_gradient(y) - y) if xp.__name__ == 'tfn.numpy' else y\n",
    "crash": "def f(xp, x0):\n    import os\n    if xp.__name__ == 'tfn.numpy':\n        os.abort()\n    return x0\n",
    "hang": "def f(xp, x0):\n    import time\n    if xp.__name__ == 'tfn.numpy':\n        time.sleep(60)\n    return x0\n",
}


def test_fuzz_harness_reports_planted_defects():
    import numpy as np
    from fuzz.program import Case
    from fuzz.worker import Worker
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    worker = Worker(timeout=3)
    try:
        got = {name: worker.run(Case(src, [x], ("jit", "fd"), seed=1)).results for name, src in PLANTED.items()}
        ok = worker.run(Case("def f(xp, x0):\n    return xp.tanh(x0 @ x0.T).sum(axis=0)\n", [x],
                             ("jit", "fd", "jac", "vmap", "vmap_grad"), seed=1)).results
    finally:
        worker.stop()
    assert got["mismatch"]["jit"][:2] == ("fail", "mismatch")
    assert got["grad"]["jit"][0] == "pass" and got["grad"]["fd"][:2] == ("fail", "mismatch")
    assert got["crash"]["jit"][:2] == ("fail", "crash")
    assert got["hang"]["jit"][:2] == ("fail", "hang")
    assert all(status == "pass" for status, *_ in ok.values()), ok
