"""Command line: `python -m fuzz [--minutes M] [--programs N] [--jobs J] [--seed S] [--no-shrink]`.

Run from test/python (or with it on PYTHONPATH); `make fuzz FUZZ_MINUTES=30` does. Prints
the counts of programs, checks and failures; each new failure is shrunk to a minimal
program and saved under test/python/fuzz_regressions/, which test_fuzz_regressions.py
replays. `python -m fuzz shard ...` is one shard, used by the parallel run; it prints
its report as one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from fuzz.runner import report_dict, run_parallel, run_shard


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "shard"])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=None, help="overrides --minutes")
    parser.add_argument("--programs", type=int, default=10**9)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per check before a hang is reported")
    parser.add_argument("--profile", default="full", choices=["full", "slice"],
                        help="how often the costly checks run (slice: the make-test mix)")
    parser.add_argument("--no-shrink", dest="shrink", action="store_false")
    parser.add_argument("--shrink", dest="shrink", action="store_true")
    parser.add_argument("--no-save", dest="save", action="store_false")
    parser.add_argument("--save", dest="save", action="store_true")
    parser.set_defaults(shrink=None, save=None)
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    seed = args.seed if args.seed is not None else int(time.time()) % 100000
    if args.mode == "shard":
        report = run_shard(seed, args.programs, seconds, bool(args.shrink), args.timeout, bool(args.save),
                           args.profile)
        print(json.dumps(report_dict(report)))
        return 0
    shrink = True if args.shrink is None else args.shrink
    save = shrink if args.save is None else args.save
    print(f"fuzz: seed {seed}, {args.jobs} jobs, {seconds:.0f} s", flush=True)
    report = run_parallel(seed, args.programs, seconds, args.jobs, shrink, save, args.timeout, args.profile)
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
