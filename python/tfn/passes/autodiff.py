"""Pass `tfn-autodiff`: expands tfn.jvp, tfn.vjp and tfn.grad into new tfn functions.

Forward mode interprets the callee op by op: each op is re-emitted and its JVP
rule emits the tangent (None is a symbolic zero). Reverse mode is JVP followed by
transposition, as in JAX: the JVP program is split into the ops that do not
depend on tangents (the primal computation, emitted once as the forward pass;
its values are the residuals) and the ops that do (linear in the tangents), which
are walked backwards with one transpose rule each. So only linear ops need a
transpose rule, every op needs just one derivative rule, and primal values are
reused, never recomputed.
"""
from __future__ import annotations

from typing import Sequence

from mlir import ir
from mlir.dialects import func

from tfn import ops
from tfn.dialect.core import int_array, int_attr
from tfn.dialect.types import to_dtype
from tfn.autodiff.rules import JVP_RULES, NO_DERIVATIVE, TRANSPOSE_RULES, PrimalsReplaced, add_any, full_like
from tfn.dialect.functions import rule_name
from tfn.passes import ir_utils as U
from tfn.passes.signatures import TransformError, grad_type, jvp_type, vjp_type


class MissingRuleError(NotImplementedError):
    pass


def _missing(kind: str, op: ir.Operation, function: str):
    err = MissingRuleError(f"{kind} rule for '{op.name}' not implemented (differentiating @{function}, "
                           f"at {op.location})")
    err.location = op.location
    raise err


def emit_jvp(callee, primals: Sequence[ir.Value], tangents: Sequence[ir.Value | None]):
    """Emits callee's body on `primals` at the current insertion point, with tangents.

    Returns (outputs, output tangents); a tangent is None where it is zero.
    """
    env = dict(zip(U.entry_block(callee).arguments, primals))
    tenv = {a: t for a, t in zip(U.entry_block(callee).arguments, tangents) if t is not None}
    ip = ir.InsertionPoint.current
    for op in U.body_ops(callee):
        if op.name == "func.return":
            return [env[v] for v in op.operands], [tenv.get(v) for v in op.operands]
        new = U.clone_with(op, env, ip)
        for old, res in zip(op.results, new.results):
            env[old] = res
        ts = [tenv.get(v) for v in op.operands]
        if all(t is None for t in ts):
            continue
        name = rule_name(new)
        rule = JVP_RULES.get(name)
        if rule is None:
            if name in NO_DERIVATIVE:
                continue
            _missing("JVP", op, U.symbol_name(callee))
        with op.location:
            t = rule(new, list(new.operands), ts)
        if isinstance(t, PrimalsReplaced):   # the rule computed the results itself (custom_vjp's fwd)
            for old, res in zip(op.results, t.primals):
                env[old] = res
            t = t.tangents
        if isinstance(t, list):   # a call: one tangent per result
            for old, t_r in zip(op.results, t):
                if t_r is not None:
                    tenv[old] = t_r
        elif t is not None:
            tenv[op.results[0]] = t
    raise AssertionError("function without return")


def emit_vjp(module_op, callee, primals: Sequence[ir.Value], argnums: Sequence[int], num_aux: int,
             cotangents: Sequence[ir.Value]):
    """Emits the forward pass and the transposed tangent program at the current insertion point.

    Returns (outputs, grads for argnums). The JVP is built in a scratch function
    that is erased afterwards.
    """
    ftype = U.function_type(callee)
    inputs = list(ftype.inputs)
    scratch, block = U.new_function(module_op, "_tfn_linearize", inputs + [inputs[i] for i in argnums])
    n = len(inputs)
    with ir.InsertionPoint(block):
        tangents = [None] * n
        for k, i in enumerate(argnums):
            tangents[i] = block.arguments[n + k]
        outs, touts = emit_jvp(callee, list(block.arguments[:n]), tangents)
        n_diff = len(outs) - num_aux
        func.ReturnOp(outs)
    try:
        env = dict(zip(list(block.arguments[:n]), primals))
        env, ct = _partial_eval_and_transpose(scratch, env, list(block.arguments[n:]), touts[:n_diff], cotangents,
                                              U.symbol_name(callee))
        grads = [_zero_if_none(ct.get(a), a) for a in block.arguments[n:]]
        return [env.get(v, v) for v in outs], grads
    finally:
        scratch.erase()


def _zero_if_none(g: ir.Value | None, like: ir.Value) -> ir.Value:
    return g if g is not None else U.zeros_like_type(like.type)


def _partial_eval_and_transpose(scratch, env: dict, linear_args: Sequence[ir.Value], touts, cotangents,
                                function: str) -> tuple[dict, dict]:
    """Emits the ops of `scratch` that do not depend on `linear_args` (env: its other
    arguments -> their values), then transposes the rest, seeded with `cotangents` of the
    values `touts`. Returns (env, cotangent of each linear value)."""
    ip = ir.InsertionPoint.current
    linear = set(linear_args)
    linear_ops = []
    for op in U.body_ops(scratch):
        if op.name == "func.return":
            break
        if any(v in linear for v in op.operands):
            linear_ops.append(op)
            linear.update(op.results)
        else:
            new = U.clone_with(op, env, ip)
            for old, res in zip(op.results, new.results):
                env[old] = res
    ct: dict = {}
    for t, c in zip(touts, cotangents):
        if t is not None and t in linear:
            ct[t] = add_any(ct.get(t), c)
    for op in reversed(linear_ops):
        cs = [ct.pop(r, None) for r in op.results]
        if all(c is None for c in cs):
            continue
        name = rule_name(op)
        rule = TRANSPOSE_RULES.get(name)
        if rule is None:
            _missing("transpose", op, function)
        mask = [v in linear for v in op.operands]
        operands = [None if m else env.get(v, v) for v, m in zip(op.operands, mask)]
        with op.location:   # a call takes the cotangents of all its results, other ops of their one
            cts = rule(op, cs if op.name == "func.call_indirect" else cs[0], operands, mask)
        for v, m, c_v in zip(op.operands, mask, cts):
            if m and c_v is not None:
                ct[v] = add_any(ct.get(v), c_v)
    return env, ct


# ---------------------------------------------------------------- expanders

def _expand(op: ir.Operation, callee, module_op, suffix: str, signature, body) -> str:
    """Builds the transformed function: `signature(ftype)` gives its type, `body(block, ftype)`
    emits its ops and returns the values to return. Returns the new function's name."""
    U.inline_calls(callee, module_op)
    ftype = U.function_type(callee)
    rtype = signature(ftype)
    new, block = U.new_function(module_op, U.symbol_name(callee) + suffix, list(rtype.inputs),
                                list(rtype.results), op.location)
    with ir.InsertionPoint(block), op.location:
        func.ReturnOp(body(block, ftype))
    U.dead_code_elimination(new)
    return U.symbol_name(new)


def expand_jvp(op: ir.Operation, callee, module_op) -> str:
    argnums, num_aux = int_array(op, "argnums"), int_attr(op, "num_aux")

    def body(block, ftype):
        n = len(ftype.inputs)
        tangents = [None] * n
        for k, i in enumerate(argnums):
            tangents[i] = block.arguments[n + k]
        outs, touts = emit_jvp(callee, list(block.arguments[:n]), tangents)
        n_diff = len(outs) - num_aux
        return outs + [t if t is not None else full_like(o, 0) for o, t in zip(outs[:n_diff], touts[:n_diff])]
    return _expand(op, callee, module_op, "_jvp", lambda ftype: jvp_type(ftype, argnums, num_aux), body)


def expand_vjp(op: ir.Operation, callee, module_op) -> str:
    argnums, num_aux = int_array(op, "argnums"), int_attr(op, "num_aux")

    def body(block, ftype):
        n = len(ftype.inputs)
        outs, grads = emit_vjp(module_op, callee, list(block.arguments[:n]), argnums, num_aux,
                               list(block.arguments[n:]))
        return outs + grads
    return _expand(op, callee, module_op, "_vjp", lambda ftype: vjp_type(ftype, argnums, num_aux), body)


def expand_grad(op: ir.Operation, callee, module_op) -> str:
    argnums, num_aux = int_array(op, "argnums"), int_attr(op, "num_aux")
    with_value = bool(int_attr(op, "with_value"))

    def body(block, ftype):
        seed = ops.constant(1.0, to_dtype(ir.RankedTensorType(ftype.results[0]).element_type))
        outs, grads = emit_vjp(module_op, callee, list(block.arguments), argnums, num_aux, [seed])
        return grads + (outs[:1] if with_value else []) + outs[1:]
    return _expand(op, callee, module_op, "_grad",
                   lambda ftype: grad_type(ftype, argnums, num_aux, with_value), body)


def expand_linear_transpose(op: ir.Operation, callee, module_op) -> str:
    """f linear in its arguments `linear` -> (the other arguments..., cotangents of f's results...)
    -> cotangents of the `linear` arguments: f's ops that do not depend on them are emitted
    (recomputed: they are what a checkpointed function or a loop body recomputes), the rest
    transposed."""
    linear = int_array(op, "linear")
    ftype = U.function_type(callee)
    inputs, results = list(ftype.inputs), list(ftype.results)
    if sorted(set(linear)) != sorted(linear) or any(not 0 <= i < len(inputs) for i in linear):
        raise TransformError(f"linear_transpose: linear {list(linear)} must name distinct inputs of "
                             f"@{U.symbol_name(callee)}, which has {len(inputs)}")
    others = [i for i in range(len(inputs)) if i not in linear]

    def body(block, _):
        args = U.entry_block(callee).arguments
        env = {args[i]: block.arguments[k] for k, i in enumerate(others)}
        touts = list(U.body_ops(callee)[-1].operands)
        env, ct = _partial_eval_and_transpose(callee, env, [args[i] for i in linear], touts,
                                              list(block.arguments[len(others):]), U.symbol_name(callee))
        return [_zero_if_none(ct.get(args[i]), args[i]) for i in linear]
    return _expand(op, callee, module_op, "_transpose",
                   lambda _: ir.FunctionType.get([inputs[i] for i in others] + results, [inputs[i] for i in linear]),
                   body)


EXPANDERS = {"tfn.jvp": expand_jvp, "tfn.vjp": expand_vjp, "tfn.grad": expand_grad,
             "tfn.linear_transpose": expand_linear_transpose}


NAME = "tfn-autodiff"
DESCRIPTION = "Expand tfn.grad, tfn.vjp, tfn.jvp and tfn.linear_transpose into new tfn functions"


def run(module_op: ir.Operation) -> None:
    from tfn.passes.expand_transforms import expand_all
    expand_all(module_op, tuple(EXPANDERS))
