"""The `tfn-lower-to-linalg` pass: every tfn tensor op -> linalg/tensor/arith/math.

The lowering of each op is registered beside its other rules by its family module in
`tfn.ops`, in the table `tfn.lowering.rules.LOWERINGS` (op name -> `(op, *operands) ->
ir.Value`); this module walks a module and calls them, then stores bools as bytes.
"""
from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

from tfn import ops  # noqa: F401 - imports every op family, which registers its lowerings
from tfn.lowering import rules
from tfn.lowering.builders import empty
from tfn.dialect import functions as F
from tfn.dialect.functions import rule_name
from tfn.lowering.rules import CALL_LOWERINGS, LOWERINGS, TARGET
from tfn.passes.ir_utils import find_ops

# What the rules build with (linalg's opdsl import, ~0.1 s, is paid here, before any compile is timed).
rules.import_modules()


def lower_op(op: ir.Operation) -> None:
    rule = LOWERINGS.get(op.name)
    if rule is None:
        err = NotImplementedError(f"no lowering for '{op.name}' (run the transform passes first?)")
        err.location = op.location  # reported at the op, not the module
        raise err
    with ir.InsertionPoint(op), op.location:
        out = ir.RankedTensorType(op.result.type)
        if 0 in out.shape:
            # Nothing to compute, and nothing must be read: a slice of a zero-size dim at
            # any offset is out of bounds for tensor.extract_slice's verifier, and a
            # gather would load from an empty buffer.
            new = empty(list(out.shape), out.element_type)
        else:
            try:
                new = rule(op, *op.operands)
            except Exception as e:
                # Whoever reports it (tfn.runtime.errors) names the op and the user's line.
                if not isinstance(getattr(e, "location", None), ir.Location):
                    e.location = op.location
                e.failing_op = (f"{op.name} : ({', '.join(str(v.type) for v in op.operands)}) -> "
                                f"{op.result.type}")
                raise
    op.result.replace_all_uses_with(new)
    op.erase()


def lower_call(call: ir.Operation) -> None:
    """A call of a control-flow (or custom-derivative) function value -> scf ops and func.calls."""
    callee = F.callee_op(call)
    with ir.InsertionPoint(call), call.location:
        try:
            results = CALL_LOWERINGS[callee.name](call, callee, list(call.operands)[1:])
        except Exception as e:
            if not isinstance(getattr(e, "location", None), ir.Location):
                e.location = call.location
            raise
    for old, new in zip(call.results, results):
        old.replace_all_uses_with(new)
    call.erase()


def _distinct(ops) -> list[ir.Operation]:
    """The ops, each once, in order (the bindings give one Python object per live op)."""
    seen: list[ir.Operation] = []
    for op in ops:
        op = op.operation if hasattr(op, "operation") else op
        if not any(op == other for other in seen):
            seen.append(op)
    return seen


def lower_to_linalg(module_op: ir.Operation, target: str = "cpu") -> None:
    """Rewrites every tfn op under `module_op` (a builtin.module) into upstream dialects.

    `target` ("cpu" or "cuda") picks the form of the few lowerings that differ (scatter:
    a sequential loop on the CPU, a parallel form on the GPU, where a loop would run on the host).
    """
    if target not in ("cpu", "cuda"):
        raise ValueError(f"target must be 'cpu' or 'cuda', got {target!r}")
    token = TARGET.set(target)
    try:
        calls = find_ops(module_op, lambda op: op.name == "func.call_indirect" and rule_name(op) in CALL_LOWERINGS)
        function_ops = _distinct(F.callee_op(c) for c in calls)
        for call in calls:
            lower_call(call)
        # The function values are called directly now: the ops that made them go, and then the
        # func.constants nothing uses any more (a value may be called, or an operand, twice).
        constants = _distinct(v.owner for op in function_ops for v in op.operands if v.owner.name == "func.constant")
        for op in function_ops + constants:
            if all(False for _ in op.result.uses):
                op.erase()
        for op in find_ops(module_op, lambda op: op.name.startswith("tfn.")):
            lower_op(op)
    finally:
        TARGET.reset(token)
    store_bools_as_bytes(module_op)


# ---------------------------------------------------------------- bool storage

def _is_bool_tensor(t: ir.Type) -> bool:
    if not isinstance(t, ir.RankedTensorType):
        return False
    e = t.element_type  # compared by class and width: printing the type cost ~3 us per value
    return isinstance(e, ir.IntegerType) and e.width == 1 and e.is_signless


def _byte_tensor(t: ir.Type) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(list(ir.RankedTensorType(t).shape), ir.IntegerType.get_signless(8))


def store_bools_as_bytes(module_op: ir.Operation) -> None:
    """Retypes every `tensor<...xi1>` to `tensor<...xi8>` (0 or 1 per byte, numpy's bool layout).

    i1 memrefs do not lower to LLVM (memref.load/store of i1 assert in MemRefToLLVM),
    so bool tensors are stored as bytes; linalg bodies still compute in i1, through
    `arith.trunci` of their byte arguments and `arith.extui` of what they yield.
    """
    i1, i8 = ir.IntegerType.get_signless(1), ir.IntegerType.get_signless(8)
    funcs, generics, extracts, inserts, constants = [], [], [], [], []
    kept = {"func.func": funcs, "linalg.generic": generics, "tensor.extract": extracts, "tensor.insert": inserts}
    advance = ir.WalkResult.ADVANCE

    def retype(op):   # payloads too: a gather's reads a tensor with tensor.extract
        name = op.name
        if name == "arith.constant" and _is_bool_tensor(op.result.type):
            constants.append(op)
            return advance
        for r in op.results:
            if _is_bool_tensor(r.type):
                r.set_type(_byte_tensor(r.type))
        if name in ("scf.for", "scf.while"):   # loops (scatter's, scan's, while's) carry tensors
            for region in op.regions:
                for a in region.blocks[0].arguments:
                    if _is_bool_tensor(a.type):
                        a.set_type(_byte_tensor(a.type))
        found = kept.get(name)
        if found is not None:
            found.append(op)
        return advance
    module_op.walk(retype)
    for op in constants:
        attr, byte_type = ir.DenseElementsAttr(op.attributes["value"]), _byte_tensor(op.result.type)
        if attr.is_splat:
            bit = int(ir.BoolAttr(attr.get_splat_value()).value)
            attr = ir.DenseElementsAttr.get_splat(byte_type, ir.IntegerAttr.get(i8, bit))
        else:
            bits = ir.DenseIntElementsAttr(attr)
            data = np.array([bits[k] != 0 for k in range(len(bits))], np.int8)
            attr = ir.DenseElementsAttr.get(data.reshape(byte_type.shape), type=byte_type)
        with ir.InsertionPoint(op), op.location:
            new = arith.ConstantOp(byte_type, attr).result
        op.result.replace_all_uses_with(new)
        op.erase()
    for f in funcs:
        if not len(f.regions[0].blocks):
            continue
        for a in f.regions[0].blocks[0].arguments:
            if _is_bool_tensor(a.type):
                a.set_type(_byte_tensor(a.type))
        ftype = ir.FunctionType(ir.TypeAttr(f.attributes["function_type"]).value)
        f.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(
            [_byte_tensor(t) if _is_bool_tensor(t) else t for t in ftype.inputs],
            [_byte_tensor(t) if _is_bool_tensor(t) else t for t in ftype.results]))
    for op in extracts:
        if op.result.type == i1 and str(ir.RankedTensorType(op.operands[0].type).element_type) == "i8":
            op.result.set_type(i8)
            with ir.InsertionPoint.after(op), op.location:
                bit = arith.trunci(i1, op.result)
            op.result.replace_all_uses_except(bit, bit.owner.operation)
    for op in inserts:
        if op.operands[0].type == i1 and str(ir.RankedTensorType(op.operands[1].type).element_type) == "i8":
            with ir.InsertionPoint(op), op.location:
                op.operands[0] = arith.extui(i8, op.operands[0])
    for op in generics:
        block = op.regions[0].blocks[0]
        for arg, operand in zip(block.arguments, op.operands):
            if arg.type == i1 and str(ir.RankedTensorType(operand.type).element_type) == "i8":
                arg.set_type(i8)
                with ir.InsertionPoint.at_block_begin(block), op.location:
                    bit = arith.trunci(i1, arg)
                arg.replace_all_uses_except(bit, bit.owner.operation)
        terminator = list(block.operations)[-1]
        for k, (value, result) in enumerate(zip(list(terminator.operands), op.results)):
            if value.type == i1 and str(ir.RankedTensorType(result.type).element_type) == "i8":
                with ir.InsertionPoint(terminator), op.location:
                    terminator.operands[k] = arith.extui(i8, value)
