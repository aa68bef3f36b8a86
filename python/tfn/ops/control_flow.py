"""Control flow: `switch` (n-way conditional), `while_loop` and `scan`, as function-valued ops.

Each op takes its bodies as function values and gives a function value, called with
`func.call_indirect` (the rule tables know such a call by the op that makes its callee):

    switch(b0..bn-1):           (index: i32, xs...)            -> ys...         calls b[clamp(index)]
    while_loop(cond, body):     (consts..., carry...)          -> carry...
    scan(body):                 (consts..., carry..., xs...)   -> (carry..., ys...)

Rules never look inside a body: they apply transforms to it (as transform ops that the
transform passes expand later, innermost first) and build small adapters.

- JVP. The tangent of a call is a second call of the same construct over the JVP of its
  bodies: a switch of `jvp(b_k)`; a loop whose carries are the primal carries and their
  tangents (every float carry gets one: a zero tangent need not stay zero), consts gaining
  the tangents of the differentiated consts. It recomputes the primal beside the tangents,
  so the primal call and the tangent call are separate ops: partial evaluation (reverse
  mode) keeps the first in the forward pass and transposes the second.
- Transpose, of a call linear in some operands (the tangent calls above): a switch of
  `linear_transpose(b_k)`. A loop linear in some carries, whose other carries and predicate
  do not depend on them (true of every tangent loop), runs forward over its non-linear
  carries recording them, then backwards: each step applies the body's linear transpose
  at the recorded carries (recomputing the body's primal inside that step), accumulating
  the cotangents of linear consts. A scan records every carry (`length` is static). A
  while loop's trip count is known only at run time: it counts its steps first, then
  records a checkpoint every `s = ceil(n / slots)` steps into a fixed buffer of `slots`
  carries, and the backward step i recomputes carry i from checkpoint `i // s` (`i mod s`
  body steps). With n <= slots every carry is recorded and nothing is recomputed; beyond
  that the extra work is about n * s / 2 body steps, in memory `slots` carries. All of
  this is tfn IR, loops included, so the reverse pass can itself be differentiated again.
- Batching. An unbatched switch index keeps the switch of the batched branches; a batched
  one evaluates every branch and selects per lane. A loop's carries are batched where the
  init is or the body makes them so (a fixed point over the body's data flow); if the
  predicate is batched the loop runs while any lane runs, and finished lanes keep their
  carries (a select per lane each step).
- Lowering: `scf.if` chains, `scf.while` and `scf.for` around `func.call`s of the bodies
  (inlined by the pipeline's inliner).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import JVP_RULES, TRANSPOSE_RULES
from tfn.batching import rules as B
from tfn.batching.rules import BATCH_RULES, batch_size, bdim_at, moveaxis
from tfn.dialect import functions as F
from tfn.dialect.core import fail, int_attr
from tfn.dialect.types import shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import CALL_LOWERINGS, LazyModule, arith, builders, tensor
from tfn.ops.function_values import (Fn, adapter, call_fn, depends_on, fn_of, float_positions, jvp_function,
                                     lane_any, linear_transpose, placed, ref, scalar, select_lanes,
                                     vmap_value, zeros)

scf = LazyModule("mlir.dialects.scf")
bufferization = LazyModule("mlir.dialects.bufferization")

CONTROL_FLOW_OPS = ("switch", "while_loop", "scan")

# Carries a while loop's reverse pass records before it recomputes (see the module docstring).
WHILE_CHECKPOINT_SLOTS = 256


def _rem(i: ir.Value, d: ir.Value) -> ir.Value:
    """i mod d for nonnegative int32 scalars."""
    return ops.sub(i, ops.mul(ops.div(i, d), d))


def _row_start(row: ir.Value, like: ir.Value, skip: int = 0) -> ir.Value:
    """Start indices (row, 0, ...) of a window of `like`'s rank (minus `skip`) plus one."""
    rank = len(shape_of(like)) + 1 - skip
    return ops.concatenate(ops.reshape(row, [1]), ops.full([rank - 1], 0, np.int32), 0) if rank > 1 \
        else ops.reshape(row, [1])


def _i32_scalar() -> ir.Type:
    return ir.RankedTensorType.get([], ir.IntegerType.get_signless(32))


def _bool_scalar() -> ir.Type:
    return ir.RankedTensorType.get([], ir.IntegerType.get_signless(1))


def _stacked(t: ir.Type, length: int) -> ir.Type:
    rt = ir.RankedTensorType(t)
    return ir.RankedTensorType.get([length] + list(rt.shape), rt.element_type)


def _unstacked(t: ir.Type) -> ir.Type:
    rt = ir.RankedTensorType(t)
    return ir.RankedTensorType.get(list(rt.shape)[1:], rt.element_type)


def _types(ts) -> str:
    return ", ".join(str(t) for t in ts)


# ---------------------------------------------------------------- builders

def switch(branches: Sequence[ir.Value]) -> ir.Value:
    """The function (index: tensor<i32>, xs...) -> ys calling branches[clamp(index, 0, n-1)]."""
    if not branches:
        fail("switch", "needs at least one branch")
    ftype = ir.FunctionType(branches[0].type)
    for k, b in enumerate(branches[1:], 1):
        if b.type != branches[0].type:
            fail("switch", f"branch {k} has type {b.type}, branch 0 has type {branches[0].type}; all "
                           "branches must have one type")
    rtype = ir.FunctionType.get([_i32_scalar()] + list(ftype.inputs), list(ftype.results))
    return F.function_op("switch", branches, rtype)


def while_loop(cond: ir.Value, body: ir.Value, num_consts: int) -> ir.Value:
    """The function (consts..., carry...) -> carry... repeating body while cond holds."""
    ct, bt = ir.FunctionType(cond.type), ir.FunctionType(body.type)
    inputs = list(bt.inputs)
    if not 0 <= num_consts <= len(inputs):
        fail("while_loop", f"num_consts {num_consts} out of range for a body of {len(inputs)} inputs")
    if list(ct.inputs) != inputs:
        fail("while_loop", f"cond takes ({_types(ct.inputs)}) but body takes ({_types(inputs)}); they must match")
    if list(ct.results) != [_bool_scalar()]:
        fail("while_loop", f"cond must return one tensor<i1>, got ({_types(ct.results)})")
    if list(bt.results) != inputs[num_consts:]:
        fail("while_loop", f"body returns ({_types(bt.results)}) but its carries are "
                           f"({_types(inputs[num_consts:])}); they must match")
    return F.function_op("while_loop", [cond, body], ir.FunctionType.get(inputs, inputs[num_consts:]),
                         {"num_consts": F.i64(num_consts)})


def scan(body: ir.Value, num_consts: int, num_carry: int, length: int, reverse: bool = False) -> ir.Value:
    """The function (consts..., carry..., xs...) -> (carry..., ys...) running body over the
    leading dim (`length`) of xs, last slice first when `reverse`."""
    bt = ir.FunctionType(body.type)
    inputs, results = list(bt.inputs), list(bt.results)
    if num_consts < 0 or num_carry < 0 or num_consts + num_carry > len(inputs) or num_carry > len(results):
        fail("scan", f"num_consts {num_consts} and num_carry {num_carry} do not fit a body of type {bt}")
    if length < 0:
        fail("scan", f"length must be >= 0, got {length}")
    carry = inputs[num_consts:num_consts + num_carry]
    if results[:num_carry] != carry:
        fail("scan", f"body returns carries ({_types(results[:num_carry])}) but takes ({_types(carry)}); "
                     "they must match")
    xs = [_stacked(t, length) for t in inputs[num_consts + num_carry:]]
    ys = [_stacked(t, length) for t in results[num_carry:]]
    rtype = ir.FunctionType.get(inputs[:num_consts + num_carry] + xs, carry + ys)
    return F.function_op("scan", [body], rtype, {
        "num_consts": F.i64(num_consts), "num_carry": F.i64(num_carry), "length": F.i64(length),
        "reverse": F.i64(int(bool(reverse)))})


SHAPE_RULES["tfn.switch"] = lambda op, *branches: switch(branches)
SHAPE_RULES["tfn.while_loop"] = lambda op, cond, body: while_loop(cond, body, int_attr(op, "num_consts"))
SHAPE_RULES["tfn.scan"] = lambda op, body: scan(body, int_attr(op, "num_consts"), int_attr(op, "num_carry"),
                                                int_attr(op, "length"), bool(int_attr(op, "reverse")))


def _callee(call: ir.Operation) -> ir.Operation:
    return F.callee_op(call)


def _randomness() -> str:
    return B.RANDOMNESS.get()


def _always_batched(op: ir.Operation) -> bool:
    return op.name in B.ALWAYS_BATCHED


# ---------------------------------------------------------------- switch

def _jvp_switch(call, operands, tangents):
    index, xs, ts = operands[1], operands[2:], tangents[2:]
    argnums = [i for i, t in enumerate(ts) if t is not None]
    branches = [fn_of(b) for b in _callee(call).operands]
    jvps = [jvp_function(b, argnums) for b in branches]
    floats = jvps[0][1]
    n = len(call.results)
    outs = F.call(switch([ref(j) for j, _ in jvps]), [index] + list(xs) + [ts[i] for i in argnums])
    return placed(n, floats, outs[n:])


def _transpose_switch(call, cts, operands, linear):
    assert not linear[0] and not linear[1], "a switch is not linear in its branches or index"
    xs_linear = linear[2:]
    lin = [i for i, m in enumerate(xs_linear) if m]
    branches = list(operands[0].owner.operands)
    transposed = switch([linear_transpose(b, lin) for b in branches])
    others = [v for v, m in zip(operands[2:], xs_linear) if not m]
    rtypes = ir.FunctionType(branches[0].type).results
    cts = [c if c is not None else zeros(t) for c, t in zip(cts, rtypes)]
    out = F.call(transposed, [operands[1]] + others + cts)
    return [None, None] + placed(len(xs_linear), lin, out)


def _batch_switch(call, operands, bdims):
    size = batch_size(operands, bdims)
    index, xs, d_index, dxs = operands[1], operands[2:], bdims[1], bdims[2:]
    branches = list(operands[0].owner.operands)
    n_out = len(call.results)
    batched = [vmap_value(b, dxs, [0] * n_out, size, _randomness()) for b in branches]
    if d_index is None:
        return F.call(switch(batched), [index] + list(xs)), [0] * n_out
    # A batched index: every branch runs on every lane, and each lane keeps its branch's results.
    outs = [F.call(b, list(xs)) for b in batched]
    idx = moveaxis(index, d_index, 0)
    idx = ops.max(ops.min(idx, ops.full([size], len(branches) - 1, np.int32)), ops.full([size], 0, np.int32))
    results = []
    for j in range(n_out):
        r = outs[-1][j]
        for k in reversed(range(len(branches) - 1)):
            r = select_lanes(ops.compare("eq", idx, ops.full([size], k, np.int32)), outs[k][j], r)
        results.append(r)
    return results, [0] * n_out


def _lower_switch(call, callee, args):
    index, xs = args[0], list(args[1:])
    names = [F.referenced_name(b) for b in callee.operands]
    ftype = ir.FunctionType(callee.operands[0].type)
    i32 = ir.IntegerType.get_signless(32)
    i = tensor.extract(index, [])
    result_types = list(ftype.results)
    # Every branch writes its results into buffers made before the chain: an scf.if whose
    # branches yield fresh buffers makes the deallocation passes track ownership through i1
    # memrefs, which LLVM cannot store.
    dests = [bufferization.AllocTensorOp(t, []).result for t in result_types]

    def branch(k: int) -> list[ir.Value]:
        if k == len(names) - 1:
            return _in_place(F.call_named(names[k], ftype, xs), dests)
        # index <= k picks branch k here (the chain tests 0, 1, ... in order): clamps below 0 too.
        take = arith.cmpi(arith.CmpIPredicate.sle, i, arith.constant(i32, k))
        if_op = scf.IfOp(take, result_types, has_else=True)
        with ir.InsertionPoint(if_op.then_block):
            scf.YieldOp(_in_place(F.call_named(names[k], ftype, xs), dests))
        with ir.InsertionPoint(if_op.else_block):
            scf.YieldOp(branch(k + 1))
        return list(if_op.results)
    return branch(0)


JVP_RULES["tfn.switch"] = _jvp_switch
TRANSPOSE_RULES["tfn.switch"] = _transpose_switch
BATCH_RULES["tfn.switch"] = _batch_switch
CALL_LOWERINGS["tfn.switch"] = _lower_switch


# ---------------------------------------------------------------- loops: shared pieces

def _loop_jvp_body(body: Fn, n_consts: int, consts_diff: Sequence[int], carry_float: Sequence[int],
                   n_carry: int, xs_diff: Sequence[int] = ()) -> Fn:
    """The body of a tangent loop: (consts, tangents of consts_diff | carry, tangents of the
    float carries | xs, tangents of xs_diff) -> (carry', their tangents | ys, tangents of float ys)."""
    inputs = list(body[1].inputs)
    n_xs = len(inputs) - n_consts - n_carry
    argnums = (list(consts_diff) + [n_consts + k for k in carry_float]
               + [n_consts + n_carry + k for k in xs_diff])
    jvp, floats = jvp_function(body, argnums)
    n_cd, n_cf = len(consts_diff), len(carry_float)
    n_res = len(body[1].results)
    ys_floats = [j - n_carry for j in floats if j >= n_carry]
    consts_t = inputs[:n_consts]
    carry_t = inputs[n_consts:n_consts + n_carry]
    xs_t = inputs[n_consts + n_carry:]
    arg_types = (consts_t + [consts_t[i] for i in consts_diff] + carry_t + [carry_t[k] for k in carry_float]
                 + xs_t + [xs_t[k] for k in xs_diff])

    def emit(*a):
        a = list(a)
        cs, tcs = a[:n_consts], a[n_consts:n_consts + n_cd]
        at = n_consts + n_cd
        ks, tks = a[at:at + n_carry], a[at + n_carry:at + n_carry + n_cf]
        at += n_carry + n_cf
        xs, txs = a[at:at + n_xs], a[at + n_xs:]
        outs = call_fn(jvp, cs + ks + xs + tcs + tks + txs)
        ys, touts = outs[:n_res], outs[n_res:]
        t_of = dict(zip(floats, touts))
        return (ys[:n_carry] + [t_of[k] for k in carry_float] + ys[n_carry:]
                + [t_of[n_carry + j] for j in ys_floats])
    return adapter(body[0] + "_tangent_step", arg_types, emit)


def _projected(body: Fn, keep_inputs: Sequence[int], keep_results: Sequence[int], name: str) -> Fn:
    """body on the inputs `keep_inputs` only (zeros for the others), returning `keep_results`."""
    inputs = list(body[1].inputs)

    def emit(*a):
        full = [zeros(t) for t in inputs]
        for i, v in zip(keep_inputs, a):
            full[i] = v
        outs = call_fn(body, full)
        return [outs[j] for j in keep_results]
    return adapter(body[0] + name, [inputs[i] for i in keep_inputs], emit)


def _fixed_point_batched(body: Fn, consts_batched: Sequence[bool], carry_batched: Sequence[bool],
                         n_consts: int, xs_batched: Sequence[bool] = ()) -> list[bool]:
    """Which carries are batched: those batched at the start, and those the body makes batched."""
    carry = list(carry_batched)
    while True:
        out = depends_on(body, list(consts_batched) + carry + list(xs_batched), _always_batched)
        new = [c or o for c, o in zip(carry, out[:len(carry)])]
        if new == carry:
            return carry
        carry = new


def _linear_positions(body: Fn, linear: Sequence[bool], n_consts: int, n_carry: int) -> list[int]:
    """The operands of a loop call that are linear: those given (after the callee), and the
    carries the body makes depend on them: a tangent carry whose start is a zero constant
    is linear all the same (a fixed point over the body's data flow)."""
    lin = list(linear)
    while True:
        out = depends_on(body, lin)
        grown = list(lin)
        for k in range(n_carry):
            grown[n_consts + k] = lin[n_consts + k] or out[k]
        if grown == lin:
            return [i for i, m in enumerate(lin) if m]
        lin = grown


# ---------------------------------------------------------------- while_loop

def _while_parts(call):
    loop = _callee(call)
    return fn_of(loop.operands[0]), fn_of(loop.operands[1]), int_attr(loop, "num_consts")


def _jvp_while(call, operands, tangents):
    cond, body, nc = _while_parts(call)
    consts, carry = list(operands[1:1 + nc]), list(operands[1 + nc:])
    tc, tk = tangents[1:1 + nc], tangents[1 + nc:]
    consts_diff = [i for i in range(nc) if tc[i] is not None]
    carry_types = [v.type for v in carry]
    carry_float = float_positions(carry_types)
    step = _loop_jvp_body(body, nc, consts_diff, carry_float, len(carry))
    n_cd = len(consts_diff)
    ctypes = [v.type for v in consts]
    cond2 = adapter(cond[0] + "_tangent_cond",
                    ctypes + [ctypes[i] for i in consts_diff] + carry_types + [carry_types[k] for k in carry_float],
                    lambda *a: call_fn(cond, list(a[:nc]) + list(a[nc + n_cd:nc + n_cd + len(carry)])))
    loop = while_loop(ref(cond2), ref(step), nc + n_cd)
    init_t = [tk[k] if tk[k] is not None else zeros(carry_types[k]) for k in carry_float]
    outs = F.call(loop, consts + [tc[i] for i in consts_diff] + carry + init_t)
    return placed(len(carry), carry_float, outs[len(carry):])


def _transpose_while(call, cts, operands, linear):
    """See the module docstring: count, checkpoint, then step backwards through the body's transpose."""
    loop = operands[0].owner
    cond, body = fn_of(loop.operands[0]), fn_of(loop.operands[1])
    nc = int_attr(loop, "num_consts")
    args = operands[1:]
    n = len(args)
    lin = _linear_positions(body, linear[1:], nc, n - nc)
    nl = [i for i in range(n) if i not in lin]
    nl_consts, nl_carry = [i for i in nl if i < nc], [i for i in nl if i >= nc]
    lin_consts, lin_carry = [i for i in lin if i < nc], [i for i in lin if i >= nc]
    inputs = list(body[1].inputs)
    nk = n - nc
    # The loop restricted to its non-linear carries (the linear ones do not affect them).
    step = _projected(body, nl_consts + nl_carry, [i - nc for i in nl_carry], "_primal_step")
    test = _projected(cond, nl_consts + nl_carry, [0], "_primal_cond")
    consts_v = [args[i] for i in nl_consts]
    carry_v = [args[i] for i in nl_carry]
    consts_t = [inputs[i] for i in nl_consts]
    carry_t = [inputs[i] for i in nl_carry]
    i32 = _i32_scalar()
    ncs = len(nl_consts)

    # 1. the trip count
    def count_cond(*a):
        return call_fn(test, list(a[:ncs]) + list(a[ncs + 1:]))

    def count_body(*a):
        return [ops.add(a[ncs], scalar(1))] + call_fn(step, list(a[:ncs]) + list(a[ncs + 1:]))
    counter = while_loop(ref(adapter(body[0] + "_count_cond", consts_t + [i32] + carry_t, count_cond)),
                         ref(adapter(body[0] + "_count", consts_t + [i32] + carry_t, count_body)), ncs)
    trips = F.call(counter, consts_v + [scalar(0)] + carry_v)[0]
    slots = WHILE_CHECKPOINT_SLOTS
    stride = ops.max(ops.div(ops.add(trips, scalar(slots - 1)), scalar(slots)), scalar(1))

    # 2. checkpoints: carry i into slot i // stride when i % stride == 0
    buffers_t = [_stacked(t, slots + 1) for t in carry_t]

    def record_cond(*a):
        return [ops.compare("lt", a[ncs + 2], a[ncs])]   # i < trips

    def record_body(*a):
        cs, (trips_, stride_, i), rest = list(a[:ncs]), a[ncs:ncs + 3], list(a[ncs + 3:])
        carry, bufs = rest[:len(carry_t)], rest[len(carry_t):]
        # Carry i goes to slot ceil(i / stride): its checkpoint when i is on the stride, else the
        # next slot, which the next checkpoint overwrites (or the spare slot after the last one).
        slot = ops.div(ops.add(i, ops.sub(stride_, scalar(1))), stride_)
        new_bufs = [ops.dynamic_update_slice(buf, ops.reshape(c, [1] + list(shape_of(c))), _row_start(slot, c))
                    for c, buf in zip(carry, bufs)]
        return [trips_, stride_, ops.add(i, scalar(1))] + call_fn(step, cs + carry) + new_bufs
    rec_types = consts_t + [i32, i32, i32] + carry_t + buffers_t
    recorder = while_loop(ref(adapter(body[0] + "_record_cond", rec_types, record_cond)),
                          ref(adapter(body[0] + "_record", rec_types, record_body)), ncs)
    recorded = F.call(recorder, consts_v + [trips, stride, scalar(0)] + carry_v + [zeros(t) for t in buffers_t])
    buffers = recorded[3 + len(carry_t):]

    # 3. carry i: checkpoint i // stride, stepped i % stride times
    def replay(cs, bufs, i, stride_):
        slot = ops.div(i, stride_)
        start = [ops.reshape(ops.dynamic_slice(b, _row_start(slot, b, 1), [1] + list(shape_of(b)[1:])),
                             shape_of(b)[1:]) for b in bufs]
        steps = _rem(i, stride_)
        stepper = while_loop(
            ref(adapter(body[0] + "_replay_cond", consts_t + [i32, i32] + carry_t,
                        lambda *a: [ops.compare("lt", a[ncs], a[ncs + 1])])),
            ref(adapter(body[0] + "_replay", consts_t + [i32, i32] + carry_t,
                        lambda *a: [ops.add(a[ncs], scalar(1)), a[ncs + 1]]
                        + call_fn(step, list(a[:ncs]) + list(a[ncs + 2:])))), ncs)
        return F.call(stepper, list(cs) + [scalar(0), steps] + start)[2:]

    # 4. backwards: i = trips-1 .. 0, through the body's transpose at carry i
    out_types = list(body[1].results)
    ct_carry_t = [inputs[i] for i in lin_carry]
    ct_consts_t = [inputs[i] for i in lin_consts]

    def back_cond(*a):
        return [ops.compare("ge", a[ncs + len(buffers_t)], scalar(0))]

    def back_body(*a):
        a = list(a)
        cs, bufs = a[:ncs], a[ncs:ncs + len(buffers_t)]
        at = ncs + len(buffers_t)
        i, stride_ = a[at], a[at + 1]
        ct_k, ct_c = a[at + 2:at + 2 + len(lin_carry)], a[at + 2 + len(lin_carry):]
        carry = replay(cs, bufs, i, stride_)
        full_nl = dict(zip(nl_consts, cs))
        full_nl.update(zip(nl_carry, carry))
        # cotangents of every body result: the linear carries' from the step after, zeros elsewhere
        ct_out = [zeros(t) for t in out_types]
        for k, c in zip(lin_carry, ct_k):
            ct_out[k - nc] = c
        transposed = F.call(linear_transpose(ref(body), lin),
                            [full_nl[j] for j in range(n) if j not in lin] + ct_out)
        got = dict(zip(lin, transposed))
        return ([ops.sub(i, scalar(1)), stride_] + [got[k] for k in lin_carry]
                + [ops.add(c, got[j]) for c, j in zip(ct_c, lin_consts)])
    back_types = consts_t + buffers_t + [i32, i32] + ct_carry_t + ct_consts_t
    backward = while_loop(ref(adapter(body[0] + "_back_cond", back_types, back_cond)),
                          ref(adapter(body[0] + "_back", back_types, back_body)), ncs + len(buffers_t))
    seed_k = [cts[k - nc] if cts[k - nc] is not None else zeros(inputs[k]) for k in lin_carry]
    outs = F.call(backward, consts_v + list(buffers) + [ops.sub(trips, scalar(1)), stride] + seed_k
                  + [zeros(t) for t in ct_consts_t])
    got = dict(zip(lin_carry + lin_consts, outs[2:]))
    return [None] + [got.get(i) for i in range(n)]


def _batch_while(call, operands, bdims):
    cond, body, nc = _while_parts(call)
    size = batch_size(operands, bdims)
    consts, carry = list(operands[1:1 + nc]), list(operands[1 + nc:])
    dc, dk = list(bdims[1:1 + nc]), list(bdims[1 + nc:])
    carry_b = _fixed_point_batched(body, [d is not None for d in dc], [d is not None for d in dk], nc)
    pred_b = depends_on(cond, [d is not None for d in dc] + carry_b, _always_batched)[0]
    if pred_b:   # lanes finish at different steps: every carry is per lane
        carry_b = [True] * len(carry)
    carry = [bdim_at(v, d, 0, size) if b else v for v, d, b in zip(carry, dk, carry_b)]
    in_dims = dc + [0 if b else None for b in carry_b]
    vcond = lambda: vmap_value(ref(cond), in_dims, [0 if pred_b else None], size, _randomness())  # noqa: E731
    vbody = lambda: vmap_value(ref(body), in_dims, [0 if b else None for b in carry_b], size,  # noqa: E731
                               _randomness())
    ctypes = [v.type for v in consts]
    ktypes = [v.type for v in carry]
    if not pred_b:
        new_cond = adapter(cond[0] + "_vmap_cond", ctypes + ktypes, lambda *a: F.call(vcond(), list(a)))
        new_body = adapter(body[0] + "_vmap_body", ctypes + ktypes, lambda *a: F.call(vbody(), list(a)))
    else:
        new_cond = adapter(cond[0] + "_any_lane", ctypes + ktypes, lambda *a: [lane_any(F.call(vcond(), list(a))[0])])

        def masked(*a):
            a = list(a)
            running = F.call(vcond(), a)[0]
            stepped = F.call(vbody(), a)
            return [select_lanes(running, new, old) for new, old in zip(stepped, a[nc:])]
        new_body = adapter(body[0] + "_masked_body", ctypes + ktypes, masked)
    outs = F.call(while_loop(ref(new_cond), ref(new_body), nc), consts + carry)
    return outs, [0 if b else None for b in carry_b]


def _in_place(values: Sequence[ir.Value], carried: Sequence[ir.Value]) -> list[ir.Value]:
    """Each new carry written into the buffer of the carry it replaces: a loop then yields
    what it received, and bufferizes without a fresh allocation per step (whose ownership
    tracking the deallocation passes would need, through i1 memrefs LLVM cannot store)."""
    return [bufferization.MaterializeInDestinationOp(v.type, v, c).result for v, c in zip(values, carried)]


def _own_copies(values: Sequence[ir.Value]) -> list[ir.Value]:
    """A fresh copy of each loop init: carries updated in place must not share a buffer
    (CSE merges equal constants, e.g. two zero-filled checkpoint buffers)."""
    return [bufferization.AllocTensorOp(v.type, [], copy=v).result for v in values]


def _lower_while(call, callee, args):
    cond, body = (F.referenced_name(v) for v in callee.operands)
    ctype, btype = (ir.FunctionType(v.type) for v in callee.operands)
    nc = int_attr(callee, "num_consts")
    consts, inits = list(args[:nc]), list(args[nc:])
    types = [v.type for v in inits]
    loop = scf.WhileOp(types, _own_copies(inits))
    before = loop.before.blocks.append(*types)
    after = loop.after.blocks.append(*types)
    with ir.InsertionPoint(before):
        holds = F.call_named(cond, ctype, consts + list(before.arguments))[0]
        scf.ConditionOp(tensor.extract(holds, []), list(before.arguments))
    with ir.InsertionPoint(after):
        scf.YieldOp(_in_place(F.call_named(body, btype, consts + list(after.arguments)), list(after.arguments)))
    return list(loop.results)


JVP_RULES["tfn.while_loop"] = _jvp_while
TRANSPOSE_RULES["tfn.while_loop"] = _transpose_while
BATCH_RULES["tfn.while_loop"] = _batch_while
CALL_LOWERINGS["tfn.while_loop"] = _lower_while


# ---------------------------------------------------------------- scan

def _scan_parts(loop):
    return (fn_of(loop.operands[0]), int_attr(loop, "num_consts"), int_attr(loop, "num_carry"),
            int_attr(loop, "length"), bool(int_attr(loop, "reverse")))


def _jvp_scan(call, operands, tangents):
    body, nc, nk, length, reverse = _scan_parts(_callee(call))
    args, targs = list(operands[1:]), tangents[1:]
    consts, carry, xs = args[:nc], args[nc:nc + nk], args[nc + nk:]
    tc, tk, tx = targs[:nc], targs[nc:nc + nk], targs[nc + nk:]
    consts_diff = [i for i in range(nc) if tc[i] is not None]
    xs_diff = [i for i in range(len(xs)) if tx[i] is not None]
    carry_types = [v.type for v in carry]
    carry_float = float_positions(carry_types)
    step = _loop_jvp_body(body, nc, consts_diff, carry_float, nk, xs_diff)
    loop = scan(ref(step), nc + len(consts_diff), nk + len(carry_float), length, reverse)
    init_t = [tk[k] if tk[k] is not None else zeros(carry_types[k]) for k in carry_float]
    outs = F.call(loop, consts + [tc[i] for i in consts_diff] + carry + init_t + xs + [tx[i] for i in xs_diff])
    ys_types = list(body[1].results)[nk:]
    ys_float = float_positions(ys_types)
    n_y = len(ys_types)
    at = nk + len(carry_float) + n_y
    return placed(nk, carry_float, outs[nk:]) + placed(n_y, ys_float, outs[at:])


def _transpose_scan(call, cts, operands, linear):
    """Forward over the non-linear carries recording each step's carries, then a reverse scan
    of the body's transpose (see the module docstring)."""
    loop = operands[0].owner
    body, nc, nk, length, reverse = _scan_parts(loop)
    args = operands[1:]
    n = len(args)
    inputs = list(body[1].inputs)
    results = list(body[1].results)
    lin = _linear_positions(body, linear[1:], nc, nk)
    nl = [i for i in range(n) if i not in lin]
    nl_consts = [i for i in nl if i < nc]
    nl_carry = [i for i in nl if nc <= i < nc + nk]
    nl_xs = [i for i in nl if i >= nc + nk]
    lin_consts = [i for i in lin if i < nc]
    lin_carry = [i for i in lin if nc <= i < nc + nk]
    lin_xs = [i for i in lin if i >= nc + nk]
    ncs = len(nl_consts)

    # 1. forward: the non-linear carries, each step's input carries stacked as ys
    step = _projected(body, nl_consts + nl_carry + nl_xs, [i - nc for i in nl_carry], "_primal_step")

    def record(*a):
        a = list(a)
        carry = a[ncs:ncs + len(nl_carry)]
        return call_fn(step, a) + carry
    recorder = scan(ref(adapter(body[0] + "_record", [inputs[i] for i in nl_consts + nl_carry + nl_xs], record)),
                    ncs, len(nl_carry), length, reverse)
    recorded = F.call(recorder, [args[i] for i in nl_consts + nl_carry + nl_xs])
    tape = recorded[len(nl_carry):]

    # 2. backwards: carry = (cotangents of the linear carries, sums of the linear consts')
    ct_carry_t = [inputs[i] for i in lin_carry]
    ct_consts_t = [inputs[i] for i in lin_consts]
    n_ys = len(results) - nk

    def back(*a):
        a = list(a)
        cs = a[:ncs]
        at = ncs
        ct_k = a[at:at + len(lin_carry)]
        at += len(lin_carry)
        ct_c = a[at:at + len(lin_consts)]
        at += len(lin_consts)
        carry = a[at:at + len(nl_carry)]
        at += len(nl_carry)
        xs = a[at:at + len(nl_xs)]
        ct_y = a[at + len(nl_xs):]
        known = dict(zip(nl_consts, cs))
        known.update(zip(nl_carry, carry))
        known.update(zip(nl_xs, xs))
        ct_out = [zeros(t) for t in results]
        for k, c in zip(lin_carry, ct_k):
            ct_out[k - nc] = c
        for j in range(n_ys):
            ct_out[nk + j] = ct_y[j]
        got = dict(zip(lin, F.call(linear_transpose(ref(body), lin),
                                   [known[j] for j in range(n) if j not in lin] + ct_out)))
        return ([got[k] for k in lin_carry] + [ops.add(c, got[j]) for c, j in zip(ct_c, lin_consts)]
                + [got[x] for x in lin_xs])
    back_types = ([inputs[i] for i in nl_consts] + ct_carry_t + ct_consts_t + [inputs[i] for i in nl_carry]
                  + [inputs[i] for i in nl_xs] + results[nk:])
    backward = scan(ref(adapter(body[0] + "_back", back_types, back)), ncs, len(lin_carry) + len(lin_consts),
                    length, not reverse)
    ct_ys = [c if c is not None else zeros(r.type) for c, r in zip(cts[nk:], list(call.results)[nk:])]
    seed_k = [cts[k - nc] if cts[k - nc] is not None else zeros(inputs[k]) for k in lin_carry]
    outs = F.call(backward, [args[i] for i in nl_consts] + seed_k + [zeros(t) for t in ct_consts_t] + list(tape)
                  + [args[i] for i in nl_xs] + ct_ys)
    got = dict(zip(lin_carry + lin_consts + lin_xs, outs))
    return [None] + [got.get(i) for i in range(n)]


def _batch_scan(call, operands, bdims):
    body, nc, nk, length, reverse = _scan_parts(_callee(call))
    size = batch_size(operands, bdims)
    args, dims = list(operands[1:]), list(bdims[1:])
    consts, carry, xs = args[:nc], args[nc:nc + nk], args[nc + nk:]
    dc, dk, dx = dims[:nc], dims[nc:nc + nk], dims[nc + nk:]
    # xs are batched behind their leading (scanned) dim, so each slice is batched at 0.
    xs = [bdim_at(v, d, 1, size) if d is not None else v for v, d in zip(xs, dx)]
    x_b = [d is not None for d in dx]
    carry_b = _fixed_point_batched(body, [d is not None for d in dc], [d is not None for d in dk], nc, x_b)
    carry = [bdim_at(v, d, 0, size) if b else v for v, d, b in zip(carry, dk, carry_b)]
    n_y = len(call.results) - nk
    in_dims = dc + [0 if b else None for b in carry_b] + [0 if b else None for b in x_b]
    out_dims = [0 if b else None for b in carry_b] + [0] * n_y
    vbody = vmap_value(ref(body), in_dims, out_dims, size, _randomness())
    outs = F.call(scan(vbody, nc, nk, length, reverse), consts + carry + xs)
    return outs, [0 if b else None for b in carry_b] + [1] * n_y


def _lower_scan(call, callee, args):
    body = F.referenced_name(callee.operands[0])
    btype = ir.FunctionType(callee.operands[0].type)
    nc, nk, length = (int_attr(callee, a) for a in ("num_consts", "num_carry", "length"))
    reverse = bool(int_attr(callee, "reverse"))
    consts, carry, xs = list(args[:nc]), list(args[nc:nc + nk]), list(args[nc + nk:])
    ys_types = [r.type for r in call.results][nk:]
    index = ir.IndexType.get()
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    ys_init = [builders.empty(list(ir.RankedTensorType(t).shape), ir.RankedTensorType(t).element_type)
               for t in ys_types]
    loop = scf.ForOp(arith.constant(index, 0), arith.constant(index, length), arith.constant(index, 1),
                     _own_copies(carry) + ys_init)
    with ir.InsertionPoint(loop.body):
        i = loop.induction_variable
        at = arith.subi(arith.constant(index, length - 1), i) if reverse else i

        def window(t):
            shape = list(ir.RankedTensorType(t).shape)
            return [dynamic] + [0] * (len(shape) - 1), [1] + shape[1:], [1] * len(shape)
        slices = []
        for x in xs:
            offsets, sizes, strides = window(x.type)
            slices.append(tensor.ExtractSliceOp(_unstacked(x.type), x, [at], [], [], offsets, sizes, strides).result)
        state = list(loop.inner_iter_args)
        outs = F.call_named(body, btype, consts + state[:nk] + slices)
        ys = []
        for y, acc in zip(outs[nk:], state[nk:]):
            offsets, sizes, strides = window(acc.type)
            ys.append(tensor.InsertSliceOp(y, acc, [at], [], [], offsets, sizes, strides).result)
        scf.YieldOp(_in_place(outs[:nk], state[:nk]) + ys)
    return list(loop.results)


JVP_RULES["tfn.scan"] = _jvp_scan
TRANSPOSE_RULES["tfn.scan"] = _transpose_scan
BATCH_RULES["tfn.scan"] = _batch_scan
CALL_LOWERINGS["tfn.scan"] = _lower_scan
