"""Source positions in MLIR locations: where in the user's file an op came from."""
from __future__ import annotations

from mlir import ir


def file_position(loc: ir.Location) -> tuple[str, int, int] | None:
    """The first file:line:col inside `loc` (callee of a call site, child of a name, ...)."""
    if loc.is_a_file():
        return loc.filename, loc.start_line, loc.start_col
    if loc.is_a_callsite():
        return file_position(loc.callee) or file_position(loc.caller)
    if loc.is_a_name():
        return file_position(loc.child_loc)
    if loc.is_a_fused():
        for inner in loc.locations:
            found = file_position(inner)
            if found:
                return found
    return None

