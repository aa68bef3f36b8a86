"""Differential fuzzing of tfn: random tfn.numpy programs checked against numpy and against
finite differences, and transforms checked against each other.

    program.py     a case: program source `def f(xp, ...)`, inputs, checks; failures and repros
    generator.py   hypothesis strategies growing well-typed random programs (DAGs of ops)
    compare.py     dtype-aware, conditioning-aware comparison with numpy's results
    oracles.py     the checks (jit, eager, aot, vmap, fd, jac, hessian, vmap_grad), run in the worker
    worker.py      the persistent child process that runs cases (crash or hang = a failure)
    runner.py      campaigns: shards, shrinking, regression files, reports
    known_open.py  defects found and not yet fixed, skipped by the make-test slice
    __main__.py    `python -m fuzz` (run from test/python; `make fuzz FUZZ_MINUTES=30`)
"""
