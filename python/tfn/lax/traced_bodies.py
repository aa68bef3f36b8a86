"""Python bodies traced into private functions, for the ops that take function values.

`tfn.switch`, `tfn.while_loop`, `tfn.scan`, `tfn.custom_jvp`, `tfn.custom_vjp` and
`tfn.checkpoint` take `func.constant @body` operands and return a function value that is
called with `func.call_indirect`, as the transform ops do (`tfn/dialect/tfn.irdl.mlir`). A
body traced here is an ordinary private `func.func`; the outer values it closes over are its
trailing arguments (`TracedFunction.captured`). The ops want one argument list shared by
all their bodies (the branches of a switch, the cond and body of a loop), so small private
*adapters* (a `func.call` of the body, with outputs converted where a dtype is settled
later) reorder and widen the arguments: the captures of all bodies become the op's consts.

This module knows nothing of any one construct: `control_flow`, `custom_derivatives` and
`checkpoint` build on it.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from mlir import ir
from mlir.dialects import func

from tfn import ops
from tfn.dialect.functions import module_of
from tfn.dialect.types import input_array, tensor_type
from tfn.frontend import pytree
from tfn.frontend.source import user_line, user_location
from tfn.frontend.tracer import ShapeDtype, TracedFunction, Tracer, constant, current_scope, trace, value_of, wrap
from tfn.numpy._core import result_type


class _ModuleView:
    """Just enough of `ir.Module` for `trace`: the body of the module being traced, found from
    the function now being traced (bodies go next to it, as private functions)."""

    @property
    def body(self) -> ir.Block:
        return module_of(current_scope().func_op.operation).regions[0].blocks[0]


def symbol_name(prefix: str, f) -> str:
    """A readable symbol for a body: `prefix` and the Python function's name, with `_` for
    anything but letters, digits and `_`.

        >>> symbol_name("switch_branch 0", lambda c: c)
        'switch_branch_0__lambda_'
    """
    name = prefix + "_" + getattr(f, "__name__", type(f).__name__)
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def fn_name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


def define(name: str, avals: Sequence[ShapeDtype], fn: Callable) -> TracedFunction:
    """Traces `fn(*leaves)` (one tracer per aval; it returns a pytree of arrays) into a private
    function next to the one being traced. A Python number it returns is a weakly typed
    result (`TracedFunction.out_avals`), as the number itself would be."""
    def weak_numbers(*leaves):
        return pytree.tree_map(_weak_if_number, fn(*leaves))
    return trace(weak_numbers, tuple(avals), {}, _ModuleView(), name, leaf_avals=list(avals), private=True)


def _weak_if_number(x):
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return wrap(operand_value(x, ShapeDtype.of(x)), True)
    return x


def call(traced: TracedFunction, values: Sequence, captures: Sequence | None = None) -> list[Tracer]:
    """`func.call @traced(values..., captures...)`, one tracer per result (weak as traced).
    `captures` stand for `traced.captured` (an adapter passes its own arguments); by default
    the captured outer values themselves."""
    captures = traced.captured if captures is None else captures
    args = [value_of(v) for v in values] + [value_of(c) for c in captures]
    with user_location():
        op = func.CallOp(list(traced.function_type.results), ir.FlatSymbolRefAttr.get(traced.name), args)
    return [wrap(r, a.weak) for r, a in zip(op.results, traced.out_avals)]


def union_of_captures(*bodies: TracedFunction) -> list[Tracer]:
    """The outer values any of the bodies closes over, each once, in order of first use."""
    seen, union = set(), []
    for body in bodies:
        for c in body.captured:
            if c.value not in seen:
                seen.add(c.value)
                union.append(c)
    return union


def pick(captures: Sequence[Tracer], union: Sequence[Tracer], values: Sequence) -> list:
    """The entries of `values` (standing for `union`) that stand for `captures`."""
    where = {u.value: i for i, u in enumerate(union)}
    return [values[where[c.value]] for c in captures]


def same_captures(body: TracedFunction, union: Sequence[Tracer]) -> bool:
    return [c.value for c in body.captured] == [u.value for u in union]


def aval_of_capture(c: Tracer) -> ShapeDtype:
    return ShapeDtype(c.shape, c.dtype, c.weak)


def emit(kind: str, callees: Sequence[TracedFunction], result_type_: ir.FunctionType, attributes: dict,
         operands: Sequence[ir.Value]) -> list[ir.Value]:
    """`func.constant` of each callee, the function-valued op `tfn.<kind>` on them, and a
    `func.call_indirect` of its result on `operands`; returns the call's results."""
    with user_location():
        fns = [func.ConstantOp(c.function_type, ir.FlatSymbolRefAttr.get(c.name)).result for c in callees]
        fn = ir.Operation.create(f"tfn.{kind}", results=[result_type_], operands=fns, attributes=attributes).result
        results = func.CallIndirectOp(list(result_type_.results), fn, list(operands)).results
    return list(results)


def function_type(inputs: Sequence[ShapeDtype | ir.Type], results: Sequence[ShapeDtype | ir.Type]) -> ir.FunctionType:
    """The function type of tensors of these avals (or types)."""
    def as_type(a):
        return a if isinstance(a, ir.Type) else tensor_type(a.shape, a.dtype)
    return ir.FunctionType.get([as_type(a) for a in inputs], [as_type(a) for a in results])


def i64(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))


# ---------------------------------------------------------------- leaves: what may be an operand

def is_array_leaf(x) -> bool:
    """An array, a numpy scalar, a Python number or a traced array: what an operand leaf may be."""
    return (isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float))
            or type(x).__name__ == "DeviceArray")


def operand_value(x, aval: ShapeDtype) -> ir.Value:
    """The ir.Value of an operand leaf in the current function, in `aval`'s dtype."""
    if isinstance(x, Tracer):
        v = value_of(x)
        return v if x.dtype == aval.dtype else ops.convert(v, aval.dtype)
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return constant(np.asarray(x, dtype=aval.dtype), aval.dtype)
    return constant(input_array(x), aval.dtype)


def describe(tree: pytree.TreeDef, avals: Sequence[ShapeDtype]) -> str:
    """A pytree of arrays for an error message: its structure, then each leaf's dtype and shape."""
    leaves = ", ".join(f"{a!r}{' (weak)' if a.weak else ''}" for a in avals)
    if tree.kind == "leaf":
        return leaves
    return f"{tree!r} with leaves [{leaves}]" if avals else f"{tree!r}"


def fits_weakly(leaf: ShapeDtype, target: ShapeDtype) -> bool:
    """Whether a weakly typed leaf (a Python scalar's type) takes `target`'s dtype as numpy's
    promotion would (an int into a float, not a float into an int)."""
    if not leaf.weak or leaf.shape != target.shape:
        return False
    stand_in = {"b": False, "i": 0, "f": 0.0}[leaf.dtype.kind]
    return result_type(np.empty((), target.dtype), stand_in) == target.dtype


def conform(x, target: ShapeDtype):
    """Leaf `x` (traced or not) as an array of `target`'s dtype; the caller has checked it fits."""
    if isinstance(x, Tracer):
        return x if x.dtype == target.dtype else wrap(ops.convert(value_of(x), target.dtype), target.weak)
    return wrap(operand_value(x, target), target.weak)


def leaf_avals(construct: str, what: str, leaves: Sequence) -> list[ShapeDtype]:
    """The abstract value of each operand leaf; a TypeError names any leaf that is no array."""
    for i, x in enumerate(leaves):
        if not is_array_leaf(x):
            raise TypeError(f"{construct}: {what} leaf {i} is a {type(x).__name__} ({x!r:.40}), not an array; "
                            f"only arrays and Python numbers can be passed\n  at {user_line()}")
    return [ShapeDtype.of(x) for x in leaves]
