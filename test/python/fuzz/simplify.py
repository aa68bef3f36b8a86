"""After hypothesis has shrunk a failing case: delete lines while the same failure remains.

Hypothesis shrinks the choices that built a program (op kinds, operands, shapes); it
cannot splice a line out of the DAG. Here each line `vK = expr` is tried away, its uses
replaced by one of its operands, and unused inputs dropped; a candidate is kept when the
worker still reports a failure of the same oracle and kind.
"""
from __future__ import annotations

import re
from dataclasses import replace

from fuzz.program import Case, Failure, load_function

LINE = re.compile(r"^    (v\d+) = (.*)$")
NAME = re.compile(r"\b[xv]\d+\b")


def _parse(source: str):
    lines = source.splitlines()
    header, body, ret = lines[0], lines[1:-1], lines[-1]
    return header, [LINE.match(line).groups() for line in body], ret


def _render(header: str, body, ret: str) -> str:
    return "\n".join([header] + [f"    {n} = {e}" for n, e in body] + [ret]) + "\n"


def _drop_unused_inputs(case: Case) -> Case:
    header, body, ret = _parse(case.source)
    params = re.match(r"def f\(xp, (.*)\):", header).group(1).split(", ")
    used = set(NAME.findall(" ".join(e for _, e in body) + ret))
    keep = [i for i, p in enumerate(params) if p in used]
    if len(keep) == len(params) or not keep:
        return case
    header = f"def f(xp, {', '.join(params[i] for i in keep)}):"
    return replace(case, source=_render(header, body, ret), inputs=[case.inputs[i] for i in keep])


def candidates(case: Case):
    """Cases with one line removed, its name replaced by one of its operands in later lines."""
    header, body, ret = _parse(case.source)
    for k in reversed(range(len(body))):
        name, expr = body[k]
        for operand in dict.fromkeys(NAME.findall(expr)):
            pattern = re.compile(rf"\b{name}\b")
            rest = [(n, pattern.sub(operand, e)) for n, e in body[k + 1:]]
            new_ret = pattern.sub(operand, ret)
            yield _drop_unused_inputs(replace(case, source=_render(header, body[:k] + rest, new_ret)))


def numpy_rejects(case: Case) -> bool:
    from fuzz.compare import quiet
    import numpy as np
    try:
        quiet(load_function(case.source), np, *case.inputs)
    except Exception:
        return True
    return False


def simplify(failure: Failure, run, budget: int = 40) -> Failure:
    """The smallest case found that still fails like `failure`; run(case) -> [(oracle, kind, message)]."""
    best, tries = failure, 0
    improved = True
    while improved and tries < budget:
        improved = False
        for candidate in candidates(best.case):
            if numpy_rejects(candidate) != candidate.expect_error:
                continue                    # a valid program must stay valid, an invalid one invalid
            tries += 1
            same = [f for f in run(candidate) if f[0] == failure.oracle and f[1] == failure.kind]
            if same:
                best = Failure(same[0][0], same[0][1], same[0][2], candidate)
                improved = True
                break
            if tries >= budget:
                break
    return best
