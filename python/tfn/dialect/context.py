"""Contexts with the tfn dialect loaded from its IRDL file."""
from __future__ import annotations

import sys
import types
from pathlib import Path

from mlir import ir
from mlir.dialects import irdl

_DIALECT_FILE = "tfn.irdl.mlir"


def dialect_path() -> Path:
    """Path of `tfn.irdl.mlir`: beside this package when installed, else the repository's."""
    here = Path(__file__).resolve()
    for candidate in (here.parent / _DIALECT_FILE, here.parents[3] / "dialect" / _DIALECT_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"cannot find {_DIALECT_FILE} beside {here.parent} or in the repository")


_dialect_text: str | None = None

# Each time the bindings wrap an op as an OpView they look for the Python module of
# its dialect, `mlir.dialects.<namespace>`, and remember only a success: for the tfn
# dialect (defined in IRDL, no generated Python classes) every wrap retried the import
# and failed, ~80 us per op. An (empty) module of that name stops the search at once;
# the ops still come back as generic OpViews.
_BINDINGS_MODULE = "mlir.dialects.tfn"


def _register_bindings_module() -> None:
    if _BINDINGS_MODULE not in sys.modules:
        module = types.ModuleType(_BINDINGS_MODULE, "tfn ops have no Python classes: they are generic OpViews.")
        sys.modules[_BINDINGS_MODULE] = module


def load_dialect(context: ir.Context) -> None:
    """Registers the tfn dialect in `context` (idempotent per context)."""
    global _dialect_text
    if _dialect_text is None:
        _dialect_text = dialect_path().read_text()
        _register_bindings_module()
    with context, ir.Location.unknown():
        irdl.load_dialects(ir.Module.parse(_dialect_text))


def new_context() -> ir.Context:
    """A fresh MLIR context with every upstream dialect and the tfn dialect loaded.

    >>> from mlir import ir
    >>> with new_context():
    ...     m = ir.Module.parse('func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {'
    ...         ' %0 = "tfn.neg"(%a) : (tensor<2xf32>) -> tensor<2xf32> return %0 : tensor<2xf32> }')
    """
    context = ir.Context()
    load_dialect(context)
    return context
