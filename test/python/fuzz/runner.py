"""Fuzzing campaigns: hypothesis draws cases, a worker runs them, failures are sorted and saved.

`run_shard` is one process's campaign (one worker). Without shrinking (the `make test`
slice) every failure is collected and the run goes on; with shrinking (`make fuzz`) the
first new failure is shrunk by hypothesis (at most SHRINK_S seconds), simplified line by
line (simplify.py), saved as a regression file, and the campaign goes on with a fresh
seed, skipping failures of the same oracle and kind whose program uses every op of a
saved one. Failures that match `known_open` are counted apart. `run_parallel` runs
shards in child processes (one per core) and merges their reports.
"""
from __future__ import annotations

import collections
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from fuzz import known_open
from fuzz.generator import cases
from fuzz.program import Case, Failure, render_inputs
from fuzz.simplify import simplify
from fuzz.worker import Worker

SHRINK_S = 120.0         # shrinking one failure stops after this long, keeping the smallest case so far
PROGRESS_S = 60.0
REGRESSIONS = Path(__file__).resolve().parent.parent / "fuzz_regressions"


@dataclass
class Report:
    programs: int = 0
    checks: int = 0                        # oracle runs that passed
    elements: int = 0                      # values compared by them
    skipped: int = 0                       # oracle runs that did not apply
    seconds: float = 0.0
    by_oracle: dict = field(default_factory=lambda: collections.defaultdict(int))
    known: dict = field(default_factory=lambda: collections.defaultdict(int))
    failures: list = field(default_factory=list)     # [{"signature", "oracle", "kind", "message", "repro", "file"}]

    def merge(self, other: dict) -> None:
        self.programs += other["programs"]
        self.checks += other["checks"]
        self.elements += other["elements"]
        self.skipped += other["skipped"]
        self.seconds = max(self.seconds, other["seconds"])
        for k, v in other["by_oracle"].items():
            self.by_oracle[k] += v
        for k, v in other["known"].items():
            self.known[k] += v
        seen = {f["signature"] for f in self.failures}
        self.failures += [f for f in other["failures"] if f["signature"] not in seen]

    def summary(self) -> str:
        rate = self.programs / self.seconds if self.seconds else 0.0
        lines = [f"fuzz: {self.programs} programs, {self.checks} checks passed ({self.elements} values compared), "
                 f"{self.skipped} checks not applicable, {len(self.failures)} failures, "
                 f"{sum(self.known.values())} known-open hits, {self.seconds:.0f} s ({rate:.1f} programs/s)",
                 "  checks by oracle: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_oracle.items()))]
        if self.known:
            lines.append("  known open: " + ", ".join(f"{k} x{v}" for k, v in sorted(self.known.items())))
        for f in self.failures:
            lines.append(f"\n--- FAILURE {f['signature']}" + (f"  (saved as {f['file']})" if f.get("file") else ""))
            lines.append(f["message"][:2000])
            lines.append("repro:\n" + f["repro"])
        return "\n".join(lines)


class Found(Exception):
    """Raised inside the hypothesis test so that hypothesis shrinks the case."""

    def __init__(self, failure: Failure):
        super().__init__(failure.signature())
        self.failure = failure


def regression_source(failure: Failure) -> str:
    case = failure.case
    first = failure.message.strip().splitlines()[0] if failure.message.strip() else failure.kind
    return (f'"""Fuzz regression ({failure.oracle}, {failure.kind}): {first[:150]}"""\n'
            f"import numpy as np\n\n"
            f"CHECKS = {tuple(case.checks)!r}\n"
            f"SEED = {case.seed}\n"
            f"EXPECT_ERROR = {case.expect_error}\n"
            f"SIGNATURE = {failure.signature()!r}\n\n\n"
            f"{case.source}\n\n"
            f"INPUTS = {render_inputs(case.inputs)}\n")


def save_regression(failure: Failure, directory: Path = REGRESSIONS) -> Path:
    text = regression_source(failure)
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    path = directory / f"{failure.oracle}_{failure.kind.replace('-', '_')}_{digest}.py"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run_shard(seed: int, programs: int, seconds: float, shrink: bool, timeout: float = 30.0,
              save: bool = False, profile: str = "full") -> Report:
    report = Report()
    worker = Worker(timeout)
    start = time.monotonic()
    deadline = start + seconds
    saved: list[Failure] = []          # minimal failures recorded so far (deduplication)
    run = 0
    shrink_until = [0.0]
    progress = [start + PROGRESS_S]
    try:
        while report.programs < programs and time.monotonic() < deadline:
            target: list[tuple] = []        # (oracle, kind) being shrunk, once one is found
            best: list[Failure] = []        # failing cases in the order found: the last is the smallest

            def body(case: Case) -> None:
                now = time.monotonic()
                if (now >= deadline and not target) or (target and now >= shrink_until[0]):
                    return
                outcome = worker.run(case)
                if not target:
                    report.programs += 1
                    if now >= progress[0]:
                        progress[0] = now + PROGRESS_S
                        log(f"shard {seed}: {report.programs} programs, {report.checks} checks passed, "
                            f"{len(report.failures)} failures, {sum(report.known.values())} known-open hits")
                for oracle, (status, kind, message, checked) in outcome.results.items():
                    if not target:
                        report.checks += status == "pass"
                        report.elements += checked
                        report.skipped += status == "skip"
                        report.by_oracle[oracle] += status == "pass"
                    if status != "fail":
                        continue
                    failure = Failure(oracle, kind, message, case)
                    entry = known_open.match(failure)
                    if entry is not None:
                        report.known[entry.name] += not target
                        continue
                    sig = failure.signature()
                    if not shrink:
                        if sig not in {f["signature"] for f in report.failures}:
                            report.failures.append(failure_record(failure))
                        continue
                    if is_known(failure, saved) or (target and (oracle, kind) != target[0]):
                        continue
                    if not target:
                        target.append((oracle, kind))
                        shrink_until[0] = time.monotonic() + SHRINK_S
                        log(f"shard {seed}: found {sig}; shrinking (at most {SHRINK_S:.0f} s)")
                    best.append(failure)
                    raise Found(failure)

            n = programs - report.programs
            test = settings(max_examples=max(1, min(n, 200)), database=None, deadline=None,
                            phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
                            suppress_health_check=list(HealthCheck), report_multiple_bugs=False)(
                given(cases(profile=profile))(body))
            test = hypothesis_seed(seed * 1000 + run)(test)
            run += 1
            try:
                test()
            except Exception as exc:        # Found; or flaky, or shrinking cut short: the smallest seen
                if not best:
                    raise
                smallest = exc.failure if isinstance(exc, Found) else best[-1]
                record(report, simplify(smallest, lambda c: worker.run(c).failures()), saved, save)
            if not shrink:
                break
    finally:
        worker.stop()
    report.seconds = time.monotonic() - start
    return report


def failure_record(failure: Failure, path: Path | None = None) -> dict:
    return {"signature": failure.signature(), "oracle": failure.oracle, "kind": failure.kind,
            "message": failure.message,
            "repro": failure.case.repro() + f"# failed check: {failure.oracle} (checks {failure.case.checks}, "
                                            f"seed {failure.case.seed})\n",
            "file": str(path) if path else ""}


def is_known(failure: Failure, saved: list[Failure]) -> bool:
    """Already recorded: a saved minimal failure of the same oracle and kind whose ops this program uses."""
    return any(s.oracle == failure.oracle and s.kind == failure.kind and s.case.ops() <= failure.case.ops()
               for s in saved)


def record(report: Report, failure: Failure, saved: list, save: bool) -> None:
    saved.append(failure)
    path = save_regression(failure) if save else None
    report.failures.append(failure_record(failure, path))
    log(f"fuzz: new failure {failure.signature()}" + (f" -> {path}" if path else ""))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report_dict(report: Report) -> dict:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in vars(report).items()}


def run_parallel(seed: int, programs: int, seconds: float, jobs: int = 2, shrink: bool = False,
                 save: bool = False, timeout: float = 30.0, profile: str = "full") -> Report:
    """Shards in child processes, each with its own seed, worker and share of the programs."""
    here = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(here)] + sys.path))
    procs = []
    for k in range(jobs):
        share = programs // jobs + (k < programs % jobs)
        cmd = [sys.executable, "-m", "fuzz", "shard", "--seed", str(seed + k), "--programs", str(share),
               "--seconds", str(seconds), "--timeout", str(timeout), "--profile", profile] + \
              (["--shrink"] if shrink else []) + \
              (["--save"] if save else [])
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, cwd=str(here), text=True))
    total = Report()
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"fuzz shard exited with status {p.returncode}:\n{out[-3000:]}")
        total.merge(json.loads(out.strip().splitlines()[-1]))
    return total
