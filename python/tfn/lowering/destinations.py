"""Pass `tfn-write-into-results`: the last op of each result computes straight into the caller's array.

The entry wrapper ends with `bufferization.materialize_in_destination %v in %out`.
Where `%v` comes from a linalg op (a generic, a matmul) whose init is a fresh `tensor.empty` (possibly
through a fill), bufferization would allocate a temporary and copy it into `%out`.
When nothing else uses the generic's result, the fill or the empty, this points the
init at `%out` itself (`bufferization.to_tensor %out restrict writable`), so the
generic bufferizes in place into the result buffer and the copy folds away.
(Upstream `eliminate-empty-tensors` does this too, but trusted `restrict` across an
init shared by two generics and computed wrong results.)

```mlir
%e = tensor.empty() : tensor<512xf32>
%v = linalg.generic ... outs(%e : tensor<512xf32>)
bufferization.materialize_in_destination %v in restrict writable %out
// becomes
%t = bufferization.to_tensor %out restrict writable : memref<512xf32> to tensor<512xf32>
%v = linalg.generic ... outs(%t : tensor<512xf32>)
bufferization.materialize_in_destination %v in restrict writable %out
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import bufferization
from tfn.passes.ir_utils import find_ops


def _owner(value: ir.Value):
    owner = value.owner
    if isinstance(owner, ir.Block):
        return None
    return owner.operation if hasattr(owner, "operation") else owner


def _single_use(value: ir.Value) -> bool:
    uses = list(value.uses)
    return len(uses) == 1


def write_into_results(module_op: ir.Operation) -> int:
    """Rewrites the inits of the entry function's result producers (see module doc); returns how many."""
    found = find_ops(module_op, "bufferization.materialize_in_destination", payloads=False)
    done = 0
    seen = set()
    for mat in found:
        src, dest = mat.operands[0], mat.operands[1]
        if not isinstance(dest.type, ir.MemRefType) or not isinstance(dest, ir.BlockArgument):
            continue
        key = dest.arg_number
        if key in seen:
            continue
        producer = _owner(src)
        if producer is None or not producer.name.startswith("linalg.") or not _single_use(src):
            continue
        if len(producer.results) != 1:
            continue
        # Follow the init through fills (generics without inputs) to a tensor.empty.
        chain, op = [], producer
        while True:
            init = op.operands[len(op.operands) - 1]
            if not _single_use(init):
                break
            src_op = _owner(init)
            if src_op is None:
                break
            if src_op.name == "tensor.empty":
                chain.append((op, src_op))
                break
            if src_op.name == "linalg.generic" and len(src_op.operands) == 1 and len(src_op.results) == 1:
                op = src_op
                continue
            break
        if not chain:
            continue
        user, empty = chain[-1]
        if empty.results[0].type != src.type:
            continue
        with ir.InsertionPoint(empty), empty.location:
            t = bufferization.ToTensorOp(src.type, dest, restrict=True, writable=True).result
        empty.results[0].replace_all_uses_with(t)
        empty.erase()
        seen.add(key)
        done += 1
    return done


def split_empty_tensors(module_op: ir.Operation) -> int:
    """Gives every use of a shared `tensor.empty` a copy of its own; returns how many were made.

    CSE merges the empties of one shape into one, which every linalg op of that shape
    then takes as its init. One-shot bufferization's analysis checks each in-place
    decision against every alias of the init, so one empty shared by n ops cost it
    O(n^2): 4 s for a 64-layer MLP gradient, 0.6 s with one empty per op. It also
    lets `write_into_results` find the single-use inits it looks for.
    Only the empties at the top level of functions are looked at (CSE hoists them there).
    """
    module_op = module_op.operation if hasattr(module_op, "operation") else module_op
    made = 0
    for f in module_op.regions[0].blocks[0].operations:
        if f.operation.name != "func.func" or not len(f.regions[0].blocks):
            continue
        for op in f.regions[0].blocks[0].operations:
            op = op.operation
            if op.name != "tensor.empty" or len(op.operands):
                continue
            uses = [(u.owner, u.operand_number) for u in op.results[0].uses]
            for owner, index in uses[1:]:
                owner = owner.operation if hasattr(owner, "operation") else owner
                with ir.InsertionPoint(owner):
                    copy = op.clone()
                owner.operands[index] = copy.results[0]
                made += 1
    return made


def drop_self_copies(module_op: ir.Operation) -> int:
    """Erases `memref.copy %m, %m` (left by results computed in place); returns how many."""
    found = find_ops(module_op, lambda op: op.name == "memref.copy" and op.operands[0] == op.operands[1],
                     payloads=False)
    for op in found:
        op.erase()
    return len(found)
