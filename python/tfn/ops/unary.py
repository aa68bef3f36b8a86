"""Unary elementwise ops: one row per op holds its builder, shape rule, JVP, batching and lowering.

A row names the op's derivative `jvp(x, y)` (f'(x) from the operand x and the result y,
built with tfn ops; the tangent is t * f'(x)) or the reason it has none, and its scalar
body per element kind (`float`, `int`: upstream arith/math builders, or a function of
them). Batching keeps the batch dim where it is, and the shape rule is the builder's
check. Adding an op is one row here plus its `irdl.operation` in `tfn.irdl.mlir`:

    erfc = unary_op("erfc", jvp=lambda x, y: ops.mul(full_like(x, -1.1283791670955126),
                                                     ops.exp(ops.neg(ops.mul(x, x)))),
                    float=math.erfc)

    >>> import numpy as np
    >>> from mlir import ir
    >>> from tfn.dialect import new_context
    >>> from tfn import ops
    >>> with new_context(), ir.Location.unknown():
    ...     m = ir.Module.create()
    ...     with ir.InsertionPoint(m.body):
    ...         print(ops.exp(ops.constant(np.ones(3, np.float32))).type)
    tensor<3xf32>
"""
from __future__ import annotations

from typing import Callable

from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import NO_DERIVATIVE, defjvp_unary, deflinear, full_like
from tfn.batching.rules import defvectorized
from tfn.dialect.core import BUILDERS, create, fail
from tfn.dialect.types import dtype_of, is_float_dtype
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import LOWERINGS, LazyModule, arith, builders, defelementwise, math

bufferization = LazyModule("mlir.dialects.bufferization")

_names: list[str] = []
_float_only: set[str] = set()


def unary_op(name: str, *, jvp: Callable | None = None, no_derivative: str | None = None,
             transpose: Callable | None = None, float: Callable | None = None, int: Callable | None = None,
             bool: Callable | None = None, lower: Callable | None = None, float_only: bool = True,
             int_only: bool = False) -> Callable[[ir.Value], ir.Value]:
    """Defines elementwise `tfn.<name>` and every rule of it; returns its builder.

    jvp: f'(x) as `jvp(x, y)`; or `no_derivative`: why there is none; or `transpose`: the op
    is linear, its JVP is the op on the tangent and this its transpose rule.
    float, int, bool: scalar bodies per element kind (or `lower`: the whole lowering).
    float_only: the builder refuses integer and bool operands; int_only: float operands.
    """
    op_name = f"tfn.{name}"

    def build(x: ir.Value) -> ir.Value:
        if float_only and not is_float_dtype(dtype_of(x)):
            fail(name, "needs a floating-point operand", x)
        if int_only and is_float_dtype(dtype_of(x)):
            fail(name, "needs an integer or bool operand", x)
        return create(name, [x], x.type)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"Elementwise `tfn.{name}`."
    BUILDERS[op_name] = build
    SHAPE_RULES[op_name] = lambda op, x: build(x)
    if transpose is not None:
        deflinear(op_name, lambda op, t: build(t), transpose, module=__name__)
    elif jvp is not None:
        defjvp_unary(op_name, jvp, module=__name__)
    else:
        NO_DERIVATIVE[op_name] = no_derivative
    defvectorized(op_name, build, module=__name__)
    if lower is not None:
        LOWERINGS[op_name] = lower
    else:
        defelementwise(name, float=float, int=int, bool=bool, module=__name__)
    _names.append(name)
    if float_only:
        _float_only.add(name)
    return build


# ---------------------------------------------------------------- scalar bodies not in arith/math

def _float_sign(x):
    zero, one = builders.scalar_constant(x.type, 0.0), builders.scalar_constant(x.type, 1.0)
    positive = arith.select(arith.cmpf(arith.CmpFPredicate.OGT, x, zero), one, zero)
    negative = arith.select(arith.cmpf(arith.CmpFPredicate.OLT, x, zero), one, zero)
    # sign(nan) is nan, like numpy; sign(+-inf) is +-1 (so not `+ (x - x)`, which is nan there).
    is_nan = arith.cmpf(arith.CmpFPredicate.UNO, x, x)
    return arith.select(is_nan, x, arith.subf(positive, negative))


def _int_sign(x):
    zero, one = builders.scalar_constant(x.type, 0), builders.scalar_constant(x.type, 1)
    positive = arith.select(arith.cmpi(arith.CmpIPredicate.sgt, x, zero), one, zero)
    negative = arith.select(arith.cmpi(arith.CmpIPredicate.slt, x, zero), one, zero)
    return arith.subi(positive, negative)


def _logistic(x):
    one = builders.scalar_constant(x.type, 1.0)
    return arith.divf(one, arith.addf(one, math.exp(arith.negf(x))))


def _int_abs(x):
    zero = builders.scalar_constant(x.type, 0)
    return arith.select(arith.cmpi(arith.CmpIPredicate.slt, x, zero), arith.subi(zero, x), x)


def _int_neg(x):
    return arith.subi(builders.scalar_constant(x.type, 0), x)


def _one_minus_square(y):
    return ops.sub(full_like(y, 1), ops.mul(y, y))


def _lower_identity(op, x):
    return x


_STEP = "piecewise constant (integer steps): zero derivative almost everywhere"

# ---------------------------------------------------------------- the ops: d/dx f(x) with x (input), y (output)

neg = unary_op("neg", transpose=lambda op, ct, operands, linear: [ops.neg(ct)],
               float=arith.negf, int=_int_neg, float_only=False)
exp = unary_op("exp", jvp=lambda x, y: y, float=math.exp)
log = unary_op("log", jvp=lambda x, y: ops.div(full_like(x, 1), x), float=math.log)
log1p = unary_op("log1p", jvp=lambda x, y: ops.div(full_like(x, 1), ops.add(full_like(x, 1), x)),
                 float=math.log1p)
expm1 = unary_op("expm1", jvp=lambda x, y: ops.add(y, full_like(y, 1)), float=math.expm1)
sin = unary_op("sin", jvp=lambda x, y: ops.cos(x), float=math.sin)
cos = unary_op("cos", jvp=lambda x, y: ops.neg(ops.sin(x)), float=math.cos)
tanh = unary_op("tanh", jvp=lambda x, y: _one_minus_square(y), float=math.tanh)
erf = unary_op("erf", jvp=lambda x, y: ops.mul(full_like(x, 1.1283791670955126), ops.exp(ops.neg(ops.mul(x, x)))),
               float=math.erf)
logistic = unary_op("logistic", jvp=lambda x, y: ops.mul(y, ops.sub(full_like(y, 1), y)), float=_logistic)
sqrt = unary_op("sqrt", jvp=lambda x, y: ops.div(full_like(y, 0.5), y), float=math.sqrt)
rsqrt = unary_op("rsqrt", jvp=lambda x, y: ops.div(ops.mul(full_like(y, -0.5), y), x), float=math.rsqrt)
abs = unary_op("abs", jvp=lambda x, y: ops.sign(x), float=math.absf, int=_int_abs, float_only=False)
sign = unary_op("sign", no_derivative="piecewise constant: zero derivative almost everywhere",
                float=_float_sign, int=_int_sign, float_only=False)
floor = unary_op("floor", no_derivative=_STEP, float=math.floor)
ceil = unary_op("ceil", no_derivative=_STEP, float=math.ceil)
round = unary_op("round", no_derivative=_STEP, float=math.roundeven)
stop_gradient = unary_op("stop_gradient", no_derivative="the identity whose derivative is defined to be zero",
                         lower=_lower_identity, float_only=False)



def _lower_barrier(op, x):
    # A copy: an op CSE cannot merge with the computation it guards (checkpoint's recomputation).
    return bufferization.AllocTensorOp(x.type, [], copy=x).result


# The identity, opaque to common-subexpression elimination: what a checkpointed function
# recomputes in the backward pass starts from its inputs passed through it, so the
# recomputation is not merged back into the forward pass (which would keep its values alive).
optimization_barrier = unary_op("optimization_barrier", transpose=lambda op, ct, operands, linear: [ct],
                                lower=_lower_barrier, float_only=False)


def _bitwise_not(x):
    return arith.xori(x, builders.scalar_constant(x.type, -1))


bitwise_not = unary_op("bitwise_not", no_derivative="integer (bitwise) result: no tangent",
                       int=_bitwise_not, bool=_bitwise_not, float_only=False, int_only=True)

UNARY_OPS: tuple[str, ...] = tuple(_names)
FLOAT_ONLY_UNARY: frozenset[str] = frozenset(_float_only)

__all__ = [*UNARY_OPS, "UNARY_OPS", "FLOAT_ONLY_UNARY"]
