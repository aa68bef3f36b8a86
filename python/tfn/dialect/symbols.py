"""Symbol names in a module: a fresh name for a new function."""
from __future__ import annotations

from mlir import ir


def unique_symbol(block: ir.Block, base: str) -> str:
    """`base`, or `base_N`, unused among the symbols of `block` (a module's body).

    Duplicate symbols trip an assertion (a process abort) in MLIR's SymbolTable.
    The table is built in C++: scanning the block from Python on every new
    function made tracing quadratic in the number of functions.
    """
    taken = ir.SymbolTable(block.owner)
    if base not in taken:
        return base
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"
