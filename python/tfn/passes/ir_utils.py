"""IR helpers shared by the transform passes: functions, symbols, cloning, inlining, DCE."""
from __future__ import annotations

from typing import Sequence

from mlir import ir
from mlir.dialects import func

from tfn.dialect import functions as F
from tfn.dialect.symbols import unique_symbol  # noqa: F401 - re-exported for the passes

TRANSFORM_OPS = ("tfn.grad", "tfn.vjp", "tfn.jvp", "tfn.vmap", "tfn.linear_transpose")
# Function-valued ops that stay until lowering; a call of one is a pure op like any tfn op.
FUNCTION_OPS = ("tfn.switch", "tfn.while_loop", "tfn.scan", "tfn.custom_jvp", "tfn.custom_vjp", "tfn.linear_call",
                "tfn.checkpoint")


module_of = F.module_of
new_function = F.new_function
function_type = F.function_type


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


def entry_block(func_op) -> ir.Block:
    return func_op.regions[0].blocks[0]


def unique_name(module_op: ir.Operation, base: str) -> str:
    return unique_symbol(module_op.regions[0].blocks[0], base)


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
            or (op.name == "func.call_indirect" and F.rule_name(op) in FUNCTION_OPS))


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
        # A call_indirect not of a control-flow op is of a transform not yet folded; the bodies
        # of control-flow ops (func.constant operands) must be transform-free too.
        if op.name in TRANSFORM_OPS or (op.name == "func.call_indirect" and F.rule_name(op) not in FUNCTION_OPS) or (
                op.name == "func.call" and contains_transforms(funcs[callee_name(op)], module_op, funcs, known)) or (
                op.name == "func.constant" and _referenced(op) in funcs
                and contains_transforms(funcs[_referenced(op)], module_op, funcs, known)):
            answer = True
            break
    known[name] = answer
    return answer


def _referenced(constant_op: ir.Operation) -> str:
    return ir.FlatSymbolRefAttr(constant_op.attributes["value"]).value


def zeros_like_type(t: ir.Type) -> ir.Value:
    from tfn import ops
    from tfn.dialect.types import to_dtype
    rt = ir.RankedTensorType(t)
    return ops.full(list(rt.shape), 0, to_dtype(rt.element_type))
