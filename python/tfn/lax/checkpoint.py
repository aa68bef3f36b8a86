"""Rematerialization, with JAX's API: `checkpoint` (alias `remat`) and `checkpoint_policies`
(exported as `tfn.checkpoint`, `tfn.remat`, `tfn.checkpoint_policies`).

`checkpoint(f)` called inside a trace traces f into a private function and calls it through
`tfn.checkpoint(f)` (`tfn/dialect/tfn.irdl.mlir`): reverse mode then stores f's inputs
only and recomputes what the backward pass needs of f, trading compute for memory (as
`jax.checkpoint` and `torch.utils.checkpoint`). Outside a trace it simply calls f.
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from tfn.frontend import pytree
from tfn.frontend.source import user_line
from tfn.frontend.tracer import ShapeDtype, Tracer, current_scope, value_of, wrap
from tfn.lax.traced_bodies import define, emit, fn_name, operand_value, symbol_name

__all__ = ["checkpoint", "remat", "checkpoint_policies"]


class checkpoint_policies:
    """Which intermediate values of a checkpointed function reverse mode may keep, as
    `jax.checkpoint_policies`: a policy answers for each value whether it is saveable.

        >>> checkpoint_policies.nothing_saveable(), checkpoint_policies.everything_saveable()
        (False, True)
    """

    @staticmethod
    def nothing_saveable(*_, **__) -> bool:
        """Save nothing but the inputs: recompute everything (the default)."""
        return False

    @staticmethod
    def everything_saveable(*_, **__) -> bool:
        """Save everything: no rematerialization at all (f is called as it is)."""
        return True


_POLICIES = (None, checkpoint_policies.nothing_saveable, checkpoint_policies.everything_saveable)


def _is_traced_leaf(x) -> bool:
    return isinstance(x, (Tracer, np.ndarray, np.generic)) or type(x).__name__ == "DeviceArray"


def checkpoint(fun: Callable, policy: Callable | None = None, prevent_cse: bool = True,
               static_argnums: int | Sequence[int] = ()) -> Callable:
    """`fun`, whose intermediate values reverse mode recomputes instead of storing.

    `policy`: None or `checkpoint_policies.nothing_saveable` (recompute everything) or
    `checkpoint_policies.everything_saveable` (store everything: `fun` is inlined as is).
    `prevent_cse` is accepted for JAX's API (tfn does not merge the recomputation with the
    forward pass). Arguments at `static_argnums`, and leaves that are not arrays (Python
    numbers, strings, ...), reach `fun` unchanged and are fixed in the traced function.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> f = tfn.checkpoint(lambda x: tnp.sin(tnp.sin(x)))
        >>> float(tfn.grad(f)(np.float64(0.0)))
        1.0
    """
    if policy not in _POLICIES:
        raise NotImplementedError(f"tfn.checkpoint({fn_name(fun)}): policy {fn_name(policy)} is not supported "
                                  f"(tfn has checkpoint_policies.nothing_saveable and everything_saveable)"
                                  f"\n  at {user_line()}")
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    if policy is checkpoint_policies.everything_saveable:
        return fun

    @functools.wraps(fun)
    def rematerialized(*args, **kwargs):
        if current_scope() is None:
            return fun(*args, **kwargs)
        fixed = {i % len(args) for i in static} if args else set()
        leaves, tree = pytree.flatten((tuple(args), dict(kwargs)))
        owners = [k for k, a in enumerate(args) for _ in pytree.tree_leaves(a)]
        owners += [None] * (len(leaves) - len(owners))
        dynamic = [i for i, (x, k) in enumerate(zip(leaves, owners)) if _is_traced_leaf(x) and k not in fixed]
        avals = [ShapeDtype.of(leaves[i]) for i in dynamic]

        def body(*values):
            full = list(leaves)
            for i, v in zip(dynamic, values):
                full[i] = v
            a, kw = pytree.unflatten(tree, full)
            return fun(*a, **kw)
        traced = define(symbol_name("checkpoint", fun), avals, body)
        results = emit("checkpoint", [traced], traced.function_type, {},
                       [operand_value(leaves[i], a) for i, a in zip(dynamic, avals)]
                       + [value_of(c) for c in traced.captured])
        return pytree.unflatten(traced.out_tree, [wrap(r, a.weak) for r, a in zip(results, traced.out_avals)])
    return rematerialized


remat = checkpoint
