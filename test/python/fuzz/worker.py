"""A persistent child process that runs cases, and the parent's handle on it (`Worker`).

Importing tfn costs about a second, so one child runs many cases; an abort, a segfault
or a hang kills only the child: the parent reports it as a failure of the case that
was running (and of the oracle that had started), and starts a fresh child.

Protocol on the child's stdin/stdout: length-prefixed pickles. Parent -> child: a Case.
Child -> parent: ("start", oracle), then ("result", oracle, status, kind, message, checked)
per oracle, then ("done",). The child's own stdout is redirected to its stderr, which
goes to a file whose tail a crash report quotes.
"""
from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECYCLE_AFTER = 250      # cases per child, to bound what compiled code accumulates


def send(fd: int, obj) -> None:
    data = pickle.dumps(obj)
    data = struct.pack("<I", len(data)) + data
    while data:
        data = data[os.write(fd, data):]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
        chunk = os.read(fd, left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int, timeout: float | None = None):
    deadline = None if timeout is None else time.monotonic() + timeout
    (n,) = struct.unpack("<I", _read_exact(fd, 4, deadline))
    return pickle.loads(_read_exact(fd, n, deadline))


# ---------------------------------------------------------------- child

def child_main() -> None:
    out_fd = os.dup(1)
    os.dup2(2, 1)                                    # stray prints must not corrupt the protocol
    import warnings
    warnings.simplefilter("ignore")
    from fuzz.compare import CheckFailed, Skip
    from fuzz.oracles import ORACLES, Context, describe
    while True:
        try:
            case = recv(0)
        except EOFError:
            return
        try:
            ctx = Context(case)
        except Exception as exc:                     # a case that does not even load
            send(out_fd, ("result", "load", "fail", "harness", describe(exc), 0))
            send(out_fd, ("done",))
            continue
        for name in case.checks:
            send(out_fd, ("start", name))
            try:
                checked = ORACLES[name](ctx)
                result = ("result", name, "pass", "", "", int(checked))
            except Skip as exc:
                result = ("result", name, "skip", "", str(exc), 0)
            except CheckFailed as exc:
                result = ("result", name, "fail", exc.kind, str(exc), 0)
            except Exception as exc:                 # the oracle itself broke: report, don't die
                result = ("result", name, "fail", "harness", describe(exc), 0)
            send(out_fd, result)
        send(out_fd, ("done",))


# ---------------------------------------------------------------- parent

@dataclass
class Outcome:
    """What happened to one case: per oracle (status, kind, message, elements checked)."""
    results: dict = field(default_factory=dict)

    def failures(self):
        return [(name, kind, msg) for name, (status, kind, msg, _) in self.results.items() if status == "fail"]


class Worker:
    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout
        self.proc = None
        self.served = 0
        self.log = None

    def start(self) -> None:
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent)] + sys.path))
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        self.proc = subprocess.Popen([sys.executable, "-c", "from fuzz.worker import child_main; child_main()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env,
                                     cwd=str(HERE.parent))
        self.served = 0

    def stop(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def _kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def _log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:].decode(errors="replace")

    def run(self, case) -> Outcome:
        if self.proc is None or self.served >= RECYCLE_AFTER:
            self.stop()
            self.start()
        self.served += 1
        outcome, current = Outcome(), "load"
        try:
            send(self.proc.stdin.fileno(), case)
            while True:
                msg = recv(self.proc.stdout.fileno(), self.timeout)
                if msg[0] == "start":
                    current = msg[1]
                elif msg[0] == "result":
                    outcome.results[msg[1]] = tuple(msg[2:])
                else:
                    return outcome
        except TimeoutError:
            self._kill()
            outcome.results[current] = ("fail", "hang", f"no result within {self.timeout:.0f} s", 0)
        except (EOFError, BrokenPipeError):
            code = self.proc.wait()
            tail = self._log_tail()
            self.proc = None
            outcome.results[current] = ("fail", "crash", f"worker died (exit status {code}) during {current}"
                                        f"\n--- stderr tail ---\n{tail}", 0)
        return outcome
