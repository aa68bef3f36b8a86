"""Expansion of transform ops (grad, vjp, jvp, vmap) to a fixed point, innermost first."""
from __future__ import annotations

from mlir import ir


def expand_transforms(module_op: ir.Operation) -> None:
    """Rewrites every tfn transform op in the module into plain tfn functions."""
    try:
        from tfn.transforms.transform_driver import expand_all
    except ImportError:
        return
    expand_all(module_op)
