"""Pass `tfn-batch`: expands tfn.vmap into a new, batched tfn function.

The callee (calls inlined) is interpreted op by op. Each value carries the
position of its batch dim, or None when it does not depend on a batched input:
ops whose operands are all unbatched are cloned unchanged (no broadcast), the
others go through their rule in BATCH_RULES. Results are moved to `out_dims`
(an unbatched result is broadcast there). No loop over the batch is emitted.

```mlir
%f = func.constant @f : (tensor<4xf32>) -> tensor<4xf32>
%v = "tfn.vmap"(%f) {in_dims = array<i64: 0>, out_dims = array<i64: 0>, batch_size = 8 : i64}
    : (...) -> ((tensor<8x4xf32>) -> tensor<8x4xf32>)
```
becomes `func.constant @f_vmap` of a function on tensor<8x4xf32>.
"""
from __future__ import annotations

from typing import Sequence

from mlir import ir
from mlir.dialects import func

from tfn import ops  # noqa: F401 - imports every op family, which registers its batching rules
from tfn.batching import rules as B
from tfn.batching.rules import BATCH_RULES
from tfn.dialect.core import int_array, int_attr
from tfn.dialect.functions import rule_name
from tfn.passes import ir_utils as U

RANDOMNESS_MODES = ("error", "different", "same")


class BatchingError(ValueError):
    """A tfn.vmap whose attributes do not fit its function."""


def _missing(op: ir.Operation, function: str):
    err = NotImplementedError(f"batching rule for '{op.name}' not implemented (batching @{function}, "
                              f"at {op.location})")
    err.location = op.location
    raise err


def batched_type(t: ir.Type, dim: int, size: int) -> ir.Type:
    """`t` with a dim of `size` inserted at `dim` (-1: unchanged)."""
    if dim < 0:
        return t
    rt = ir.RankedTensorType(t)
    shape = list(rt.shape)
    if dim > len(shape):
        raise BatchingError(f"batch dim {dim} out of range for {t}")
    shape.insert(dim, size)
    return ir.RankedTensorType.get(shape, rt.element_type)


def vmap_type(ftype: ir.FunctionType, in_dims: Sequence[int], out_dims: Sequence[int], size: int):
    inputs, results = list(ftype.inputs), list(ftype.results)
    if len(in_dims) != len(inputs):
        raise BatchingError(f"vmap: {len(in_dims)} in_dims for a function of {len(inputs)} inputs")
    if len(out_dims) != len(results):
        raise BatchingError(f"vmap: {len(out_dims)} out_dims for a function of {len(results)} results")
    return ir.FunctionType.get([batched_type(t, d, size) for t, d in zip(inputs, in_dims)],
                               [batched_type(t, d, size) for t, d in zip(results, out_dims)])


def emit_batched(callee, args: Sequence[ir.Value], bdims: Sequence[int | None]):
    """Emits callee's body on `args` (batched at `bdims`) at the current insertion point.

    Returns (results, their batch dims).
    """
    env = {a: (v, d) for a, v, d in zip(U.entry_block(callee).arguments, args, bdims)}
    ip = ir.InsertionPoint.current
    for op in U.body_ops(callee):
        if op.name == "func.return":
            return [env[v][0] for v in op.operands], [env[v][1] for v in op.operands]
        operands = [env[v] if v in env else (v, None) for v in op.operands]
        dims = [d for _, d in operands]
        if all(d is None for d in dims) and op.name not in B.ALWAYS_BATCHED:
            new = U.clone_with(op, {v: nv for v, (nv, _) in zip(op.operands, operands)}, ip)
            for old, res in zip(op.results, new.results):
                env[old] = (res, None)
            continue
        rule = BATCH_RULES.get(rule_name(op))
        if rule is None:
            _missing(op, U.symbol_name(callee))
        with op.location:
            res, d = rule(op, [v for v, _ in operands], dims)
        if op.name == "func.call_indirect":   # a call: a list of results and of their batch dims
            for old, r, d_r in zip(op.results, res, d):
                env[old] = (r, d_r)
        else:
            env[op.results[0]] = (res, d)
    raise AssertionError("function without return")


def expand_vmap(op: ir.Operation, callee, module_op) -> str:
    in_dims, out_dims = int_array(op, "in_dims"), int_array(op, "out_dims")
    size = int_attr(op, "batch_size")
    randomness = ir.StringAttr(op.attributes["randomness"]).value if "randomness" in op.attributes else "error"
    if randomness not in RANDOMNESS_MODES:
        raise BatchingError(f"vmap: randomness must be one of {RANDOMNESS_MODES}, got {randomness!r}")
    if size < 1:
        raise BatchingError(f"vmap: batch_size must be positive, got {size}")
    U.inline_calls(callee, module_op)
    ftype = U.function_type(callee)
    rtype = vmap_type(ftype, in_dims, out_dims, size)
    new, block = U.new_function(module_op, U.symbol_name(callee) + "_vmap", list(rtype.inputs),
                                list(rtype.results), op.location)
    token, size_token, memo_token = B.RANDOMNESS.set(randomness), B.BATCH_SIZE.set(size), B.MEMO.set({})
    try:
        with ir.InsertionPoint(block), op.location:
            outs, dims = emit_batched(callee, list(block.arguments), [d if d >= 0 else None for d in in_dims])
            results = []
            for j, (v, d, want) in enumerate(zip(outs, dims, out_dims)):
                if want < 0:
                    if d is not None:
                        raise BatchingError(f"vmap: result {j} depends on a batched input, so its out_dim "
                                            f"cannot be None")
                    results.append(v)
                else:
                    results.append(B.bdim_at(v, d, want, size))
            func.ReturnOp(results)
    except BaseException:
        new.erase()
        raise
    finally:
        B.RANDOMNESS.reset(token)
        B.BATCH_SIZE.reset(size_token)
        B.MEMO.reset(memo_token)
    U.dead_code_elimination(new)
    return U.symbol_name(new)


EXPANDERS = {"tfn.vmap": expand_vmap}


NAME = "tfn-batch"
DESCRIPTION = "Expand tfn.vmap into batched tfn functions"


def run(module_op: ir.Operation) -> None:
    from tfn.passes.expand_transforms import expand_all
    expand_all(module_op, tuple(EXPANDERS))
