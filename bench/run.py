"""Side-by-side timings: tfn.jit against numpy, jax.jit and torch (eager), on one machine.

    python bench/run.py [--repeat N] [--warmup N] [--rounds N] [-k SUBSTRING] [--frameworks tfn,numpy,jax,torch]
                        [--busy 1,2] [--compile-scaling]
                        [--markdown bench/RESULTS.md] [--png bench/results.png] [--no-save]

Each case (bench/cases.py) is run by every installed framework that has a function
for it: warm-up calls first (the first one compiles; its time is reported for tfn
and jax), then the median of N timed calls; the table is timed twice (--rounds) and
each cell keeps its lower median. Prints a markdown table in ms with the
ratios tfn/other (below 1: tfn is faster), and checks every result against numpy's
(or the first framework's). A framework that is not installed is skipped.

Rows with a `baseline` (a gradient and its forward pass) also get the ratio
gradient time / forward time of every framework. The report (machine, versions,
tables) is written to bench/RESULTS.md and a bar chart of tfn/JAX and tfn/torch per
case (log scale) to bench/results.png, unless --no-save.

--busy 1,2 times the table again with 1, then 2, processes spinning in a Python loop
on the machine's cores (started before and killed after each run) and adds a table of
quiet and busy times of tfn, JAX and torch with the ratios tfn/other under each load.
--compile-scaling adds a table of first-call (trace + compile) seconds of tfn and JAX
for programs that grow with a parameter (bench/cases.py COMPILE_CASES), each call in a
fresh process so no cache helps; -k selects among these cases too.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as registry  # noqa: E402

FRAMEWORKS = ("tfn", "numpy", "jax", "torch")


# ------------------------------------------------------------------ framework adapters

def _tree_map(fn, tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_tree_map(fn, t) for t in tree)
    if isinstance(tree, dict):
        return {k: _tree_map(fn, v) for k, v in tree.items()}
    return fn(tree)


def _leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [x for t in tree for x in _leaves(t)]
    if isinstance(tree, dict):
        return [x for k in sorted(tree) for x in _leaves(tree[k])]
    return [tree]


# "cpu", or "cuda" to run tfn (device="cuda"), torch and JAX on the GPU (--device).
DEVICE = "cpu"


def _prepare_tfn(fn, args):
    import tfn
    if DEVICE == "cuda":  # like JAX and torch, keep inputs and results on the GPU
        args = _tree_map(tfn.device_put, args)
    return tfn.jit(fn, device=DEVICE), args, lambda out: _tree_map(np.asarray, out)


def _prepare_numpy(fn, args):
    return fn, args, lambda out: _tree_map(np.asarray, out)


def _prepare_jax(fn, args):
    import jax
    jitted = jax.jit(fn)
    jargs = _tree_map(jax.numpy.asarray, args)

    def call(*a):
        return jax.block_until_ready(jitted(*a))
    return call, jargs, lambda out: _tree_map(np.asarray, out)


def _prepare_torch(fn, args):
    import torch
    targs = _tree_map(lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(DEVICE), args)
    sync = torch.cuda.synchronize if DEVICE == "cuda" else (lambda: None)

    def call(*a):
        with torch.no_grad():
            out = fn(*a)
        sync()
        return out
    return call, targs, lambda out: _tree_map(lambda t: t.detach().cpu().numpy(), out)


PREPARE = {"tfn": _prepare_tfn, "numpy": _prepare_numpy, "jax": _prepare_jax, "torch": _prepare_torch}


def available(name: str) -> bool:
    try:
        __import__(name)
        return True
    except Exception:  # noqa: BLE001 - a broken install counts as absent
        return False


# ------------------------------------------------------------------ timing

def measure(call, args, repeat: int, warmup: int):
    """(first-call seconds, median ms of `repeat` calls after `warmup` calls, last output)."""
    t0 = time.perf_counter()
    out = call(*args)
    first = time.perf_counter() - t0
    for _ in range(max(0, warmup - 1)):
        out = call(*args)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = call(*args)
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times) * 1e3, out


def agree(out, ref, rtol) -> bool:
    a, b = _leaves(out), _leaves(ref)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if x.shape != y.shape:
            return False
        tol = rtol * max(1.0, float(np.max(np.abs(y))) if y.size else 1.0)
        if y.size and float(np.max(np.abs(x - y))) > tol:
            return False
    return True


def run_cell(case, name, repeat, warmup, seed=0):
    """Times one framework on one case: (ms or None, compile seconds or None, output or error
    text, a `retime()` measuring again without recompiling, or None)."""
    args = case.inputs(np.random.default_rng(seed))
    try:
        call, fargs, to_numpy = PREPARE[name](getattr(case, name), args)
        first, ms, out = measure(call, fargs, repeat, warmup)
        return ms, first, to_numpy(out), lambda: measure(call, fargs, repeat, 1)[1]
    except Exception as e:  # noqa: BLE001 - one failing cell must not stop the table
        text = str(e).strip().splitlines()
        return None, None, f"{type(e).__name__}: {text[0][:100] if text else ''}", None


def run(cases, frameworks, repeat, warmup, pause=0.5, rounds=2):
    """Rows for `cases`. Frameworks run one after the other over all cases, with a pause
    between them, so that one's spinning worker threads don't steal the other's cores.
    The whole table is timed `rounds` times and each cell keeps its lowest median, so a
    burst of load from other processes during one round does not decide a ratio."""
    rows = [{"case": c.name, "ms": {}, "compile_s": {}, "out": {}, "problems": []} for c in cases]
    again = {}
    for name in frameworks:
        for case, row in zip(cases, rows):
            if getattr(case, name) is None:
                continue
            ms, first, out, retime = run_cell(case, name, repeat, warmup)
            row["ms"][name] = ms
            if ms is None:
                row["problems"].append(f"{name}: {out}")
                continue
            if name in ("tfn", "jax"):
                row["compile_s"][name] = first
            row["out"][name] = out
            again[(case.name, name)] = retime
        time.sleep(pause)
    for _ in range(rounds - 1):
        for name in frameworks:
            for row in rows:
                retime = again.get((row["case"], name))
                if retime is not None:
                    row["ms"][name] = min(row["ms"][name], retime())
            time.sleep(pause)
    for case, row in zip(cases, rows):
        outs = row.pop("out")
        if not outs:
            continue
        ref_name = "numpy" if "numpy" in outs else next(iter(outs))
        for name, out in outs.items():
            if name != ref_name and not agree(out, outs[ref_name], case.rtol):
                row["problems"].append(f"{name} differs from {ref_name}")
    return rows


# ------------------------------------------------------------------ load

# A pure Python busy loop; it also ends when its parent has gone (even killed outright).
SPIN = ("import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n"
        "    for _ in range(1000000):\n        pass\n")


@contextlib.contextmanager
def busy(n: int, settle: float = 0.5):
    """Runs `n` processes spinning on the CPU for the duration of the block; they are
    killed on the way out, also on an error, Ctrl-C or SIGTERM."""
    procs = []
    previous = signal.getsignal(signal.SIGTERM)
    if n:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below
    try:
        procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n)]
        time.sleep(settle if n else 0)
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()
        if n:
            signal.signal(signal.SIGTERM, previous)


def busy_table(levels, rows_by_level, frameworks) -> str:
    """One table: the ms of tfn, JAX and torch quiet and under each load, then tfn/other per load."""
    shown = [f for f in ("tfn", "jax", "torch") if f in frameworks]
    others = [f for f in shown if f != "tfn"] if "tfn" in shown else []

    def label(level):
        return "" if level == 0 else f" busy{level}"
    head = (["case"] + [f"{f} ms{label(n)}" for f in shown for n in levels]
            + [f"tfn/{f}{label(n)}" for f in others for n in levels])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, row in enumerate(rows_by_level[levels[0]]):
        ms = {n: rows_by_level[n][i]["ms"] for n in levels}
        cells = [row["case"]] + [_fmt(ms[n].get(f)) for f in shown for n in levels]
        for f in others:
            for n in levels:
                t, o = ms[n].get("tfn"), ms[n].get(f)
                cells.append("—" if t is None or not o else f"{t / o:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ compile-time scaling

def _compile_child(framework: str, name: str) -> None:
    """In a fresh process: import `framework`, build the inputs, then time the first call of
    the case `name`; prints {"s": seconds} or {"error": text} as JSON on the last line."""
    import cases
    case = next(c for c in cases.COMPILE_CASES if c.name == name)
    try:
        __import__(framework)
        if framework == "jax":
            import jax
            jax.config.update("jax_enable_x64", True)
        # The framework's own start-up (backend, context) is not the program's compile time.
        warm, one, _ = PREPARE[framework](lambda x: x + 1, (np.ones(3, np.float32),))
        warm(*one)
        call, args, _ = PREPARE[framework](getattr(case, framework), case.inputs(np.random.default_rng(0)))
        t0 = time.perf_counter()
        call(*args)
        print(json.dumps({"s": time.perf_counter() - t0}))
    except Exception as e:  # noqa: BLE001 - reported in the table
        text = str(e).strip().splitlines()
        print(json.dumps({"error": f"{type(e).__name__}: {text[0][:100] if text else ''}"}))


def compile_scaling(selected, frameworks, timeout: float = 900) -> list[dict]:
    """First-call seconds per case and framework (tfn, jax), each in its own process."""
    rows = []
    for case in selected:
        row = {"case": case.name, "s": {}, "problems": []}
        for name in (f for f in ("tfn", "jax") if f in frameworks and getattr(case, f) is not None):
            cmd = [sys.executable, os.path.abspath(__file__), "--compile-child", name, case.name]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
                lines = done.stdout.strip().splitlines()
                result = json.loads(lines[-1]) if lines else {"error": done.stderr.strip()[-200:]}
            except subprocess.TimeoutExpired:
                result = {"error": f"no result within {timeout:.0f} s"}
            except ValueError:
                result = {"error": lines[-1][:200]}
            if "s" in result:
                row["s"][name] = result["s"]
            else:
                row["problems"].append(f"{name}: {result['error']}")
        rows.append(row)
        print(f"  {case.name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in row["s"].items()), flush=True)
    return rows


def compile_table(rows) -> str:
    lines = ["| case | tfn compile s | jax compile s | tfn/jax |", "|---|---|---|---|"]
    for r in rows:
        t, j = r["s"].get("tfn"), r["s"].get("jax")
        cells = [r["case"], "—" if t is None else f"{t:.2f}", "—" if j is None else f"{j:.2f}",
                 "—" if t is None or not j else f"{t / j:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(ms):
    return "—" if ms is None else (f"{ms:.3f}" if ms < 10 else f"{ms:.1f}")


def table(rows, frameworks) -> str:
    others = [f for f in frameworks if f != "tfn"]
    head = (["case"] + [f"{f} ms" for f in frameworks] + [f"tfn/{f}" for f in others if "tfn" in frameworks]
            + (["tfn compile s"] if "tfn" in frameworks else []) + (["jax compile s"] if "jax" in frameworks else []))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ms = r["ms"]
        cells = [r["case"]] + [_fmt(ms.get(f)) for f in frameworks]
        if "tfn" in frameworks:
            t = ms.get("tfn")
            cells += [("—" if t is None or not ms.get(f) else f"{t / ms[f]:.2f}") for f in others]
            c = r["compile_s"].get("tfn")
            cells.append("—" if c is None else f"{c:.2f}")
        if "jax" in frameworks:
            c = r["compile_s"].get("jax")
            cells.append("—" if c is None else f"{c:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environment(frameworks) -> str:
    parts = [f"python {platform.python_version()}", f"{os.cpu_count()} cpus", f"numpy {np.__version__}"]
    for name in frameworks:
        if name in ("jax", "torch"):
            parts.append(f"{name} {sys.modules[name].__version__}")
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                parts.append(f"numpy BLAS {pool.get('internal_api')} {pool.get('architecture')} "
                             f"x{pool.get('num_threads')}")
    except ImportError:
        pass
    try:
        from tfn.runtime import blas
        parts.append(f"tfn gemm: {'BLAS ' + os.path.basename(blas.library()) if blas.available() else 'loops'}")
    except Exception:  # noqa: BLE001
        pass
    env = [f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")
           if k in os.environ]
    if env:
        parts.append("env " + " ".join(env))
    return ", ".join(parts)


def machine() -> str:
    """CPU model, cores, SIMD level and load, from /proc/cpuinfo and os."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = next((s for s in ("avx512f", "avx2", "avx", "sse4_2") if s in flags), None)
    parts = [f"CPU {model}", f"{os.cpu_count()} cores"]
    if simd:
        parts.append(f"SIMD up to {simd}")
    try:
        parts.append("load average %.2f %.2f %.2f" % os.getloadavg())
    except OSError:
        pass
    if DEVICE == "cuda":
        import subprocess
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip()
        parts.append(f"GPU {gpu}")
    return ", ".join(parts)


def ratio_table(cases, rows, frameworks) -> str:
    """Gradient time / forward time per framework, for the rows that name a baseline."""
    by_name = {r["case"]: r for r in rows}
    lines = []
    for case, row in zip(cases, rows):
        base = by_name.get(case.baseline) if case.baseline else None
        if base is None:
            continue
        cells = []
        for f in frameworks:
            g, b = row["ms"].get(f), base["ms"].get(f)
            cells.append("—" if not g or not b else f"{g / b:.2f}")
        lines.append(f"| {case.name} / forward | " + " | ".join(cells) + " |")
    if not lines:
        return ""
    head = "| ratio | " + " | ".join(frameworks) + " |"
    return "\n".join([head, "|" + "---|" * (len(frameworks) + 1)] + lines)


def save_chart(rows, frameworks, path) -> bool:
    """Horizontal bars of tfn/JAX (and tfn/torch) per case, log scale; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    others = [f for f in ("jax", "torch") if f in frameworks]
    if "tfn" not in frameworks or not others:
        return False
    names = [r["case"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.5))
    height = 0.8 / len(others)
    colors = {"jax": "tab:blue", "torch": "tab:orange"}
    for i, f in enumerate(others):
        vals = []
        for r in rows:
            t, o = r["ms"].get("tfn"), r["ms"].get(f)
            vals.append(t / o if t and o else float("nan"))
        ys = [k + (i - (len(others) - 1) / 2) * height for k in range(len(rows))]
        ax.barh(ys, vals, height=height, color=colors.get(f), label=f"tfn / {f}")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio (log scale; < 1: tfn faster)")
    ax.set_title("tfn.jit vs jax.jit and torch.func (median ms ratio)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=50, help="timed calls per cell (median reported)")
    p.add_argument("--warmup", type=int, default=5, help="untimed calls first, the compiling one included")
    p.add_argument("--rounds", type=int, default=2, help="time the table this often; keep each cell's best median")
    p.add_argument("-k", dest="select", default="", help="only cases whose name contains this")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--markdown", default=os.path.join(here, "RESULTS.md"), help="report written here")
    p.add_argument("--png", default=os.path.join(here, "results.png"), help="bar chart written here")
    p.add_argument("--no-save", action="store_true", help="print only")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: tfn, torch and JAX on the GPU (numpy is left out); report in RESULTS-cuda.md")
    p.add_argument("--busy", default="", metavar="N,N",
                   help="also time the table with N processes spinning on the cores, for each N listed")
    p.add_argument("--compile-scaling", action="store_true",
                   help="also time the first call of the compile-scaling cases, each in a fresh process")
    p.add_argument("--compile-child", nargs=2, metavar=("FRAMEWORK", "CASE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.compile_child:
        _compile_child(*args.compile_child)
        return 0
    try:
        levels = [0] + sorted({int(n) for n in args.busy.split(",") if n.strip()} - {0})
    except ValueError:
        p.error(f"--busy takes a comma-separated list of process counts, not {args.busy!r}")
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda":
        args.markdown = args.markdown.replace("RESULTS.md", "RESULTS-cuda.md")
        args.png = args.png.replace("results.png", "results-cuda.png")
    wanted = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FRAMEWORKS]
    if unknown:
        p.error(f"unknown frameworks {unknown}; choose from {', '.join(FRAMEWORKS)}")
    frameworks = [f for f in wanted if available(f) and not (DEVICE == "cuda" and f == "numpy")]
    skipped = [f for f in wanted if f not in frameworks]
    if "jax" in frameworks:
        import jax
        jax.config.update("jax_enable_x64", True)  # f64 cases stay f64
        # On GPUs JAX multiplies f32 matrices in TF32 by default; compare like with like.
        jax.config.update("jax_default_matmul_precision", "highest")
    header = (f"# tfn benchmarks\n\n{machine()}.\n\n{environment(frameworks)}; median of {args.repeat} calls "
              f"after {args.warmup} warm-up calls, best of {max(1, args.rounds)} rounds; ratio tfn/other < 1 means tfn is faster. tfn and JAX "
              f"run jit-compiled functions, torch runs torch.func transforms eagerly.")
    if skipped:
        header += f"\nSkipped (not installed): {', '.join(skipped)}."
    print(header + "\n")
    selected = [c for c in registry.CASES if args.select.lower() in c.name.lower()]
    rows_by_level = {}
    for n in levels if selected else []:
        if n:
            print(f"timing with {n} busy process{'es' if n > 1 else ''} ...", flush=True)
        with busy(n):
            rows_by_level[n] = run(selected, frameworks, args.repeat, args.warmup, rounds=max(1, args.rounds))
    rows = rows_by_level.get(0, [])
    report = [header]
    if rows:
        report += ["", table(rows, frameworks)]
        ratios = ratio_table(selected, rows, frameworks)
        if ratios:
            report += ["", "Cost of a gradient relative to its forward pass (time ratio):", "", ratios]
    if len(levels) > 1 and rows:
        report += ["", f"Under load: busyN = N processes spinning in a Python loop on the {os.cpu_count()} cores "
                   "while timing (ms, and tfn/other under each load):", "",
                   busy_table(levels, rows_by_level, frameworks)]
    notes = [f"- {r['case']}{'' if n == 0 else f' (busy{n})'}: {m}"
             for n, level_rows in rows_by_level.items() for r in level_rows for m in r["problems"]]
    if args.compile_scaling:
        chosen = [c for c in registry.COMPILE_CASES if args.select.lower() in c.name.lower()]
        print("compile-time scaling (first call, fresh process each) ...", flush=True)
        compile_rows = compile_scaling(chosen, frameworks)
        report += ["", "Compile-time scaling: seconds of the first call (trace, compile, one run), "
                   "each in a fresh process:", "", compile_table(compile_rows)]
        notes += [f"- {r['case']}: {m}" for r in compile_rows for m in r["problems"]]
    if notes:
        report += ["", "Problems:", ""] + notes
    text = "\n".join(report[2:])
    print(text)
    if not args.no_save:
        with open(args.markdown, "w") as f:
            f.write("\n".join(report) + "\n")
        if rows and save_chart(rows, frameworks, args.png):
            with open(args.markdown, "a") as f:
                f.write(f"\n![tfn/JAX and tfn/torch per case]({os.path.basename(args.png)})\n")
        # The causes of the gaps that remain are written by hand beside the report (GAPS.md,
        # GAPS-cuda.md) and kept with every new table.
        gaps = os.path.join(os.path.dirname(args.markdown),
                            os.path.basename(args.markdown).replace("RESULTS", "GAPS"))
        if os.path.exists(gaps) and os.path.abspath(gaps) != os.path.abspath(args.markdown):
            with open(gaps) as g, open(args.markdown, "a") as f:
                f.write("\n" + g.read())
        print(f"\nwrote {args.markdown}" + (f" and {args.png}" if os.path.exists(args.png) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
