"""The shape language of `tfn-compile --shapes`: one pytree of array specs per argument.

    f32[64,784], f32[784,512]        two arrays
    f32[]                            a scalar
    ((f32[784,512], f32[512]), (f32[512,10], f32[10])), f32[64,784]
                                     a tuple of tuples, then an array
    [f32[3], i32[3]]  {w: f32[3,3], b: f32[3]}    a list; a dict (keys sorted, as pytrees are)

dtypes: f32 f64 f16 bf16 i32 i64 bool (or float32 float64 float16 bfloat16 int32 int64); in C, f16 and
bf16 are their bits in uint16_t.
"""
from __future__ import annotations

import re

import numpy as np

from tfn.dialect.types import bfloat16
from tfn.frontend.tracer import ShapeDtype

DTYPES = {"f32": np.float32, "float32": np.float32, "f64": np.float64, "float64": np.float64,
          "f16": np.float16, "float16": np.float16, "bf16": "bfloat16", "bfloat16": "bfloat16",
          "i32": np.int32, "int32": np.int32, "i64": np.int64, "int64": np.int64, "bool": np.bool_}
MAX_ELEMENTS = 1 << 40


class ShapeSyntaxError(ValueError):
    """A malformed shape string; `column` is 1-based."""

    def __init__(self, message: str, text: str, column: int):
        self.text, self.column, self.reason = text, column, message
        super().__init__(f"{message} at column {column}")

    def pretty(self) -> str:
        return f"{self}\n  {self.text}\n  {' ' * (self.column - 1)}^"


_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(-?\d+)|(.))")


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = []  # (kind, value, column)
        for m in _TOKEN.finditer(text):
            if m.group(0).strip() == "":
                continue
            kind = "name" if m.group(1) else "int" if m.group(2) else "punct"
            value = m.group(1) or m.group(2) or m.group(3)
            self.tokens.append((kind, value, m.start(m.lastindex) + 1))
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.text) + 1)

    def fail(self, message: str, column: int | None = None):
        raise ShapeSyntaxError(message, self.text, column or self.peek()[2])

    def take(self, value: str, what: str):
        kind, v, col = self.peek()
        if v != value or kind == "end":
            found = "the end" if kind == "end" else f"'{v}'"
            self.fail(f"expected {what}, found {found}", col)
        self.i += 1

    def items(self, closer: str | None) -> list:
        out = []
        if closer and self.peek()[1] == closer:
            return out
        while True:
            out.append(self.item())
            if self.peek()[1] == ",":
                self.i += 1
                if closer and self.peek()[1] == closer:  # trailing comma
                    return out
                continue
            return out

    def item(self):
        kind, value, col = self.peek()
        if kind == "end":
            self.fail("expected an array spec such as f32[3,4]")
        if value == "(":
            self.i += 1
            out = tuple(self.items(")"))
            self.take(")", "',' or ')'")
            return out
        if value == "[":
            self.i += 1
            out = self.items("]")
            self.take("]", "',' or ']'")
            return out
        if value == "{":
            self.i += 1
            out = {}
            while self.peek()[1] != "}":
                k_kind, key, k_col = self.peek()
                if k_kind not in ("name", "int"):
                    self.fail("expected a dict key", k_col)
                self.i += 1
                self.take(":", "':' after the dict key")
                if key in out:
                    self.fail(f"duplicate dict key '{key}'", k_col)
                out[key] = self.item()
                if self.peek()[1] == ",":
                    self.i += 1
                elif self.peek()[1] != "}":
                    break
            self.take("}", "',' or '}'")
            return out
        if kind != "name":
            self.fail(f"expected a dtype ({', '.join(k for k in DTYPES if len(k) <= 4)}), found '{value}'", col)
        if value not in DTYPES:
            self.fail(f"unknown dtype '{value}' (use f32, f64, i32, i64 or bool)", col)
        self.i += 1
        self.take("[", f"'[' after the dtype '{value}' (a scalar is {value}[])")
        dims = []
        while self.peek()[1] != "]":
            d_kind, d, d_col = self.peek()
            if d_kind != "int":
                self.fail("expected a dimension (a non-negative integer)" +
                          (f", found '{d}'" if d_kind != "end" else ""), d_col)
            if int(d) < 0:
                self.fail(f"dimension {d} is negative", d_col)
            dims.append(int(d))
            self.i += 1
            if self.peek()[1] == ",":
                self.i += 1
            elif self.peek()[1] != "]":
                break
        self.take("]", "',' or ']' in the shape")
        if int(np.prod(dims, dtype=object)) > MAX_ELEMENTS:
            self.fail(f"the array {value}{dims} is too large", col)
        dtype = bfloat16() if DTYPES[value] == "bfloat16" else np.dtype(DTYPES[value])
        return ShapeDtype(tuple(dims), dtype)


def parse_shapes(text: str) -> list:
    """'f32[2,3],(f32[3],i32[])' -> [ShapeDtype, (ShapeDtype, ShapeDtype)]: one entry per argument.

    Raises ShapeSyntaxError naming the column.
    """
    parser = _Parser(text)
    if parser.peek()[0] == "end":
        return []
    out = parser.items(None)
    kind, value, col = parser.peek()
    if kind != "end":
        parser.fail(f"expected ',' between arguments, found '{value}'", col)
    return out
