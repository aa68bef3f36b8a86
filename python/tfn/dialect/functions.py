"""Function values in tfn IR: private functions, `func.constant` of them, calls, and the ops
that take function values (transforms, control flow, custom derivatives).

The rules of the function-valued ops (`tfn/ops/control_flow.py`) build small private
functions (adapters that reorder arguments, project a loop body, call a transformed
body) and apply transform ops to them; these helpers keep that readable:

    >>> from mlir import ir
    >>> from tfn.dialect import new_context
    >>> from tfn.dialect.types import tensor_type
    >>> import numpy as np
    >>> with new_context(), ir.Location.unknown():
    ...     m = ir.Module.create()
    ...     t = tensor_type((2,), np.float32)
    ...     name, ftype = build_function(m.operation, "swap", [t, t], lambda a, b: [b, a])
    ...     print(name, ftype)
    swap (tensor<2xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
"""
from __future__ import annotations

from typing import Callable, Sequence

from mlir import ir
from mlir.dialects import func

from tfn.dialect.symbols import unique_symbol


def module_of(op: ir.Operation) -> ir.Operation:
    """The builtin.module around `op`."""
    op = op.operation if hasattr(op, "operation") else op
    while op.name != "builtin.module":
        op = op.parent
    return op


def new_function(module_op: ir.Operation, name: str, arg_types: Sequence[ir.Type],
                 result_types: Sequence[ir.Type] = (), loc: ir.Location | None = None):
    """A private `func.func` with an entry block, appended to the module; returns (op, block)."""
    body = module_op.regions[0].blocks[0]
    with ir.InsertionPoint(body), loc or ir.Location.unknown():
        f = func.FuncOp(unique_symbol(body, name), (list(arg_types), list(result_types)))
        f.attributes["sym_visibility"] = ir.StringAttr.get("private")
        block = f.add_entry_block()
    return f.operation, block


def build_function(module_op: ir.Operation, name: str, arg_types: Sequence[ir.Type],
                   body: Callable[..., Sequence[ir.Value]]) -> tuple[str, ir.FunctionType]:
    """A private function whose body `body(*arguments)` emits (returning the values to return);
    returns its name and type. Emitted at the current location."""
    try:
        loc = ir.Location.current
    except ValueError:
        loc = ir.Location.unknown()
    f, block = new_function(module_op, name, arg_types, (), loc)
    with ir.InsertionPoint(block), loc:
        results = list(body(*block.arguments))
        func.ReturnOp(results)
    ftype = ir.FunctionType.get(list(arg_types), [r.type for r in results])
    f.attributes["function_type"] = ir.TypeAttr.get(ftype)
    return ir.StringAttr(f.attributes["sym_name"]).value, ftype


def function_type(func_op) -> ir.FunctionType:
    return ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)


def reference(name: str, ftype: ir.FunctionType) -> ir.Value:
    """`func.constant @name` at the current insertion point."""
    return func.ConstantOp(ftype, ir.FlatSymbolRefAttr.get(name)).result


def referenced_name(fn: ir.Value) -> str:
    """The function a function value names: `fn` must be a `func.constant`."""
    owner = fn.owner
    owner = owner.operation if hasattr(owner, "operation") else owner
    if isinstance(owner, ir.Block) or owner.name != "func.constant":
        raise TypeError(f"expected a func.constant function value, got {fn}")
    return ir.FlatSymbolRefAttr(owner.attributes["value"]).value


def call(fn: ir.Value, args: Sequence[ir.Value]) -> list[ir.Value]:
    """`func.call_indirect fn(args)`; returns the results."""
    ftype = ir.FunctionType(fn.type)
    return list(func.CallIndirectOp(list(ftype.results), fn, list(args)).results)


def call_named(name: str, ftype: ir.FunctionType, args: Sequence[ir.Value]) -> list[ir.Value]:
    """`func.call @name(args)`; returns the results."""
    return list(func.CallOp(list(ftype.results), ir.FlatSymbolRefAttr.get(name), list(args)).results)


def function_op(kind: str, operands: Sequence[ir.Value], result_type: ir.FunctionType,
                attributes: dict | None = None) -> ir.Value:
    """A function-valued op `tfn.<kind>` (transform, control flow, ...) on function values."""
    return ir.Operation.create(f"tfn.{kind}", results=[result_type], operands=list(operands),
                               attributes=attributes or {}).result


def callee_op(call_op: ir.Operation) -> ir.Operation | None:
    """The op defining the function a `func.call_indirect` calls (None: a block argument)."""
    owner = call_op.operands[0].owner
    if isinstance(owner, ir.Block):
        return None
    return owner.operation if hasattr(owner, "operation") else owner


def i64(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))


def i64s(values: Sequence[int]) -> ir.DenseI64ArrayAttr:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])


def rule_name(op: ir.Operation) -> str:
    """The name the rule tables know `op` by: a `func.call_indirect` is known by the op that
    makes the function it calls ("tfn.switch", "tfn.scan", ..., or "func.constant" for a
    plain call), every other op by its own name."""
    if op.name != "func.call_indirect":
        return op.name
    callee = callee_op(op)
    return "func.call_indirect" if callee is None else callee.name
