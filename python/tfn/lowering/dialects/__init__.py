"""Light Python modules for dialects whose upstream module is costly to import.

The MLIR bindings import `<prefix>.<dialect>` the first time an op or attribute of a
dialect reaches Python, trying each prefix of `dialect_search_modules` in order.
`mlir.dialects.linalg` builds every opdsl named op in Python when imported (~60 ms of
a process's first compile); `linalg` here registers the same generated op classes
only. This package goes first in the search; an explicit `import mlir.dialects.linalg`
still gets the upstream module.
"""
from __future__ import annotations

from mlir._mlir_libs import _mlir


def install() -> None:
    """Puts this package first among the modules the bindings load dialects from (once)."""
    modules = list(_mlir.globals.dialect_search_modules)
    if __name__ not in modules:
        _mlir.globals.dialect_search_modules = [__name__] + modules
