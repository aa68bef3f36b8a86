"""Failures of the compiler itself, reported at the user's function instead of as IR.

Tracing checks what the user wrote (`ShapeError`, `TraceError`, ...). Whatever fails
after that (an `MLIRError` from a pass or a verifier, an internal exception, an
allocation too large for the machine) is a problem of the compiler or of the machine,
and the user can act on it only if it names *their* function, its `file:line` and the
failing op and shapes — never a dump of linalg IR. `compile_errors` does that
translation around a compile step.
"""
from __future__ import annotations

import contextlib
import inspect
import re
from typing import Callable, Iterator

from mlir import ir


class CompileError(RuntimeError):
    """The compiler could not compile a function that traced correctly (a tfn bug).

    `function` names the user's function, `location` is the `file:line` of the op that
    failed where known (else None).
    """

    def __init__(self, message: str, function: str = "", location: str | None = None):
        super().__init__(message)
        self.function, self.location = function, location


def describe_function(name: str, fn: Callable | None = None) -> str:
    """`'name' (defined at file:line)`, as far as `fn` (unwrapped) tells."""
    code = None
    try:
        code = getattr(inspect.unwrap(fn), "__code__", None) if fn is not None else None
    except ValueError:  # a cycle of __wrapped__
        pass
    where = f" (defined at {code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    return f"'{name}'{where}"


def location_text(loc) -> str | None:
    """`file:line` of the first file position inside an `ir.Location`, else None."""
    from tfn.dialect.locations import file_position
    if not isinstance(loc, ir.Location):
        return None
    position = file_position(loc)
    return f"{position[0]}:{position[1]}" if position else None


# The type signature that ends an op's generic form: `} : (tensor<..>, ..) -> tensor<..>`.
_SIGNATURE = re.compile(r":\s*(\([^()]*\)\s*->\s*.+?)\s*$")


def _op_signature(note: str) -> tuple[str | None, str | None]:
    """(op name, types) from a 'see current operation: ...' note (the IR itself is dropped)."""
    name = re.search(r'"([a-z_]+\.[a-z_.]+)"', note) or re.search(r"\b([a-z_]+\.[a-z_.]+)\b", note)
    lines = [line for line in note.strip().splitlines() if line.strip()]
    types = _SIGNATURE.search(lines[-1]) if lines else None
    return (name.group(1) if name else None), (types.group(1) if types else None)


def summarize(e: BaseException) -> tuple[str, str | None, str | None]:
    """(one-line message, file:line or None, failing op and types or None) of a compiler failure."""
    if isinstance(e, ir.MLIRError) and getattr(e, "error_diagnostics", None):
        diag = e.error_diagnostics[0]
        failing = None
        for note in diag.notes:
            if "see current operation" in note.message:
                name, types = _op_signature(note.message)
                failing = " : ".join(x for x in (name, types) if x) or None
        return diag.message.strip().splitlines()[0], location_text(diag.location), failing
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    if isinstance(e, ir.MLIRError):  # no structured diagnostics: keep the message, not the IR
        first = re.sub(r"^Failure while executing pass pipeline:\s*", "", text).splitlines()
        first = next((line.strip() for line in first if line.strip()), "MLIR error")
        first = re.sub(r"^error:\s*", "", first)
    return first, location_text(getattr(e, "location", None)), getattr(e, "failing_op", None)


def compile_error(e: BaseException, function: str, prefix: str = "tfn.jit") -> CompileError:
    """The CompileError for `e`, raised while compiling `function` (see describe_function)."""
    message, where, failing = summarize(e)
    kind = "" if isinstance(e, ir.MLIRError) else f"{type(e).__name__}: "
    lines = [f"{prefix}: internal compiler error while compiling {function}: {kind}{message}"]
    if where:
        lines.append(f"  at {where}")
    if failing:
        lines.append(f"  failing op: {failing}")
    lines.append("  (the function traced correctly: this is a bug in tfn's compiler; please report it)")
    return CompileError("\n".join(lines), function, where)


@contextlib.contextmanager
def compile_errors(function: str, prefix: str = "tfn.jit") -> Iterator[None]:
    """Turns every exception of the enclosed compile step into a `CompileError` naming
    `function`; a `MemoryError` stays a MemoryError (its message gains the name)."""
    try:
        yield
    except (CompileError, KeyboardInterrupt):
        raise
    except MemoryError as e:
        raise MemoryError(f"{prefix}: {function}: {e}") from None
    except Exception as e:
        if type(e).__module__.startswith("tfn."):
            raise  # tfn's own errors (CudaUnavailable, ...) already say what to do
        raise compile_error(e, function, prefix) from None


def format_bytes(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def physical_memory() -> int | None:
    """Bytes of RAM on this machine (None where the OS does not say)."""
    import os
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None
