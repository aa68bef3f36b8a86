"""Binary elementwise ops (add sub mul div pow max min; bitwise_and/or/xor, shift_left,
shift_right_arithmetic): builder, shape rule, JVP, transpose,
batching and lowering of each, together.

Operands have one type (broadcasting and promotion are explicit ops, done by the
tracer). Batching broadcasts an unbatched operand into the batched shape. Each op's
block: its JVP rule (and transpose rule where JVP rules emit it on tangents), then
its row: `binary_op(name, jvp=..., transpose=..., emits=..., float=..., int=..., bool=...)`.
"""
from __future__ import annotations

from typing import Callable, Sequence

from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import NO_DERIVATIVE, TRANSPOSE_RULES, add_any, defjvp, full_like, neg_any, zeros_like
from tfn.batching.rules import defbroadcasting
from tfn.dialect.core import BUILDERS, create, fail
from tfn.dialect.types import dtype_of, is_float_dtype
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import arith, builders, defelementwise, math

_names: list[str] = []


def binary_op(name: str, *, jvp: Callable | None = None, emits: Sequence[str] = (),
              no_derivative: str | None = None, transpose: Callable | None = None,
              float: Callable | None = None, int: Callable, bool: Callable | None = None) -> Callable[..., ir.Value]:
    """Defines elementwise `tfn.<name>` of two operands of one type and its rules; returns its builder.

    jvp: the JVP rule, which applies the ops `emits` to tangents (or `no_derivative`: why
    there is none); transpose: its transpose rule, for an op that JVP rules emit on tangents.
    float, int, bool: scalar bodies (an op without `float` refuses float operands).
    """
    op_name = f"tfn.{name}"

    def build(lhs: ir.Value, rhs: ir.Value) -> ir.Value:
        if lhs.type != rhs.type:
            fail(name, "operands must have one shape and dtype (broadcast and convert first)", lhs, rhs)
        if float is None and is_float_dtype(dtype_of(lhs)):
            fail(name, "needs integer or bool operands", lhs, rhs)
        return create(name, [lhs, rhs], lhs.type)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"Elementwise `tfn.{name}` of two operands of one type."
    BUILDERS[op_name] = build
    SHAPE_RULES[op_name] = lambda op, a, b: build(a, b)
    if jvp is not None:
        defjvp(op_name, jvp, emits=emits)
    else:
        NO_DERIVATIVE[op_name] = no_derivative
    if transpose is not None:
        TRANSPOSE_RULES[op_name] = transpose
    defbroadcasting(op_name, lambda op, a, b: build(a, b), module=__name__)
    defelementwise(name, float=float, int=int, bool=bool, module=__name__)
    _names.append(name)
    return build


# ---------------------------------------------------------------- add, sub: linear

def _jvp_add(op, primals, tangents):
    return add_any(*tangents)


def _transpose_add(op, ct, operands, linear):
    return [ct if linear[0] else None, ct if linear[1] else None]


add = binary_op("add", jvp=_jvp_add, emits=["tfn.add"], transpose=_transpose_add,
                float=arith.addf, int=arith.addi, bool=arith.ori)


def _jvp_sub(op, primals, tangents):
    return add_any(tangents[0], neg_any(tangents[1]))


def _transpose_sub(op, ct, operands, linear):
    return [ct if linear[0] else None, ops.neg(ct) if linear[1] else None]


sub = binary_op("sub", jvp=_jvp_sub, emits=["tfn.add", "tfn.neg"], transpose=_transpose_sub,
                float=arith.subf, int=arith.subi)


# ---------------------------------------------------------------- mul, div: linear in one operand

def _jvp_mul(op, primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    return add_any(None if ta is None else ops.mul(ta, b), None if tb is None else ops.mul(a, tb))


def _transpose_mul(op, ct, operands, linear):
    a, b = operands
    return [ops.mul(ct, b) if linear[0] else None, ops.mul(a, ct) if linear[1] else None]


mul = binary_op("mul", jvp=_jvp_mul, emits=["tfn.mul", "tfn.add"], transpose=_transpose_mul,
                float=arith.mulf, int=arith.muli, bool=arith.andi)


def _jvp_div(op, primals, tangents):
    # d(a/b) = (ta - tb * (a/b)) / b
    (_, b), (ta, tb) = primals, tangents
    num = add_any(ta, None if tb is None else ops.neg(ops.mul(tb, op.result)))
    return ops.div(num, b)


def _transpose_div(op, ct, operands, linear):
    if linear[1]:
        raise NotImplementedError("transpose of 'tfn.div' in its denominator: not linear")
    return [ops.div(ct, operands[1]), None]


div = binary_op("div", jvp=_jvp_div, emits=["tfn.mul", "tfn.neg", "tfn.add", "tfn.div"], transpose=_transpose_div,
                float=arith.divf, int=arith.divsi)


# ---------------------------------------------------------------- pow, max, min: not linear

def _jvp_pow(op, primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    da = None
    if ta is not None:
        # b * a^(b-1), written so that a = 0, b = 1 gives 1 (not 0 * inf).
        da = ops.mul(ta, ops.mul(b, ops.pow(a, ops.sub(b, full_like(b, 1)))))
    db = None
    if tb is not None:
        # a^b * log(a); zero where a == 0 (the limit for b > 0), as numpy-based references do.
        zero = zeros_like(a)
        safe_log = ops.select(ops.compare("eq", a, zero), zero, ops.log(a))
        db = ops.mul(tb, ops.mul(op.result, safe_log))
    return add_any(da, db)


pow = binary_op("pow", jvp=_jvp_pow, emits=["tfn.mul", "tfn.add"], float=math.powf, int=math.ipowi)


def _jvp_max_min(direction):
    def jvp(op, primals, tangents):
        # Ties go to the second operand, so relu = max(x, 0) has derivative 0 at 0.
        (a, b), (ta, tb) = primals, tangents
        pick_a = ops.compare(direction, a, b)
        zero = zeros_like(op.result)
        da = None if ta is None else ops.select(pick_a, ta, zero)
        db = None if tb is None else ops.select(pick_a, zero, tb)
        return add_any(da, db)
    return jvp


max = binary_op("max", jvp=_jvp_max_min("gt"), emits=["tfn.select", "tfn.add"],
                float=arith.maximumf, int=arith.maxsi, bool=arith.ori)
min = binary_op("min", jvp=_jvp_max_min("lt"), emits=["tfn.select", "tfn.add"],
                float=arith.minimumf, int=arith.minsi, bool=arith.andi)


# ---------------------------------------------------------------- bitwise: integer results, no derivative
# Shifts by a negative amount or by the bit width or more are defined as numpy's: a left
# shift gives 0, a right shift the sign (0 or -1); arith's shifts are poison there.

_BITWISE = "integer (bitwise) result: no tangent"


def _shift(shift_op, overflow):
    def body(x, s):
        bits = ir.IntegerType(x.type).width
        width = builders.scalar_constant(x.type, bits)
        out_of_range = arith.cmpi(arith.CmpIPredicate.uge, s, width)  # unsigned: negative shifts too
        return arith.select(out_of_range, overflow(x, bits), shift_op(x, s))
    return body


def _zero(x, bits):
    return builders.scalar_constant(x.type, 0)


def _sign_fill(x, bits):
    return arith.shrsi(x, builders.scalar_constant(x.type, bits - 1))


bitwise_and = binary_op("bitwise_and", no_derivative=_BITWISE, int=arith.andi, bool=arith.andi)
bitwise_or = binary_op("bitwise_or", no_derivative=_BITWISE, int=arith.ori, bool=arith.ori)
bitwise_xor = binary_op("bitwise_xor", no_derivative=_BITWISE, int=arith.xori, bool=arith.xori)
shift_left = binary_op("shift_left", no_derivative=_BITWISE, int=_shift(arith.shli, _zero))
shift_right_arithmetic = binary_op("shift_right_arithmetic", no_derivative=_BITWISE,
                                   int=_shift(arith.shrsi, _sign_fill))

BINARY_OPS: tuple[str, ...] = tuple(_names)

__all__ = [*BINARY_OPS, "BINARY_OPS"]
