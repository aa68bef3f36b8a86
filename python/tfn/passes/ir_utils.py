"""IR helpers shared by the transform passes: functions, symbols, cloning, inlining, DCE."""
from __future__ import annotations

from typing import Sequence

from mlir import ir
from mlir.dialects import func

from tfn.dialect.symbols import unique_symbol  # noqa: F401 - re-exported for the passes

TRANSFORM_OPS = ("tfn.grad", "tfn.vjp", "tfn.jvp", "tfn.vmap")


def module_of(op: ir.Operation) -> ir.Operation:
    while op.name != "builtin.module":
        op = op.parent
    return op


def find_ops(root: ir.Operation, match, payloads: bool = True) -> list[ir.Operation]:
    """The ops nested under `root` that `match`: an op name, a tuple of names, or a predicate.

    Collected before returning, so callers may rewrite or erase them freely. With
    `payloads=False` the regions of linalg ops (their payloads, most of the ops of
    a lowered module) are not searched: for callers looking for ops that never sit there.
    """
    if isinstance(match, str):
        match = (match,)
    if isinstance(match, tuple):
        names = frozenset(match)
        test = lambda op: op.name in names  # noqa: E731
    else:
        test = match
    found = []
    if payloads:
        advance = ir.WalkResult.ADVANCE

        def visit(op):
            if test(op):
                found.append(op)
            return advance
        root.operation.walk(visit)
        return found
    advance, skip = ir.WalkResult.ADVANCE, ir.WalkResult.SKIP

    def visit_outside_payloads(op):
        if test(op):
            found.append(op)
        return skip if op.name.startswith("linalg.") else advance
    root.operation.walk(visit_outside_payloads, ir.WalkOrder.PRE_ORDER)
    return found


def functions(module_op: ir.Operation) -> dict[str, ir.Operation]:
    return {ir.StringAttr(op.attributes["sym_name"]).value: op.operation
            for op in module_op.regions[0].blocks[0].operations if op.operation.name == "func.func"}


def symbol_name(func_op) -> str:
    return ir.StringAttr(func_op.attributes["sym_name"]).value


def function_type(func_op) -> ir.FunctionType:
    return ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)


def entry_block(func_op) -> ir.Block:
    return func_op.regions[0].blocks[0]


def unique_name(module_op: ir.Operation, base: str) -> str:
    return unique_symbol(module_op.regions[0].blocks[0], base)


def new_function(module_op: ir.Operation, name: str, arg_types: Sequence[ir.Type],
                 result_types: Sequence[ir.Type] = (), loc: ir.Location | None = None):
    """A private `func.func` with an entry block, appended to the module; returns (op, block)."""
    with ir.InsertionPoint(module_op.regions[0].blocks[0]), loc or ir.Location.unknown():
        f = func.FuncOp(unique_name(module_op, name), (list(arg_types), list(result_types)))
        f.attributes["sym_visibility"] = ir.StringAttr.get("private")
        block = f.add_entry_block()
    return f.operation, block




def clone_with(op: ir.Operation, mapping: dict, ip: ir.InsertionPoint) -> ir.Operation:
    """Clones `op` at `ip` with its operands replaced through `mapping` (ir.Value -> ir.Value)."""
    new = op.clone(ip=ip)
    for i, v in enumerate(op.operands):
        mapped = mapping.get(v)
        if mapped is not None:
            new.operands[i] = mapped
    return new


def body_ops(func_op) -> list[ir.Operation]:
    return [op.operation for op in entry_block(func_op).operations]




def callee_name(call_op: ir.Operation) -> str:
    return ir.FlatSymbolRefAttr(call_op.attributes["callee"]).value


def inline_calls(func_op, module_op: ir.Operation) -> None:
    """Inlines every `func.call` in `func_op` (recursively), so rules see one flat body."""
    table = None
    while True:
        calls = [op for op in body_ops(func_op) if op.name == "func.call"]
        if not calls:
            return
        table = table or ir.SymbolTable(module_op)
        for call in calls:
            callee = table[callee_name(call)]
            mapping = dict(zip(entry_block(callee).arguments, call.operands))
            ip = ir.InsertionPoint(call)
            results = None
            for op in body_ops(callee):
                if op.name == "func.return":
                    results = [mapping.get(v, v) for v in op.operands]
                    break
                new = clone_with(op, mapping, ip)
                for old_r, new_r in zip(op.results, new.results):
                    mapping[old_r] = new_r
            for old_r, new_r in zip(call.results, results):
                old_r.replace_all_uses_with(new_r)
            call.erase()


def is_pure(op: ir.Operation) -> bool:
    """tfn tensor ops and the upstream ops tracing emits have no side effects."""
    return (op.name.startswith("tfn.") or op.name in ("func.constant", "arith.constant")
            or op.name in TRANSFORM_OPS)


def dead_code_elimination(func_op) -> None:
    """Erases pure ops whose results are unused (upstream DCE treats IRDL ops as effectful)."""
    for op in reversed(body_ops(func_op)):
        if is_pure(op) and all(_unused(r) for r in op.results):
            op.erase()


def _unused(value: ir.Value) -> bool:
    for _ in value.uses:
        return False
    return True


def contains_transforms(func_op, module_op: ir.Operation, funcs: dict | None = None,
                        known: dict | None = None) -> bool:
    """Whether `func_op` or any function it calls still holds a transform op.

    `funcs` (name -> function, default: the module's) and `known` (name -> answer, filled
    in) let a caller asking about many functions walk each body once.
    """
    funcs = functions(module_op) if funcs is None else funcs
    known = {} if known is None else known
    name = symbol_name(func_op)
    if name in known:
        return known[name]
    known[name] = False   # a cycle adds nothing new
    answer = False
    for op in body_ops(func_op):
        if op.name in TRANSFORM_OPS or op.name == "func.call_indirect" or (
                op.name == "func.call" and contains_transforms(funcs[callee_name(op)], module_op, funcs, known)):
            answer = True
            break
    known[name] = answer
    return answer


def zeros_like_type(t: ir.Type) -> ir.Value:
    from tfn import ops
    from tfn.dialect.types import to_dtype
    rt = ir.RankedTensorType(t)
    return ops.full(list(rt.shape), 0, to_dtype(rt.element_type))
