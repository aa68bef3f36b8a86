"""Capturing MLIR diagnostics as plain records, and printing them like mlir-opt.

MLIR hands a diagnostic handler objects that are only valid during the callback,
so the handler copies each one into a `Record` (severity, resolved file position,
message, notes) at once.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from typing import Iterator, TextIO

from mlir import ir

from tfn.dialect.locations import file_position  # noqa: F401 - also read from here by runtime and passes

SEVERITY_NAMES = {
    ir.DiagnosticSeverity.ERROR: "error",
    ir.DiagnosticSeverity.WARNING: "warning",
    ir.DiagnosticSeverity.NOTE: "note",
    ir.DiagnosticSeverity.REMARK: "remark",
}


@dataclass
class Record:
    """One diagnostic: `severity` is 'error', 'warning', 'note' or 'remark'.

    `file`, `line` and `col` are None when the location holds no file position.
    """
    severity: str
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    notes: list["Record"] = field(default_factory=list)


def _record(diag) -> Record:
    position = file_position(diag.location) or (None, None, None)
    return Record(SEVERITY_NAMES.get(diag.severity, "error"), diag.message, *position,
                  notes=[_record(note) for note in diag.notes])


class DiagnosticLog:
    """Collects every diagnostic of a context while `capture` is active."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    @contextlib.contextmanager
    def capture(self, context: ir.Context) -> Iterator["DiagnosticLog"]:
        """Routes all diagnostics of `context`, errors included, into `self.records`."""
        def handle(diag) -> bool:
            try:
                self.records.append(_record(diag))
            except Exception as e:  # noqa: BLE001 - an exception here would be lost inside MLIR
                self.records.append(Record("error", f"(diagnostic could not be read: {e})"))
            return True  # handled: MLIR must not print it again

        # By default the bindings fold errors into the MLIRError they raise; we
        # want every diagnostic, in order, from one place.
        previous = context.emit_error_diagnostics
        context.emit_error_diagnostics = True
        handler = context.attach_diagnostic_handler(handle)
        try:
            yield self
        finally:
            handler.detach()
            context.emit_error_diagnostics = previous

    @property
    def has_errors(self) -> bool:
        return any(r.severity == "error" for r in self.records)


def format_record(record: Record, display_name: str, source_lines: list[str] | None = None) -> str:
    """`file:line:col: error: message`, then the source line and a caret, as mlir-opt prints."""
    if record.line is None:
        head = f"{display_name}: {record.severity}: {record.message}"
    else:
        head = f"{record.file}:{record.line}:{record.col}: {record.severity}: {record.message}"
    lines = [head]
    if source_lines is not None and record.line and 0 < record.line <= len(source_lines):
        text, caret = _window(source_lines[record.line - 1].rstrip("\n"), max((record.col or 1) - 1, 0))
        lines += [text, " " * caret + "^"]
    return "\n".join(lines)


SHOWN_COLUMNS = 120


def _window(text: str, caret: int) -> tuple[str, int]:
    """At most SHOWN_COLUMNS of a long source line around the caret ('...' marks cuts)."""
    if len(text) <= SHOWN_COLUMNS:
        return text, caret
    start = max(0, min(caret - SHOWN_COLUMNS // 2, len(text) - SHOWN_COLUMNS))
    shown = text[start:start + SHOWN_COLUMNS]
    if start:
        shown, caret = "..." + shown, caret + 3
    if start + SHOWN_COLUMNS < len(text):
        shown += "..."
    return shown, caret - start


def print_records(records: list[Record], display_name: str, source_lines: list[str] | None = None,
                  stream: TextIO | None = None) -> None:
    """Prints records and their notes; source lines are shown for positions in `display_name`."""
    stream = stream or sys.stderr
    for record in records:
        for r in [record, *record.notes]:
            shown = source_lines if r.file == display_name else None
            print(format_record(r, display_name, shown), file=stream)
