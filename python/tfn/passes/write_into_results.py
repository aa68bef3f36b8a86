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


NAME = "tfn-write-into-results"
DESCRIPTION = "Point the init of each result's last linalg op at the caller's output buffer"


def run(module_op: ir.Operation) -> None:
    """Rewrites the inits of the entry function's result producers (see module doc)."""
    found = find_ops(module_op, "bufferization.materialize_in_destination", payloads=False)
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
