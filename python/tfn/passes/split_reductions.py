"""Pass `tfn-split-reductions`: reductions over a long contiguous dim, in two steps (for GPUs).

A GPU runs each output element of a reduction on one thread, looping over the
reduced elements. When the reduced dim is the contiguous one and the output is
small (the sum over each row of a 256x1024 softmax), there are few threads and a
warp's loads are `L` floats apart. Splitting that dim of length L into
(L / SPLIT, SPLIT) and reducing the first part first gives SPLIT times more threads,
whose loads are contiguous across a warp; a short second reduction finishes.

```mlir
%s = "tfn.reduce_sum"(%x) {dimensions = array<i64: 1>} : (tensor<256x1024xf32>) -> tensor<256xf32>
// becomes
%r = "tfn.reshape"(%x) : (tensor<256x1024xf32>) -> tensor<256x32x32xf32>
%p = "tfn.reduce_sum"(%r) {dimensions = array<i64: 1>} : (tensor<256x32x32xf32>) -> tensor<256x32xf32>
%s = "tfn.reduce_sum"(%p) {dimensions = array<i64: 1>} : (tensor<256x32xf32>) -> tensor<256xf32>
```

Sums, products, maxima and minima are associative, so only rounding changes.
"""
from __future__ import annotations

from mlir import ir

from tfn import ops
from tfn.ops import REDUCE_OPS, int_array
from tfn.dialect.types import shape_of
from tfn.passes.ir_utils import find_ops

SPLIT = 32          # a warp
MIN_LENGTH = 512    # shorter rows are not worth a second kernel


def split_reductions(module_op: ir.Operation, split: int = SPLIT, min_length: int = MIN_LENGTH) -> int:
    """Rewrites the qualifying reductions under `module_op`; returns how many."""
    split, min_length = int(split), int(min_length)
    count = 0
    for op in find_ops(module_op, lambda op: op.name in {f"tfn.{n}" for n in REDUCE_OPS}):
        x = op.operands[0]
        shape = list(shape_of(x))
        dims = int_array(op, "dimensions")
        last = len(shape) - 1
        if not shape or last not in dims or shape[last] < min_length or shape[last] % split:
            continue
        kind = op.name[len("tfn.reduce_"):]
        with ir.InsertionPoint(op), op.location:
            grouped = ops.reshape(x, shape[:last] + [shape[last] // split, split])
            partial = ops.reduce(kind, grouped, dims)          # `last` now names the L / SPLIT dim
            result = ops.reduce(kind, partial, [len(shape_of(partial)) - 1])
        op.results[0].replace_all_uses_with(result)
        op.erase()
        count += 1
    return count


NAME = "tfn-split-reductions"
DESCRIPTION = "Split reductions over a long contiguous dim in two (GPU parallelism)"


def run(module_op: ir.Operation, split: int = SPLIT, min_length: int = MIN_LENGTH) -> None:
    split_reductions(module_op, split, min_length)
