"""What the rules of the function-valued ops (control flow, custom derivatives, checkpoint)
build with: transforms of their bodies, as transform ops (expanded later by the transform
passes, innermost first), and small private adapter functions.

A rule never differentiates or batches a body itself: it emits `tfn.jvp`, `tfn.vmap` or
`tfn.linear_transpose` of the body and calls the result, so a body is transformed by the
same passes as any function, to any depth (the JVP of a loop's body may itself hold a loop).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from mlir import ir

from tfn.dialect import functions as F
from tfn.dialect.core import BUILDERS
from tfn.dialect.types import is_float_dtype, to_dtype


def placed(n: int, positions: Sequence[int], values: Sequence) -> list:
    """n entries, None but values[k] at positions[k]: the tangents (cotangents) given for some
    operands or results, in the places of all of them."""
    out: list = [None] * n
    for i, v in zip(positions, values):
        out[i] = v
    return out


def is_float_type(t: ir.Type) -> bool:
    return isinstance(t, ir.RankedTensorType) and is_float_dtype(to_dtype(t.element_type))


def float_positions(types: Sequence[ir.Type]) -> list[int]:
    return [i for i, t in enumerate(types) if is_float_type(t)]


def zeros(t: ir.Type) -> ir.Value:
    rt = ir.RankedTensorType(t)
    return BUILDERS["tfn.constant"](np.zeros(list(rt.shape), to_dtype(rt.element_type)))


# A function of the module: its symbol name and type. Rules pass functions around as
# names, and make a `func.constant` of one where they use it (a function value of one
# function cannot be used in the body of another).
Fn = tuple[str, ir.FunctionType]


def fn_of(value: ir.Value) -> Fn:
    """The function a `func.constant` value names."""
    return F.referenced_name(value), ir.FunctionType(value.type)


def ref(fn: Fn) -> ir.Value:
    """`func.constant` of fn at the current insertion point."""
    return F.reference(*fn)


def call_fn(fn: Fn, args: Sequence[ir.Value]) -> list[ir.Value]:
    """`func.call` of fn (inlined by the transforms, like any call)."""
    return F.call_named(fn[0], fn[1], args)


def module_here() -> ir.Operation:
    """The module of the function being built at the current insertion point."""
    return F.module_of(ir.InsertionPoint.current.block.owner)


def adapter(name: str, arg_types: Sequence[ir.Type], body: Callable[..., Sequence[ir.Value]]) -> Fn:
    """A new private function that `body(*arguments)` builds (see `functions.build_function`)."""
    return F.build_function(module_here(), name, arg_types, body)


def _floats_first(fn: Fn) -> tuple[Fn, list[int]]:
    """fn, or an adapter returning fn's float results first (jvp differentiates leading results,
    the others are its aux); with the order of fn's results the adapter returns."""
    name, ftype = fn
    results = list(ftype.results)
    floats = float_positions(results)
    order = floats + [j for j in range(len(results)) if j not in floats]
    if order == list(range(len(results))):
        return fn, order
    return adapter(name + "_floats_first", list(ftype.inputs),
                   lambda *a: [call_fn(fn, a)[j] for j in order]), order


def jvp_call(fn: Fn, primals: Sequence[ir.Value], tangents: Sequence[ir.Value | None]
             ) -> tuple[list[ir.Value], list[ir.Value | None]]:
    """Emits `tfn.jvp` of fn at `primals` with `tangents` (None: zero) and calls it.

    Returns (results, tangents of the results): None for non-float results. The
    call computes fn's primal as well (a jvp function returns both)."""
    argnums = [i for i, t in enumerate(tangents) if t is not None]
    ffirst, order = _floats_first(fn)
    ftype = ffirst[1]
    inputs, results = list(ftype.inputs), list(ftype.results)
    n_float = len(float_positions(results))
    jtype = ir.FunctionType.get(inputs + [inputs[i] for i in argnums], results + results[:n_float])
    jvp = F.function_op("jvp", [ref(ffirst)], jtype,
                        {"argnums": F.i64s(argnums), "num_aux": F.i64(len(results) - n_float)})
    outs = F.call(jvp, list(primals) + [tangents[i] for i in argnums])
    ys, touts = [None] * len(results), [None] * len(results)
    for k, j in enumerate(order):
        ys[j] = outs[k]
        if k < n_float:
            touts[j] = outs[len(results) + k]
    return ys, touts


def jvp_function(fn: Fn, argnums: Sequence[int]) -> tuple[Fn, list[int]]:
    """An adapter (xs..., tangents of xs[argnums]...) -> (ys..., tangents of the float ys...)
    computing fn and its JVP; with the positions of the float ys."""
    inputs, n = list(fn[1].inputs), len(fn[1].inputs)
    floats = float_positions(list(fn[1].results))

    def body(*args):
        ys, touts = jvp_call(fn, args[:n], placed(n, argnums, args[n:]))
        return ys + [touts[j] for j in floats]
    return adapter(fn[0] + "_jvp", inputs + [inputs[i] for i in argnums], body), floats


def linear_transpose(fn: ir.Value, linear: Sequence[int]) -> ir.Value:
    """`tfn.linear_transpose` of fn, linear in its arguments `linear`: a function
    (the other arguments..., cotangents of every result...) -> cotangents of `linear`."""
    ftype = ir.FunctionType(fn.type)
    inputs = list(ftype.inputs)
    others = [t for i, t in enumerate(inputs) if i not in linear]
    rtype = ir.FunctionType.get(others + list(ftype.results), [inputs[i] for i in linear])
    return F.function_op("linear_transpose", [fn], rtype, {"linear": F.i64s(linear)})


def transpose_call(fn: ir.Value, operands: Sequence[ir.Value | None], linear: Sequence[bool],
                   cts: Sequence[ir.Value | None]) -> list[ir.Value | None]:
    """The cotangents of a call `fn(operands)` linear in the operands `linear` (their entry in
    `operands` is None), given the results' cotangents (None: zero). One entry per operand."""
    ftype = ir.FunctionType(fn.type)
    lin = [i for i, m in enumerate(linear) if m]
    others = [v for v, m in zip(operands, linear) if not m]
    cts = [c if c is not None else zeros(t) for c, t in zip(cts, ftype.results)]
    return placed(len(operands), lin, F.call(linear_transpose(fn, lin), others + cts))


def vmap_value(fn: ir.Value, in_dims: Sequence[int | None], out_dims: Sequence[int | None], size: int,
               randomness: str) -> ir.Value:
    """`tfn.vmap` of fn (None: unbatched)."""
    ftype = ir.FunctionType(fn.type)

    def batched(t, d):
        if d is None:
            return t
        rt = ir.RankedTensorType(t)
        shape = list(rt.shape)
        shape.insert(d, size)
        return ir.RankedTensorType.get(shape, rt.element_type)
    rtype = ir.FunctionType.get([batched(t, d) for t, d in zip(ftype.inputs, in_dims)],
                                [batched(t, d) for t, d in zip(ftype.results, out_dims)])
    return F.function_op("vmap", [fn], rtype, {
        "in_dims": F.i64s([-1 if d is None else d for d in in_dims]),
        "out_dims": F.i64s([-1 if d is None else d for d in out_dims]),
        "batch_size": F.i64(size), "randomness": ir.StringAttr.get(randomness)})


def depends_on(fn: Fn, inputs: Sequence[bool], always: Callable[[ir.Operation], bool] = lambda op: False
               ) -> list[bool]:
    """Which results of fn depend on the inputs marked True: a data-flow walk, through the
    functions fn calls and the jvp functions it calls (whose primal results depend only on
    the primal inputs); any other op's results depend on all of its operands. `always(op)`
    marks ops whose results count as dependent regardless (random ops under
    vmap(randomness='different')), and so the calls of functions that hold one."""
    table = ir.SymbolTable(module_here())
    return _depends(table, fn[0], list(inputs), always)


def _depends(table, name: str, inputs: list[bool], always) -> list[bool]:
    block = table[name].regions[0].blocks[0]
    marked = {a for a, m in zip(block.arguments, inputs) if m}
    for op in block.operations:
        op = op.operation
        if op.name == "func.return":
            return [v in marked for v in op.operands]
        marks = [v in marked for v in op.operands]
        if always(op):
            marked.update(op.results)
            continue
        through = _through_call(table, op, marks, always)
        if through is not None:
            marked.update(r for r, m in zip(op.results, through) if m)
        elif any(marks) or (op.name in ("func.call", "func.call_indirect") and _reaches(op, always, table, set())):
            marked.update(op.results)
    raise AssertionError("function without return")


def _through_call(table, op: ir.Operation, marks: list[bool], always) -> list[bool] | None:
    """Result marks of a call whose callee is known (a func.call, a call of a func.constant or
    of a jvp of one), else None."""
    if op.name == "func.call":
        return _depends(table, ir.FlatSymbolRefAttr(op.attributes["callee"]).value, marks, always)
    if op.name != "func.call_indirect":
        return None
    callee = F.callee_op(op)
    if callee is None:
        return None
    if callee.name == "func.constant":
        return _depends(table, ir.FlatSymbolRefAttr(callee.attributes["value"]).value, marks[1:], always)
    inner = callee.operands[0].owner if callee.name == "tfn.jvp" and len(callee.operands) == 1 else None
    if inner is None or isinstance(inner, ir.Block) or inner.operation.name != "func.constant":
        return None
    name = ir.FlatSymbolRefAttr(inner.operation.attributes["value"]).value
    n = len(ir.FunctionType(callee.operands[0].type).inputs)
    primal = _depends(table, name, marks[1:1 + n], always)
    n_tangents = len(op.results) - len(primal)
    return primal + [any(marks[1:])] * n_tangents


def _reaches(op: ir.Operation, always, table, seen: set) -> bool:
    """Whether a call reaches, through the functions it names, an op that `always` marks."""
    names = []
    if op.name == "func.call":
        names.append(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
    else:
        def collect(o):
            if o.name == "func.constant":
                names.append(ir.FlatSymbolRefAttr(o.attributes["value"]).value)
            return ir.WalkResult.ADVANCE
        callee = F.callee_op(op)
        stack = [callee] if callee is not None else []
        while stack:   # the function-valued ops that make the callee, down to the func.constants
            o = stack.pop()
            if o.name == "func.constant":
                collect(o)
            for v in o.operands:
                if not isinstance(v.owner, ir.Block):
                    stack.append(v.owner.operation if hasattr(v.owner, "operation") else v.owner)
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        for inner in table[name].regions[0].blocks[0].operations:
            inner = inner.operation
            if always(inner) or (inner.name in ("func.call", "func.call_indirect")
                                 and _reaches(inner, always, table, seen)):
                return True
    return False


def lane_any(pred: ir.Value) -> ir.Value:
    """A 0-d bool: whether any element of the bool tensor `pred` is true."""
    as_int = BUILDERS["tfn.convert"](pred, np.int32)
    rank = len(ir.RankedTensorType(pred.type).shape)
    top = BUILDERS["tfn.reduce_max"](as_int, list(range(rank)))
    return BUILDERS["tfn.compare"]("gt", top, BUILDERS["tfn.constant"](np.zeros((), np.int32)))


def select_lanes(pred: ir.Value, on_true: ir.Value, on_false: ir.Value) -> ir.Value:
    """select(pred[b], on_true[b], on_false[b]) per lane b of the leading dim (pred: (B,) bools)."""
    shape = list(ir.RankedTensorType(on_true.type).shape)
    wide = BUILDERS["tfn.broadcast_in_dim"](pred, shape, [0])
    return BUILDERS["tfn.select"](wide, on_true, on_false)


def scalar(value, dtype=np.int32) -> ir.Value:
    return BUILDERS["tfn.constant"](np.asarray(value, dtype))
