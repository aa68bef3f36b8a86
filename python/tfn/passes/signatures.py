"""Function types of transformed functions: what each transform op's result type must be."""
from __future__ import annotations

from typing import Sequence

from mlir import ir


class TransformError(TypeError):
    """A transform applied to a function it cannot transform (bad argnums, outputs, dtypes)."""


def _float(t: ir.Type) -> bool:
    return isinstance(ir.RankedTensorType(t).element_type, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type))


def check_argnums(kind: str, inputs: Sequence[ir.Type], argnums: Sequence[int]) -> None:
    for i in argnums:
        if not 0 <= i < len(inputs):
            raise TransformError(f"{kind}: argnums {list(argnums)} out of range for {len(inputs)} inputs")
        if not _float(inputs[i]):
            raise TransformError(f"{kind}: input {i} has type {inputs[i]}; only floating-point inputs "
                                 f"can be differentiated")


def grad_type(ftype: ir.FunctionType, argnums, num_aux: int, with_value: bool) -> ir.FunctionType:
    inputs, results = list(ftype.inputs), list(ftype.results)
    check_argnums("grad", inputs, argnums)
    if len(results) != 1 + num_aux:
        raise TransformError(f"grad: the function must return one value plus {num_aux} aux values, "
                             f"got {len(results)} results")
    y = ir.RankedTensorType(results[0])
    if list(y.shape) != [] or not _float(y):
        raise TransformError(f"grad: the differentiated output must be a 0-d float tensor, got {y}")
    return ir.FunctionType.get(inputs, [inputs[i] for i in argnums] + ([results[0]] if with_value else [])
                               + results[1:])


def _diff_results(kind, results, num_aux):
    diff = results[:len(results) - num_aux]
    for j, t in enumerate(diff):
        if not _float(t):
            raise TransformError(f"{kind}: output {j} has type {t}; only floating-point outputs can be "
                                 f"differentiated (return it as aux)")
    return diff


def vjp_type(ftype: ir.FunctionType, argnums, num_aux: int) -> ir.FunctionType:
    inputs, results = list(ftype.inputs), list(ftype.results)
    check_argnums("vjp", inputs, argnums)
    diff = _diff_results("vjp", results, num_aux)
    return ir.FunctionType.get(inputs + diff, results + [inputs[i] for i in argnums])


def jvp_type(ftype: ir.FunctionType, argnums, num_aux: int) -> ir.FunctionType:
    inputs, results = list(ftype.inputs), list(ftype.results)
    check_argnums("jvp", inputs, argnums)
    diff = _diff_results("jvp", results, num_aux)
    return ir.FunctionType.get(inputs + [inputs[i] for i in argnums], results + diff)
