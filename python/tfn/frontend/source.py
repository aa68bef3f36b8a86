"""The user's source position: the innermost stack frame outside the tfn package."""
from __future__ import annotations

import linecache
import os
import sys

from mlir import ir

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_frame():
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame


def user_location() -> ir.Location:
    """An `ir.Location` for the user's current line (unknown when there is none)."""
    frame = user_frame()
    if frame is None:
        return ir.Location.unknown()
    return ir.Location.file(frame.f_code.co_filename, frame.f_lineno, 0)


def user_line() -> str:
    frame = user_frame()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "<unknown>"


def user_source() -> str:
    """The text of the user's current line, stripped ('' when there is none)."""
    frame = user_frame()
    if frame is None:
        return ""
    return linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
