"""Pass `tfn-relax-reductions`: lets float reductions vectorize.

LLVM's loop vectorizer keeps a float reduction in order (scalar) unless its combining
`fadd`/`fmul` may be reassociated. This marks the combiner of every float reduction
in a `linalg.generic` (the op that yields from the accumulator argument) with
`fastmath<reassoc,contract>`, and the product feeding an accumulate with `contract`,
so reductions run as SIMD partial sums (as numpy's pairwise sums also reorder) and
multiply-accumulates may fuse to FMA. Elementwise ops keep strict IEEE semantics.

```mlir
^bb0(%in: f32, %acc: f32):
  %0 = arith.addf %acc, %in fastmath<reassoc,contract> : f32
  linalg.yield %0 : f32
```
"""
from __future__ import annotations

from mlir import ir
from tfn.passes.ir_utils import find_ops

_COMBINERS = {"arith.addf", "arith.mulf"}
_FLOAT_MINMAX = {"arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf"}


def relax_reductions(module_op: ir.Operation) -> int:
    """Marks reduction combiners under `module_op`; returns how many ops were marked."""
    generics = find_ops(module_op, "linalg.generic", payloads=False)
    if not generics:
        return 0
    reassoc = ir.Attribute.parse("#arith.fastmath<reassoc,contract>")
    contract = ir.Attribute.parse("#arith.fastmath<contract>")
    marked = 0
    for g in generics:
        if "reduction" not in str(g.attributes["iterator_types"]):
            continue
        block = g.regions[0].blocks[0]
        acc = block.arguments[len(block.arguments) - 1]
        ops = list(block.operations)
        terminator = ops[-1]
        if terminator.name != "linalg.yield" or len(terminator.operands) != 1:
            continue
        value = terminator.operands[0]
        owner = value.owner
        if not isinstance(owner, ir.Operation) and hasattr(owner, "operation"):
            owner = owner.operation
        if not isinstance(owner, ir.Operation) or owner.name not in _COMBINERS | _FLOAT_MINMAX:
            continue
        if acc not in list(owner.operands):
            continue
        if owner.name in _COMBINERS:
            owner.attributes["fastmath"] = reassoc
            marked += 1
            for operand in owner.operands:
                producer = operand.owner
                if isinstance(producer, ir.Operation) and producer.name == "arith.mulf" and owner.name == "arith.addf":
                    producer.attributes["fastmath"] = contract
    return marked


NAME = "tfn-relax-reductions"
DESCRIPTION = "Mark float reduction combiners reassoc so they vectorize"


def run(module_op: ir.Operation) -> None:
    relax_reductions(module_op)
