"""Model ensembling, torch.func style: a model is a function `model(params, *inputs)` of a
parameter pytree, so N models with stacked parameters run as one vmapped program.

    >>> import numpy as np, tfn, tfn.numpy as tnp
    >>> model = lambda p, x: x @ p["w"]
    >>> params, buffers = tfn.stack_module_state([{"w": np.full((2, 1), float(i))} for i in range(3)])
    >>> params["w"].shape, buffers
    ((3, 2, 1), {})
    >>> tfn.vmap(lambda p, b, x: tfn.functional_call(model, (p, b), (x,)), in_dims=(0, 0, None))(
    ...     params, buffers, np.ones((1, 2)))[:, 0, 0]
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
    input: `grad` over them, `vmap` over a stacked ensemble of them. As in
    torch.func, `params` may be a tuple of dicts, such as the `(params, buffers)`
    of `stack_module_state`: dicts with distinct string keys are merged into one,
    and empty ones dropped, so `(params, {})` passes `params` whatever its structure.
    """
    if not callable(model):
        raise TypeError(f"tfn.functional_call: model must be callable, got {type(model).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    return model(_merge_state(params), *args, **(kwargs or {}))


def _merge_state(params):
    if type(params) is not tuple or not params or not all(isinstance(d, dict) for d in params[1:]):
        return params
    parts = [d for d in params if not (isinstance(d, dict) and not d)]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return {}
    keys = [k for d in parts if isinstance(d, dict) for k in d]
    if all(isinstance(d, dict) for d in parts) and all(isinstance(k, str) for k in keys) \
            and len(set(keys)) == len(keys):
        return {k: v for d in parts for k, v in d.items()}
    return params  # a tfn parameter pytree that happens to be a tuple


def stack_module_state(models: Sequence[Any]) -> tuple[Any, dict]:
    """Stacks N models' state into `(params, buffers)`, each leaf gaining a leading dim of size N,
    as torch.func.stack_module_state does.

    A model is a parameter pytree (it has no buffers: `buffers` is `{}`), or a torch-like
    module with `named_parameters()` (and `named_buffers()`), whose state becomes dicts
    of numpy arrays keyed by name.
    """
    models = list(models)
    if not models:
        raise ValueError("tfn.stack_module_state: needs at least one model")
    states = [_state(m) for m in models]
    return _stack_trees([p for p, _ in states], "parameter"), _stack_trees([b for _, b in states], "buffer")


def _state(model):
    if hasattr(model, "named_parameters"):
        params = {name: _to_array(p) for name, p in model.named_parameters()}
        named_buffers = getattr(model, "named_buffers", None)
        buffers = {name: _to_array(b) for name, b in named_buffers()} if named_buffers is not None else {}
        return params, buffers
    return model, {}


def _to_array(x):
    for method in ("detach", "cpu", "numpy"):  # a torch tensor, without importing torch
        if not isinstance(x, (np.ndarray, Tracer)) and hasattr(x, method):
            x = getattr(x, method)()
    return x


def _stack_trees(trees, what):
    leaves0, tree0 = pytree.flatten(trees[0])
    columns = [[leaf] for leaf in leaves0]
    for i, m in enumerate(trees[1:], start=1):
        leaves, tree = pytree.flatten(m)
        if tree.canonical() != tree0.canonical():
            raise ValueError(f"tfn.stack_module_state: model {i} has {what} structure {tree}, "
                             f"model 0 has {tree0}")
        for k, (col, leaf) in enumerate(zip(columns, leaves)):
            if _shape(leaf) != _shape(col[0]):
                raise ValueError(f"tfn.stack_module_state: {what} leaf {k} of model {i} has shape "
                                 f"{_shape(leaf)}, model 0 has {_shape(col[0])}")
            col.append(leaf)
    return pytree.unflatten(tree0, [_stack(col) for col in columns])


def _shape(x):
    return tuple(x.shape) if isinstance(x, Tracer) else np.shape(x)


def _stack(column):
    if any(isinstance(x, Tracer) for x in column):
        from tfn import numpy as tnp
        return tnp.stack(column)
    return np.stack([np.asarray(x) for x in column])
