"""Small, cheap builders of upstream IR used by the tfn -> linalg lowering.

`linalg.generic` is built directly (the opdsl named-op builders cost 100-370 us each).
"""
from __future__ import annotations

from typing import Callable, Sequence

from mlir import ir
from mlir.dialects import arith, tensor
from mlir.dialects import linalg as linalg_gen

PARALLEL = "#linalg.iterator_type<parallel>"
REDUCTION = "#linalg.iterator_type<reduction>"


def element_type(value: ir.Value) -> ir.Type:
    return ir.RankedTensorType(value.type).element_type


def shape(value: ir.Value) -> list[int]:
    return list(ir.RankedTensorType(value.type).shape)


def is_float_type(t: ir.Type) -> bool:
    return isinstance(t, (ir.F32Type, ir.F64Type, ir.F16Type, ir.BF16Type))


def scalar_constant(t: ir.Type, value) -> ir.Value:
    if is_float_type(t):
        return arith.ConstantOp(t, ir.FloatAttr.get(t, float(value))).result
    return arith.ConstantOp(t, ir.IntegerAttr.get(t, int(value))).result


def empty(dims: Sequence[int], elem: ir.Type) -> ir.Value:
    return tensor.EmptyOp(list(dims), elem).result


def affine_map(num_dims: int, exprs: Sequence[int | None]) -> ir.AffineMap:
    """A map from `num_dims` loop dims; an entry d is dim d, None is the constant 0."""
    return ir.AffineMap.get(num_dims, 0, [
        ir.AffineConstantExpr.get(0) if e is None else ir.AffineDimExpr.get(e) for e in exprs])


def iterator_types(iterators: Sequence[str]) -> ir.Attribute:
    """The `iterator_types` array of `iterators` (PARALLEL, REDUCTION), parsed as one attribute."""
    return ir.Attribute.parse(f"[{', '.join(iterators)}]")


def generic(inputs: Sequence[ir.Value], init: ir.Value, maps: Sequence[ir.AffineMap],
            iterators: Sequence[str], body: Callable[..., ir.Value]) -> ir.Value:
    """One linalg.generic with one tensor result; `body(*scalars, acc)` returns the yielded value."""
    op = linalg_gen.GenericOp(
        [init.type], list(inputs), [init],
        ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
        iterator_types(iterators))
    block = op.regions[0].blocks.append(*[element_type(v) for v in inputs], element_type(init))
    with ir.InsertionPoint(block):
        linalg_gen.YieldOp([body(*block.arguments)])
    return op.result


def elementwise(inputs: Sequence[ir.Value], out_elem: ir.Type, body: Callable[..., ir.Value]) -> ir.Value:
    dims = shape(inputs[0])
    ident = ir.AffineMap.get_identity(len(dims))
    return generic(inputs, empty(dims, out_elem), [ident] * (len(inputs) + 1),
                   [PARALLEL] * len(dims), lambda *args: body(*args[:-1]))


def fill(dims: Sequence[int], value: ir.Value) -> ir.Value:
    """A tensor of `dims` filled with the scalar `value`."""
    ident = ir.AffineMap.get_identity(len(dims))
    return generic([], empty(dims, value.type), [ident], [PARALLEL] * len(dims), lambda acc: value)


def product(dims: Sequence[int]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def reassociation(groups: Sequence[Sequence[int]]) -> ir.ArrayAttr:
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups])


def reshape(x: ir.Value, dims: Sequence[int]) -> ir.Value:
    """Row-major reshape of a static tensor through at most one collapse and one expand."""
    src, dims = shape(x), list(dims)
    if src == dims:
        return x
    elem = element_type(x)
    if len(src) == 0:
        x = tensor.ExpandShapeOp(ir.RankedTensorType.get([1], elem), x, reassociation([]), [], [1]).result
    elif len(src) > 1:
        x = tensor.CollapseShapeOp(ir.RankedTensorType.get([product(src)], elem), x,
                                   reassociation([list(range(len(src)))])).result
    if len(dims) == 0:
        return tensor.CollapseShapeOp(ir.RankedTensorType.get([], elem), x, reassociation([])).result
    if len(dims) > 1:
        return tensor.ExpandShapeOp(ir.RankedTensorType.get(dims, elem), x,
                                    reassociation([list(range(len(dims)))]), [], dims).result
    return x
