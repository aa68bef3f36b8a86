"""Pass `tfn-allow-inlining`: lets `inline` put back what `tfn-outline-for-fusion` took out.

Drops `no_inline` from the calls of the `__tfn_outlined_*` functions; the `inline`
that follows in the pipeline then inlines them (after fusion).

```mlir
%c = call @__tfn_outlined_0(%a, %b, %z) {no_inline} : (...) -> tensor<64x512xf32>
// becomes
%c = call @__tfn_outlined_0(%a, %b, %z) : (...) -> tensor<64x512xf32>
```
"""
from __future__ import annotations

from mlir import ir

from tfn.passes.ir_utils import find_ops
from tfn.passes.outline_for_fusion import OUTLINED_PREFIX

NAME = "tfn-allow-inlining"
DESCRIPTION = "Drop no_inline from the calls tfn-outline-for-fusion made"


def run(module_op: ir.Operation) -> None:
    found = find_ops(module_op, lambda op: op.name == "func.call" and "no_inline" in op.attributes
                     and ir.FlatSymbolRefAttr(op.attributes["callee"]).value.startswith(OUTLINED_PREFIX),
                     payloads=False)
    for op in found:
        del op.attributes["no_inline"]
