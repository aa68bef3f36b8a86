"""Custom derivatives and rematerialization as function-valued ops, and plain calls.

    custom_jvp(f, rule)       f, whose JVP is rule: (xs..., tangents of xs...) -> (ys..., tangents of ys...)
    custom_vjp(f, fwd, bwd)   f, whose reverse mode is fwd: xs -> (ys..., residuals...) and
                              bwd: (residuals..., cotangents of ys...) -> cotangents of xs
    linear_call(bwd')         custom_vjp's tangent function, known only by its transpose
    checkpoint(f)             f, whose residuals the reverse pass recomputes
    (func.constant @f)        a plain call of f

Rules, by the shape of what they emit:

- A plain call's tangent is a call of `jvp(f)` (tangents of the float results); its
  transpose, when it is linear in some operands, the call of `linear_transpose(f)`;
  batched, a call of `vmap(f)`.
- custom_jvp: the tangent is a plain call of an adapter around `rule` (zeros for the
  operands without a tangent), so it is transposed as above: a custom_jvp function is
  reverse-differentiable when its rule is linear in the tangents, as JAX requires.
- custom_vjp: the JVP calls fwd for the results and the residuals (replacing the call of
  f), and its tangent is `linear_call(bwd')(residuals, tangents)`. Reverse mode transposes
  that into a call of bwd: f's own ops are never differentiated. Forward mode would have
  to evaluate linear_call, which has no forward form: `tfn-autodiff` reports it, naming the
  function.
- checkpoint: the tangent is a plain call of the tangent part of `jvp(f)` taking f's
  inputs. Partial evaluation keeps only f's inputs for the reverse pass; the transposed
  call recomputes f's primal inside (its `linear_transpose` emits the non-linear ops
  again), so f's intermediates are never stored across the forward pass.
- Batching vmaps each function (all results batched at 0). Lowering calls f.
"""
from __future__ import annotations

from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import JVP_RULES, TRANSPOSE_RULES, PrimalsReplaced
from tfn.batching import rules as B
from tfn.batching.rules import BATCH_RULES, batch_size, bdim_at
from tfn.dialect import functions as F
from tfn.dialect.core import fail, int_attr, str_attr
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import CALL_LOWERINGS
from tfn.ops.function_values import (adapter, call_fn, fn_of, float_positions, jvp_call, placed, ref, transpose_call,
                                     vmap_value, zeros)

CUSTOM_DERIVATIVE_OPS = ("custom_jvp", "custom_vjp", "linear_call", "checkpoint")


class ForwardModeError(NotImplementedError):
    """Forward-mode differentiation (jvp, jacfwd, hessian) of a custom_vjp function."""


def _types(ts) -> str:
    return ", ".join(str(t) for t in ts)


# ---------------------------------------------------------------- builders

def custom_jvp(fn: ir.Value, rule: ir.Value) -> ir.Value:
    """fn, differentiated in forward mode by rule: (xs..., tangents...) -> (ys..., tangents of ys...)."""
    ft, rt = ir.FunctionType(fn.type), ir.FunctionType(rule.type)
    xs, ys = list(ft.inputs), list(ft.results)
    if list(rt.inputs) != xs + xs or list(rt.results) != ys + ys:
        fail("custom_jvp", f"the rule must have type ({_types(xs + xs)}) -> ({_types(ys + ys)}), got {rt}")
    return F.function_op("custom_jvp", [fn, rule], ft)


def custom_vjp(fn: ir.Value, fwd: ir.Value, bwd: ir.Value, num_res: int) -> ir.Value:
    """fn, differentiated in reverse mode by fwd: xs -> (ys..., residuals...) and
    bwd: (residuals..., cotangents of ys...) -> cotangents of xs."""
    ft, fw, bw = (ir.FunctionType(v.type) for v in (fn, fwd, bwd))
    xs, ys = list(ft.inputs), list(ft.results)
    if list(fw.inputs) != xs or list(fw.results)[:len(ys)] != ys or len(fw.results) != len(ys) + num_res:
        fail("custom_vjp", f"fwd must take ({_types(xs)}) and return ({_types(ys)}) then {num_res} residuals, "
                           f"got {fw}")
    res = list(fw.results)[len(ys):]
    if list(bw.inputs) != res + ys or list(bw.results) != xs:
        fail("custom_vjp", f"bwd must have type ({_types(res + ys)}) -> ({_types(xs)}), got {bw}")
    return F.function_op("custom_vjp", [fn, fwd, bwd], ft, {"num_res": F.i64(num_res)})


def linear_call(transpose: ir.Value, num_res: int, name: str) -> ir.Value:
    """The linear function (residuals..., tangents...) -> tangents of ys whose transpose is
    `transpose`: (residuals..., cotangents of ys...) -> cotangents of the tangents."""
    tt = ir.FunctionType(transpose.type)
    res, cts = list(tt.inputs)[:num_res], list(tt.inputs)[num_res:]
    ftype = ir.FunctionType.get(res + list(tt.results), cts)
    return F.function_op("linear_call", [transpose], ftype,
                         {"num_res": F.i64(num_res), "name": ir.StringAttr.get(name)})


def checkpoint(fn: ir.Value) -> ir.Value:
    """fn, whose intermediates the reverse pass recomputes from its inputs instead of storing."""
    return F.function_op("checkpoint", [fn], ir.FunctionType(fn.type))


SHAPE_RULES["tfn.custom_jvp"] = lambda op, fn, rule: custom_jvp(fn, rule)
SHAPE_RULES["tfn.custom_vjp"] = lambda op, fn, fwd, bwd: custom_vjp(fn, fwd, bwd, int_attr(op, "num_res"))
SHAPE_RULES["tfn.linear_call"] = lambda op, t: linear_call(t, int_attr(op, "num_res"), str_attr(op, "name"))
SHAPE_RULES["tfn.checkpoint"] = lambda op, fn: checkpoint(fn)


def _tangent_call(f, xs, ts, barrier: bool = False):
    """A plain call of an adapter (xs..., the given tangents...) -> tangents of f's float results,
    returned one per result (None: not a float); `barrier`: xs enter f through optimization barriers."""
    argnums = [i for i, t in enumerate(ts) if t is not None]
    inputs = list(f[1].inputs)
    floats = float_positions(list(f[1].results))
    n = len(inputs)

    def body(*a):
        tangents = placed(n, argnums, a[n:])
        primals = [ops.optimization_barrier(v) for v in a[:n]] if barrier else a[:n]
        _, touts = jvp_call(f, primals, tangents)
        return [touts[j] for j in floats]
    tangent = adapter(f[0] + "_tangent", inputs + [inputs[i] for i in argnums], body)
    return placed(len(f[1].results), floats, F.call(ref(tangent), list(xs) + [ts[i] for i in argnums]))


def _batched_call(fn: ir.Value, operands, bdims):
    n_out = len(ir.FunctionType(fn.type).results)
    size = batch_size(operands, bdims)
    return F.call(vmap_value(fn, bdims, [0] * n_out, size, B.RANDOMNESS.get()), list(operands)), [0] * n_out


# ---------------------------------------------------------------- plain calls

def _jvp_call(call, operands, tangents):
    return _tangent_call(fn_of(operands[0]), operands[1:], tangents[1:])


def _transpose_plain_call(call, cts, operands, linear):
    return [None] + transpose_call(operands[0], operands[1:], linear[1:], cts)


def _batch_plain_call(call, operands, bdims):
    return _batched_call(operands[0], operands[1:], bdims[1:])


JVP_RULES["func.constant"] = _jvp_call
TRANSPOSE_RULES["func.constant"] = _transpose_plain_call
BATCH_RULES["func.constant"] = _batch_plain_call


# ---------------------------------------------------------------- custom_jvp

def _jvp_custom_jvp(call, operands, tangents):
    fn, rule = (fn_of(v) for v in F.callee_op(call).operands)
    xs, ts = list(operands[1:]), tangents[1:]
    inputs = list(fn[1].inputs)
    n_y = len(fn[1].results)
    given = [i for i, t in enumerate(ts) if t is not None]

    def body(*a):   # the rule with zeros for the tangents that are zero
        full = [zeros(t) for t in inputs]
        for k, i in enumerate(given):
            full[i] = a[len(inputs) + k]
        outs = call_fn(rule, list(a[:len(inputs)]) + full)
        return [outs[n_y + j] for j in float_positions(list(fn[1].results))]
    tangent = adapter(rule[0] + "_tangent", inputs + [inputs[i] for i in given], body)
    outs = F.call(ref(tangent), xs + [ts[i] for i in given])
    return placed(n_y, float_positions(list(fn[1].results)), outs)


def _batch_custom_jvp(call, operands, bdims):
    size = batch_size(operands[1:], bdims[1:])
    fn, rule = operands[0].owner.operands   # the callee, as re-emitted in the batched function
    xs, dims = list(operands[1:]), list(bdims[1:])
    n_out = len(ir.FunctionType(fn.type).results)
    mode = B.RANDOMNESS.get()
    vf = vmap_value(fn, dims, [0] * n_out, size, mode)
    vr = vmap_value(rule, dims + dims, [0] * (2 * n_out), size, mode)
    return F.call(custom_jvp(vf, vr), xs), [0] * n_out


def _lower_call_of_first(call, callee, args):
    fn = callee.operands[0]
    return F.call_named(F.referenced_name(fn), ir.FunctionType(fn.type), list(args))


JVP_RULES["tfn.custom_jvp"] = _jvp_custom_jvp
BATCH_RULES["tfn.custom_jvp"] = _batch_custom_jvp
CALL_LOWERINGS["tfn.custom_jvp"] = _lower_call_of_first


# ---------------------------------------------------------------- custom_vjp

def _jvp_custom_vjp(call, operands, tangents):
    op = F.callee_op(call)
    fn, fwd, bwd = (fn_of(v) for v in op.operands)
    num_res = int_attr(op, "num_res")
    xs, ts = list(operands[1:]), tangents[1:]
    inputs, results = list(fn[1].inputs), list(fn[1].results)
    n_y = len(results)
    outs = F.call(ref(fwd), xs)
    ys, res = outs[:n_y], outs[n_y:]
    given = [i for i, t in enumerate(ts) if t is not None]
    floats = float_positions(results)
    res_types = [r.type for r in res]

    def transposed(*a):   # (residuals, cotangents of the float ys) -> cotangents of the given xs
        cts = [zeros(t) for t in results]
        for j, c in zip(floats, a[num_res:]):
            cts[j] = c
        got = call_fn(bwd, list(a[:num_res]) + cts)
        return [got[i] for i in given]
    bwd_t = adapter(bwd[0] + "_transpose", res_types + [results[j] for j in floats], transposed)
    tangent = linear_call(ref(bwd_t), num_res, fn[0])
    touts = F.call(tangent, res + [ts[i] for i in given])
    return PrimalsReplaced(ys, placed(n_y, floats, touts))


def _batch_custom_vjp(call, operands, bdims):
    op = operands[0].owner   # the callee, as re-emitted in the batched function
    fn, fwd, bwd = op.operands
    num_res = int_attr(op, "num_res")
    size = batch_size(operands[1:], bdims[1:])
    dims = list(bdims[1:])
    n_y = len(ir.FunctionType(fn.type).results)
    mode = B.RANDOMNESS.get()
    vf = vmap_value(fn, dims, [0] * n_y, size, mode)
    vfwd = vmap_value(fwd, dims, [0] * (n_y + num_res), size, mode)
    vbwd = vmap_value(bwd, [0] * (num_res + n_y), [0] * len(dims), size, mode)
    return F.call(custom_vjp(vf, vfwd, vbwd, num_res), list(operands[1:])), [0] * n_y


def _jvp_linear_call(call, operands, tangents):
    name = str_attr(F.callee_op(call), "name")
    raise ForwardModeError(
        f"tfn.custom_vjp function '{name}' has no forward-mode derivative: jvp, jacfwd and hessian "
        f"differentiate in forward mode (define it with tfn.custom_jvp, or use jacrev)")


def _transpose_linear_call(call, cts, operands, linear):
    op = operands[0].owner
    num_res = int_attr(op, "num_res")
    assert not any(linear[1:1 + num_res]) and all(linear[1 + num_res:]), \
        "linear_call is linear in its tangents only"
    transpose = op.operands[0]
    cts = [c if c is not None else zeros(t) for c, t in zip(cts, ir.FunctionType(call.operands[0].type).results)]
    return [None] * (1 + num_res) + F.call(transpose, list(operands[1:1 + num_res]) + cts)


def _batch_linear_call(call, operands, bdims):
    op = operands[0].owner
    num_res = int_attr(op, "num_res")
    size = batch_size(operands[1:], bdims[1:])
    args = [bdim_at(v, d, 0, size) for v, d in zip(operands[1:], bdims[1:])]
    transpose = op.operands[0]
    n_out = len(ir.FunctionType(transpose.type).results)
    vt = vmap_value(transpose, [0] * len(ir.FunctionType(transpose.type).inputs), [0] * n_out, size,
                    B.RANDOMNESS.get())
    return F.call(linear_call(vt, num_res, str_attr(op, "name")), args), [0] * len(call.results)


def _lower_linear_call(call, callee, args):
    _jvp_linear_call(call, list(call.operands), [])


JVP_RULES["tfn.custom_vjp"] = _jvp_custom_vjp
BATCH_RULES["tfn.custom_vjp"] = _batch_custom_vjp
CALL_LOWERINGS["tfn.custom_vjp"] = _lower_call_of_first
JVP_RULES["tfn.linear_call"] = _jvp_linear_call
TRANSPOSE_RULES["tfn.linear_call"] = _transpose_linear_call
BATCH_RULES["tfn.linear_call"] = _batch_linear_call
CALL_LOWERINGS["tfn.linear_call"] = _lower_linear_call


# ---------------------------------------------------------------- checkpoint

def _jvp_checkpoint(call, operands, tangents):
    # Inside the tangent function the inputs pass through optimization barriers, so what the
    # reverse pass recomputes (in the transpose of that function) stays a recomputation after
    # CSE, and the barriers' copies live only while one layer is recomputed.
    return _tangent_call(fn_of(F.callee_op(call).operands[0]), operands[1:], tangents[1:], barrier=True)


def _batch_checkpoint(call, operands, bdims):
    fn = operands[0].owner.operands[0]
    size = batch_size(operands[1:], bdims[1:])
    n_out = len(ir.FunctionType(fn.type).results)
    vf = vmap_value(fn, list(bdims[1:]), [0] * n_out, size, B.RANDOMNESS.get())
    return F.call(checkpoint(vf), list(operands[1:])), [0] * n_out


JVP_RULES["tfn.checkpoint"] = _jvp_checkpoint
BATCH_RULES["tfn.checkpoint"] = _batch_checkpoint
CALL_LOWERINGS["tfn.checkpoint"] = _lower_call_of_first
