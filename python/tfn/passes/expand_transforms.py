"""Pass `tfn-expand-transforms`: expands transform ops to a fixed point, innermost first.

`tfn-autodiff` (grad, vjp, jvp; tfn.passes.autodiff) and `tfn-batch` (vmap;
tfn.passes.batch) run the same driver on one family of transforms."""
from __future__ import annotations

from typing import Callable

from mlir import ir
from mlir.dialects import func

from tfn.passes import ir_utils as U

EXPANDERS: dict[str, Callable] = {}


def _load_expanders():
    # Imported on first use: the expanders import the rule tables, which import the builders.
    if EXPANDERS:
        return
    from tfn.passes.autodiff import EXPANDERS as AD
    from tfn.passes.batch import EXPANDERS as BATCH
    EXPANDERS.update(AD)
    EXPANDERS.update(BATCH)


class TransformExpansionError(TypeError):
    pass


def _constant_callee(op: ir.Operation) -> str | None:
    owner = op.operands[0].owner
    if isinstance(owner, ir.Block):
        return None
    owner = owner.operation if hasattr(owner, "operation") else owner
    if owner.name != "func.constant":
        return None
    return ir.FlatSymbolRefAttr(owner.attributes["value"]).value


def _fold_indirect_calls(module_op: ir.Operation) -> None:
    """call_indirect of a func.constant -> func.call (the constant is left for DCE)."""
    for call in U.find_ops(module_op, "func.call_indirect"):
        owner = call.operands[0].owner
        if isinstance(owner, ir.Block) or owner.name != "func.constant":
            continue
        callee = ir.FlatSymbolRefAttr(owner.attributes["value"]).value
        with ir.InsertionPoint(call), call.location:
            new = func.CallOp([r.type for r in call.results], ir.FlatSymbolRefAttr.get(callee),
                              list(call.operands)[1:])
        for old, res in zip(call.results, new.results):
            old.replace_all_uses_with(res)
        call.erase()
        if all(False for _ in owner.results[0].uses):
            owner.erase()


def _references(func_op) -> list[tuple[str, ir.Operation]]:
    """(function name, op) for every func.call and func.constant in `func_op`'s body (nested too)."""
    found = []

    def visit(op):
        op = op.operation if hasattr(op, "operation") else op
        if op.name == "func.call":
            found.append((U.callee_name(op), op))
        elif op.name == "func.constant":
            found.append((ir.FlatSymbolRefAttr(op.attributes["value"]).value, op))
        return ir.WalkResult.ADVANCE
    func_op.operation.walk(visit)
    return found


def find_recursion(funcs: dict, start: str) -> list[tuple[str, ir.Operation]] | None:
    """A cycle of calls (or function references) reachable from `start`, as the (caller,
    referencing op) pairs along it, else None. Transforms inline every call, so a
    recursive callee would be inlined forever."""
    state: dict[str, int] = {}   # 1: on the current path, 2: done
    path: list[tuple[str, ir.Operation]] = []

    def visit(name: str) -> list | None:
        state[name] = 1
        for callee, op in _references(funcs[name]):
            if callee not in funcs:
                continue
            path.append((name, op))
            if state.get(callee) == 1:
                first = next(i for i, (caller, _) in enumerate(path) if caller == callee)
                return path[first:]
            if callee not in state:
                cycle = visit(callee)
                if cycle is not None:
                    return cycle
            path.pop()
        state[name] = 2
        return None
    return visit(start) if start in funcs else None


def _recursion_error(op: ir.Operation, cycle: list[tuple[str, ir.Operation]]) -> TransformExpansionError:
    chain = " -> ".join(f"@{caller}" for caller, _ in cycle) + f" -> @{cycle[0][0]}"
    from tfn.dialect.locations import file_position
    caller, ref = cycle[-1]
    where = file_position(op.location)
    at = f" (the transform is at {where[0]}:{where[1]}:{where[2]})" if where else ""
    err = TransformExpansionError(
        f"cannot expand '{op.name}': the function it transforms is recursive ({chain}, closed by this "
        f"reference in @{caller}); transforms inline every call, so recursion is not supported{at}")
    err.location = ref.location
    return err


def expand_all(module_op: ir.Operation, kinds: tuple[str, ...] | None = None) -> None:
    """Rewrites transform ops (of `kinds`, default all) until none is left."""
    _load_expanders()
    kinds = kinds or tuple(EXPANDERS)
    memo: dict = {}
    acyclic: set[str] = set()   # callees already checked for recursion
    while True:
        _fold_indirect_calls(module_op)
        funcs = U.functions(module_op)
        pending = U.find_ops(module_op, tuple(kinds))
        if not pending:
            for f in U.functions(module_op).values():
                U.dead_code_elimination(f)
            return
        progressed = False
        has_transforms: dict[str, bool] = {}   # per round: expansions only ever remove transforms
        for op in pending:
            callee_name = _constant_callee(op)
            if callee_name is not None and callee_name in funcs and callee_name not in acyclic:
                cycle = find_recursion(funcs, callee_name)
                if cycle is not None:
                    raise _recursion_error(op, cycle)
                acyclic.add(callee_name)
            if callee_name is None or U.contains_transforms(funcs[callee_name], module_op, funcs, has_transforms):
                continue
            key = (op.name, callee_name, tuple(sorted((a.name, str(a.attr)) for a in map(op.attributes.__getitem__, range(len(op.attributes))))))
            new_name = memo.get(key)
            if new_name is None:
                new_name = memo[key] = EXPANDERS[op.name](op, funcs[callee_name], module_op)
                funcs[new_name] = ir.SymbolTable(module_op)[new_name].operation
            new_type = U.function_type(funcs[new_name])
            if new_type != op.results[0].type:
                raise TransformExpansionError(
                    f"'{op.name}' declares result type {op.results[0].type} but the transformed function "
                    f"has type {new_type} (at {op.location})")
            with ir.InsertionPoint(op), op.location:
                const = func.ConstantOp(new_type, ir.FlatSymbolRefAttr.get(new_name))
            op.results[0].replace_all_uses_with(const.result)
            op.erase()
            progressed = True
        if not progressed:
            op = pending[0]
            err = TransformExpansionError(
                f"cannot expand '{op.name}': its function operand is not a func.constant of a "
                f"transform-free function (at {op.location})")
            err.location = op.location
            raise err


NAME = "tfn-expand-transforms"
DESCRIPTION = "Expand every tfn transform op (grad, vjp, jvp, vmap), innermost first"


def run(module_op: ir.Operation) -> None:
    expand_all(module_op)
