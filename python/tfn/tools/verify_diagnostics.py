"""`--verify-diagnostics`: the expected-* comment protocol of mlir-opt.

A source line may hold

    // expected-error {{substring of the message}}
    // expected-warning @+1 {{...}}        (also @-N, @above, @below, @unknown)
    // expected-note-re {{prefix {{[0-9]+}} suffix}}

Verification succeeds iff every expectation is matched by a diagnostic of its
kind at its line, and every diagnostic (notes included) matches an expectation.
`@above` and `@below` name the nearest line in that direction that is not itself
an expected-* line, so several expectations can stack over one op.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from tfn.tools.diagnostics import Record

_EXPECTATION = re.compile(
    r"expected-(?P<kind>error|warning|note|remark)(?P<re>-re)?"
    r" *(@(?P<where>[+-][0-9]+|above|below|unknown))? *\{\{(?P<text>.*)\}\}")

# Bindings attach the offending op to verifier errors; mlir-opt turns that note
# off under --verify-diagnostics, so tests never expect it.
_IMPLICIT_NOTE = "see current operation: "

UNKNOWN_LINE = 0


@dataclass
class Expectation:
    """One expected-* comment: `line` is the line it applies to (UNKNOWN_LINE for @unknown)."""
    kind: str
    pattern: re.Pattern
    text: str
    line: int
    comment_line: int
    comment_col: int
    matched: bool = False

    def matches(self, message: str) -> bool:
        return self.pattern.search(message) is not None


def _compile(text: str, is_regex: bool) -> re.Pattern:
    """Literal substring, or with -re: `{{regex}}` blocks inside literal text."""
    if not is_regex:
        return re.compile(re.escape(text))
    parts, pos = [], 0
    for m in re.finditer(r"\{\{(.*?)\}\}", text):
        parts += [re.escape(text[pos:m.start()]), f"(?:{m.group(1)})"]
        pos = m.end()
    parts.append(re.escape(text[pos:]))
    return re.compile("".join(parts))


def parse_expectations(source: str) -> list[Expectation]:
    """Every expected-* comment of `source`, with the line each one applies to (1-based)."""
    expectations: list[Expectation] = []
    waiting_for_next_line: list[Expectation] = []
    last_plain_line = 0
    for number, text in enumerate(source.splitlines(), start=1):
        m = _EXPECTATION.search(text)
        if m is None:
            for e in waiting_for_next_line:
                e.line = number
            waiting_for_next_line.clear()
            last_plain_line = number
            continue
        where = m.group("where")
        e = Expectation(m.group("kind"), _compile(m.group("text"), bool(m.group("re"))), m.group("text"),
                        number, number, m.start() + 1)
        if where == "unknown":
            e.line = UNKNOWN_LINE
        elif where == "above":
            e.line = last_plain_line
        elif where == "below":
            waiting_for_next_line.append(e)
        elif where:
            e.line = number + int(where)
        expectations.append(e)
    return expectations


def _flatten(records: list[Record]) -> list[Record]:
    out = []
    for r in records:
        out.append(r)
        out += [n for n in r.notes if not n.message.startswith(_IMPLICIT_NOTE)]
    return out


def verify(records: list[Record], expectations: list[Expectation], file_name: str) -> list[str]:
    """Matches produced diagnostics against expectations; returns the failures as located messages."""
    failures: list[str] = []
    for record in _flatten(records):
        in_file = record.line is not None and record.file == file_name
        line = record.line if in_file else UNKNOWN_LINE
        candidates = [e for e in expectations if e.line == line and e.matches(record.message)]
        same_kind = [e for e in candidates if e.kind == record.severity]
        if same_kind:
            chosen = next((e for e in same_kind if not e.matched), same_kind[0])
            chosen.matched = True
            continue
        where = f"{record.file}:{record.line}:{record.col}" if record.line is not None else file_name
        if candidates:
            failures.append(f"{where}: error: '{record.severity}' diagnostic emitted when expecting a "
                            f"'{candidates[0].kind}': {record.message}")
        else:
            failures.append(f"{where}: error: unexpected {record.severity}: {record.message}")
    for e in expectations:
        if not e.matched:
            failures.append(f"{file_name}:{e.comment_line}:{e.comment_col}: error: expected {e.kind} "
                            f"\"{e.text}\" was not produced")
    return failures
