"""Input of tfn-opt: reading a file, splitting it into chunks, parsing a chunk into a module.

Each chunk is padded with newlines up to its first line, so every location and
diagnostic names the line of the original file, as mlir-opt does.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from mlir import ir

SPLIT_MARKER = "// -----"
_SPLIT_LINE = re.compile(r"^\s*// -----\s*$")
_TOP_LEVEL_COUNT = re.compile(r"source must contain a single top-level operation, found: (\d+)")


@dataclass
class Chunk:
    """A piece of the input; `text` keeps the original line numbers (earlier lines are blank)."""
    text: str
    first_line: int


def read_input(path: str) -> tuple[str, str]:
    """Returns (display name, text); '-' reads stdin. Raises OSError for unreadable files."""
    if path == "-":
        return "<stdin>", sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return path, f.read()


def split_chunks(text: str, split: bool) -> list[Chunk]:
    """The whole text, or with `split` the pieces between `// -----` lines."""
    if not split:
        return [Chunk(text, 1)]
    chunks, current, first = [], [], 1
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if _SPLIT_LINE.match(line):
            chunks.append(Chunk("\n" * (first - 1) + "".join(current), first))
            current, first = [], number + 1
        else:
            current.append(line)
    chunks.append(Chunk("\n" * (first - 1) + "".join(current), first))
    return chunks


MODULE_OPENER = "module {"


def _wrapped_in_module(text: str) -> str:
    """`module { text }` without moving any original line.

    `module {` goes on the first line, usually blank or a comment (a comment
    after `{` stays a comment); code on line 1 moves right by len(MODULE_OPENER),
    which `line_one_shift` lets diagnostics undo.
    """
    first, newline, rest = text.partition("\n")
    return MODULE_OPENER + first + newline + rest + "\n}\n"


def line_one_shift(text: str) -> int:
    """Columns that wrapping adds to line 1 of `text` (0 when line 1 holds no code)."""
    first = text.partition("\n")[0].strip()
    return 0 if not first or first.startswith("//") else len(MODULE_OPENER)


class ParseFailure(Exception):
    """The chunk could not be parsed or verified; diagnostics were already emitted.

    `wrapped` says whether the failing parse saw the text inside an implicit module.
    """

    def __init__(self, message: str, wrapped: bool = False):
        super().__init__(message)
        self.wrapped = wrapped


# MLIR's parser recurses once per nesting level (regions, types, attributes) and overflows
# the C stack (a segfault) at a few thousand levels: 5,000 nested modules crashed it.
# Real IR stays below a few dozen levels.
MAX_NESTING = 256
_BRACKETS = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|->|>=|[{}\[\]()<>]')
_OPENERS, _CLOSERS = "{[(<", "}])>"


def nesting_violation(text: str, limit: int = MAX_NESTING) -> tuple[int, int, int] | None:
    """(line, col, depth) of the first bracket nested deeper than `limit`, else None.

    Counts `{ [ ( <` outside strings and comments (`->` and `>=` close nothing); a
    miscounted closer only lowers the depth, so valid IR is never refused.
    """
    if sum(text.count(c) for c in _OPENERS) <= limit:
        return None   # the common case, decided by C-speed counting
    depth = 0
    for m in _BRACKETS.finditer(text):
        token = m.group()
        if token in _OPENERS:
            depth += 1
            if depth > limit:
                start = m.start()
                line = text.count("\n", 0, start) + 1
                return line, start - (text.rfind("\n", 0, start) + 1) + 1, depth
        elif token in _CLOSERS:
            depth = max(depth - 1, 0)
    return None


def parse_module(text: str, source_name: str, context: ir.Context) -> tuple[ir.Operation, bool]:
    """Parses a chunk into a `builtin.module`, wrapping top-level ops like mlir-opt does.

    Returns (module, whether it was wrapped). Diagnostics go to the context's
    handlers; raises ParseFailure when parsing fails (or the text is nested too
    deeply to parse safely, see MAX_NESTING).
    """
    deep = nesting_violation(text)
    if deep is not None:
        line, col, _ = deep
        message = (f"nesting deeper than {MAX_NESTING} levels (brackets, regions, types) is not "
                   f"supported: the parser would overflow its stack")
        ir.Location.file(source_name, line, col, context=context).emit_error(message)
        raise ParseFailure(message)
    op, needs_module = _parse_as_is(text, source_name, context)
    if not needs_module:
        return op, False
    try:
        return ir.Operation.parse(_wrapped_in_module(text), source_name=source_name,
                                  context=context).operation, True
    except ir.MLIRError as e:
        raise ParseFailure(str(e), wrapped=True) from None


def _parse_as_is(text: str, source_name: str, context: ir.Context) -> tuple[ir.Operation | None, bool]:
    """(the parsed module, False), or (None, True) when the text needs an implicit module."""
    wrong_count = []

    def swallow_top_level_count(diag) -> bool:
        # Not the user's error: several (or zero) top-level ops only need a module around them.
        if _TOP_LEVEL_COUNT.search(diag.message):
            wrong_count.append(diag.message)
            return True
        return False  # every other diagnostic goes on to tfn-opt's handler

    handler = context.attach_diagnostic_handler(swallow_top_level_count)
    try:
        op = ir.Operation.parse(text, source_name=source_name, context=context)
    except ir.MLIRError as e:
        if wrong_count or _TOP_LEVEL_COUNT.search(str(e)):
            return None, True
        raise ParseFailure(str(e)) from None
    finally:
        handler.detach()
    return (op.operation, False) if op.operation.name == "builtin.module" else (None, True)
