"""Registry of tfn passes by pipeline name, and a parser for pipelines mixing tfn and upstream passes.

A tfn pass is a function `(module_op: ir.Operation, **options) -> None`. Pipelines
are written as in mlir-opt: `tfn-lower-to-linalg,canonicalize,func.func(cse)`;
`name{key=value ...}` passes options to a tfn pass.
"""
from __future__ import annotations

from typing import Callable

from mlir import ir
from mlir.passmanager import PassManager

PASSES: dict[str, tuple[Callable, str]] = {}


def register(name: str, description: str):
    def decorate(fn):
        PASSES[name] = (fn, description)
        return fn
    return decorate


def pass_names() -> list[str]:
    _load_builtin_passes()
    return sorted(PASSES)


def _load_builtin_passes():
    # Importing registers them.
    from tfn.transforms import lower_to_linalg_pass  # noqa: F401
    try:
        from tfn.transforms import autodiff  # noqa: F401
    except ImportError:
        pass


def split_top_level(pipeline: str) -> list[str]:
    """Splits 'a,b{x=1,y=2},func.func(c,d)' at top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(pipeline):
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(pipeline[start:i].strip())
            start = i + 1
    parts.append(pipeline[start:].strip())
    return [p for p in parts if p]


def parse_options(text: str) -> dict:
    options = {}
    for item in text.split():
        key, _, value = item.partition("=")
        options[key.replace("-", "_")] = value if value else True
    return options


def add_pipeline(pm: PassManager, pipeline: str) -> None:
    """Adds `pipeline` (top-level module passes, tfn and upstream mixed) to `pm`.

    Raises ValueError naming the element that cannot be parsed.
    """
    _load_builtin_passes()
    text = pipeline.strip()
    if text.startswith("builtin.module(") and text.endswith(")"):
        text = text[len("builtin.module("):-1]
    upstream: list[str] = []

    def flush():
        if upstream:
            pm.add(",".join(upstream))
            upstream.clear()

    for element in split_top_level(text):
        name, _, rest = element.partition("{")
        name = name.strip()
        if name in PASSES:
            flush()
            fn, _ = PASSES[name]
            options = parse_options(rest.rstrip("}")) if rest else {}
            pm.add(_as_external_pass(fn, name, options), name=name, argument=name)
        else:
            upstream.append(element)
    flush()


def _as_external_pass(fn, name, options):
    def run(op: ir.Operation, pass_) -> None:
        try:
            fn(op, **options)
        except Exception as e:  # noqa: BLE001 - turned into a located diagnostic + pass failure
            loc = getattr(e, "location", None) or op.location
            loc.emit_error(f"{name}: {e}") if hasattr(loc, "emit_error") else None
            pass_.signal_pass_failure()
            _LAST_ERRORS.append(e)
    run.__name__ = name.replace("-", "_")
    return run


_LAST_ERRORS: list[Exception] = []


def take_pass_errors() -> list[Exception]:
    errors = list(_LAST_ERRORS)
    _LAST_ERRORS.clear()
    return errors
