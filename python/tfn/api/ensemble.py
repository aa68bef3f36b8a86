"""Model ensembling, torch.func style: a model is a function `model(params, *inputs)` of a
parameter pytree, so N models with stacked parameters run as one vmapped program.

    >>> import numpy as np, tfn, tfn.numpy as tnp
    >>> model = lambda p, x: x @ p["w"]
    >>> params = [{"w": np.full((2, 1), float(i))} for i in range(3)]
    >>> stacked = tfn.stack_module_state(params)
    >>> stacked["w"].shape
    (3, 2, 1)
    >>> tfn.vmap(lambda p, x: tfn.functional_call(model, p, (x,)), in_dims=(0, None))(
    ...     stacked, np.ones((1, 2)))[:, 0, 0]
    array([0., 2., 4.])
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from tfn.frontend import pytree
from tfn.frontend.tracer import Tracer


def functional_call(model: Callable, params: Any, args: Any = (), kwargs: dict | None = None):
    """Calls `model(params, *args, **kwargs)`; `args` is a tuple of inputs or one input.

    The parameters are an explicit argument, so they can be transformed like any
    input: `grad` over them, `vmap` over a stacked ensemble of them.
    """
    if not callable(model):
        raise TypeError(f"tfn.functional_call: model must be callable, got {type(model).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    return model(params, *args, **(kwargs or {}))


def stack_module_state(models: Sequence[Any]):
    """Stacks N parameter pytrees of one structure into one pytree whose leaves gain a leading
    dim of size N (like torch.func.stack_module_state; tfn models have no separate buffers)."""
    models = list(models)
    if not models:
        raise ValueError("tfn.stack_module_state: needs at least one parameter pytree")
    leaves0, tree0 = pytree.flatten(models[0])
    columns = [[leaf] for leaf in leaves0]
    for i, m in enumerate(models[1:], start=1):
        leaves, tree = pytree.flatten(m)
        if tree != tree0:
            raise ValueError(f"tfn.stack_module_state: model {i} has parameter structure {tree}, "
                             f"model 0 has {tree0}")
        for k, (col, leaf) in enumerate(zip(columns, leaves)):
            if _shape(leaf) != _shape(col[0]):
                raise ValueError(f"tfn.stack_module_state: leaf {k} of model {i} has shape {_shape(leaf)}, "
                                 f"model 0 has {_shape(col[0])}")
            col.append(leaf)
    stacked = [_stack(col) for col in columns]
    return pytree.unflatten(tree0, stacked)


def _shape(x):
    return tuple(x.shape) if isinstance(x, Tracer) else np.shape(x)


def _stack(column):
    if any(isinstance(x, Tracer) for x in column):
        from tfn import numpy as tnp
        return tnp.stack(column)
    return np.stack([np.asarray(x) for x in column])
