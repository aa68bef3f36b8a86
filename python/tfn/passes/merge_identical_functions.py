"""`tfn-merge-identical-functions`: one private function per distinct body.

Tracing a transform of a Python function that a loop calls K times (MAML's
`grad(loss)(p, xs, ys)` in every inner step) writes K private functions that differ
only in their symbol name; the transform driver memoizes by callee, so it would
build K identical derivatives. This pass keys every private `func.func` by its
generic text (types, attributes and body, printed without locations) with the symbol
name blanked, keeps the first function of each key, points every reference to the
others at it and erases them. Merging callees can make their callers identical, so
it repeats until nothing merges.

    func.func private @f(%x: tensor<2xf32>) -> tensor<2xf32>    // kept
    func.func private @f_1(%x: tensor<2xf32>) -> tensor<2xf32>  // same body: erased,
                                                                // @f_1 becomes @f
"""
from __future__ import annotations

from mlir import ir



def _private_functions(module_op: ir.Operation) -> list:
    found = []
    for op in module_op.regions[0].blocks[0].operations:
        op = op.operation
        if op.name != "func.func" or "sym_visibility" not in op.attributes:
            continue
        if ir.StringAttr(op.attributes["sym_visibility"]).value == "private" and len(op.regions[0].blocks):
            found.append(op)
    return found


def structural_key(func_op: ir.Operation, blank: ir.Attribute) -> str:
    """The generic text of `func_op` with its symbol name blanked (locations not printed)."""
    name = func_op.attributes["sym_name"]
    func_op.attributes["sym_name"] = blank
    try:
        return func_op.get_asm(print_generic_op_form=True, use_local_scope=True, assume_verified=True)
    finally:
        func_op.attributes["sym_name"] = name


def merge_identical_functions(module_op: ir.Operation) -> int:
    """Merges private functions with identical bodies and types; returns how many were erased."""
    erased = 0
    with module_op.context:
        blank = ir.StringAttr.get("")
        while True:
            first: dict[str, str] = {}
            duplicates: list[tuple[ir.Operation, str, str]] = []
            for op in _private_functions(module_op):
                key = structural_key(op, blank)
                name = ir.StringAttr(op.attributes["sym_name"]).value
                kept = first.setdefault(key, name)
                if kept != name:
                    duplicates.append((op, name, kept))
            if not duplicates:
                return erased
            for op, name, kept in duplicates:
                ir.SymbolTable.replace_all_symbol_uses(name, kept, module_op)
                op.erase()
            erased += len(duplicates)


NAME = "tfn-merge-identical-functions"
DESCRIPTION = "Merge private functions whose bodies and types are identical (one transform per distinct function)"


def run(module_op: ir.Operation) -> None:
    merge_identical_functions(module_op)
