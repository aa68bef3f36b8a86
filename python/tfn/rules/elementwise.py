"""Rules of the elementwise family: unary math, binary arithmetic, compare, select, convert."""
from __future__ import annotations

from tfn.dialect import ops
from tfn.dialect.types import dtype_of
from tfn.rules import JVP_RULES, NO_DERIVATIVE, TRANSPOSE_RULES
from tfn.rules.common import add_any, full_like, is_float, neg_any, tangent_or_zeros, zeros_like


def defjvp_unary(name: str, derivative):
    """JVP of y = f(x) as t * f'(x); `derivative(x, y)` builds f'(x) from tfn ops."""
    def jvp(op, primals, tangents):
        t = tangents[0]
        return None if t is None else ops.mul(t, derivative(primals[0], op.result))
    JVP_RULES[f"tfn.{name}"] = jvp


def _one_minus_square(y):
    return ops.sub(full_like(y, 1), ops.mul(y, y))


# ---- unary: d/dx f(x), written with x (input) and y (output)
defjvp_unary("exp", lambda x, y: y)
defjvp_unary("log", lambda x, y: ops.div(full_like(x, 1), x))
defjvp_unary("log1p", lambda x, y: ops.div(full_like(x, 1), ops.add(full_like(x, 1), x)))
defjvp_unary("expm1", lambda x, y: ops.add(y, full_like(y, 1)))
defjvp_unary("sin", lambda x, y: ops.cos(x))
defjvp_unary("cos", lambda x, y: ops.neg(ops.sin(x)))
defjvp_unary("tanh", lambda x, y: _one_minus_square(y))
defjvp_unary("erf", lambda x, y: ops.mul(full_like(x, 1.1283791670955126), ops.exp(ops.neg(ops.mul(x, x)))))
defjvp_unary("logistic", lambda x, y: ops.mul(y, ops.sub(full_like(y, 1), y)))
defjvp_unary("sqrt", lambda x, y: ops.div(full_like(y, 0.5), y))
defjvp_unary("rsqrt", lambda x, y: ops.div(ops.mul(full_like(y, -0.5), y), x))
defjvp_unary("abs", lambda x, y: ops.sign(x))


def _jvp_neg(op, primals, tangents):
    return neg_any(tangents[0])


JVP_RULES["tfn.neg"] = _jvp_neg
TRANSPOSE_RULES["tfn.neg"] = lambda op, ct, operands, linear: [ops.neg(ct)]

NO_DERIVATIVE["tfn.sign"] = "piecewise constant: zero derivative almost everywhere"
for _name in ("floor", "ceil", "round"):
    NO_DERIVATIVE[f"tfn.{_name}"] = "piecewise constant (integer steps): zero derivative almost everywhere"
NO_DERIVATIVE["tfn.stop_gradient"] = "the identity whose derivative is defined to be zero"
NO_DERIVATIVE["tfn.compare"] = "bool result: no tangent"


# ---- binary
def _jvp_add(op, primals, tangents):
    return add_any(*tangents)


def _jvp_sub(op, primals, tangents):
    return add_any(tangents[0], neg_any(tangents[1]))


def _jvp_mul(op, primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    return add_any(None if ta is None else ops.mul(ta, b), None if tb is None else ops.mul(a, tb))


def _jvp_div(op, primals, tangents):
    # d(a/b) = (ta - tb * (a/b)) / b
    (_, b), (ta, tb) = primals, tangents
    num = add_any(ta, None if tb is None else ops.neg(ops.mul(tb, op.result)))
    return ops.div(num, b)


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


JVP_RULES.update({
    "tfn.add": _jvp_add, "tfn.sub": _jvp_sub, "tfn.mul": _jvp_mul, "tfn.div": _jvp_div,
    "tfn.pow": _jvp_pow, "tfn.max": _jvp_max_min("gt"), "tfn.min": _jvp_max_min("lt"),
})


def _transpose_add(op, ct, operands, linear):
    return [ct if linear[0] else None, ct if linear[1] else None]


def _transpose_sub(op, ct, operands, linear):
    return [ct if linear[0] else None, ops.neg(ct) if linear[1] else None]


def _transpose_mul(op, ct, operands, linear):
    a, b = operands
    return [ops.mul(ct, b) if linear[0] else None, ops.mul(a, ct) if linear[1] else None]


def _transpose_div(op, ct, operands, linear):
    if linear[1]:
        raise NotImplementedError("transpose of 'tfn.div' in its denominator: not linear")
    return [ops.div(ct, operands[1]), None]


TRANSPOSE_RULES.update({"tfn.add": _transpose_add, "tfn.sub": _transpose_sub,
                        "tfn.mul": _transpose_mul, "tfn.div": _transpose_div})


# ---- select, convert
def _jvp_select(op, primals, tangents):
    pred, a, b = primals
    _, ta, tb = tangents
    if ta is None and tb is None:
        return None
    return ops.select(pred, tangent_or_zeros(ta, a), tangent_or_zeros(tb, b))


def _transpose_select(op, ct, operands, linear):
    pred = operands[0]
    zero = zeros_like(ct)
    return [None, ops.select(pred, ct, zero) if linear[1] else None,
            ops.select(pred, zero, ct) if linear[2] else None]


def _jvp_convert(op, primals, tangents):
    t = tangents[0]
    if t is None or not is_float(op.result) or not is_float(primals[0]):
        return None  # through integers or bools the derivative is zero
    return ops.convert(t, dtype_of(op.result))


def _transpose_convert(op, ct, operands, linear):
    return [ops.convert(ct, dtype_of(op.operands[0]))]


JVP_RULES.update({"tfn.select": _jvp_select, "tfn.convert": _jvp_convert})
TRANSPOSE_RULES.update({"tfn.select": _transpose_select, "tfn.convert": _transpose_convert})
