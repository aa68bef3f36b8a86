"""tfn: composable function transforms (grad, vjp, jvp, vmap, ...) compiled with MLIR.

    >>> import numpy as np, tfn, tfn.numpy as tnp
    >>> @tfn.jit
    ... def predict(w, x):
    ...     return tnp.tanh(x @ w)
    >>> predict(np.eye(2, dtype=np.float32), np.zeros((3, 2), np.float32)).shape
    (3, 2)
"""
from tfn import nn, numpy
from tfn.api.jit import Jitted, Lowered, jit
from tfn.api.jacobians import hessian, jacfwd, jacrev
from tfn.api.transforms import grad, grad_and_value, jvp, linearize, vjp
from tfn.dialect.ops import ShapeError
from tfn.frontend.pytree import tree_leaves, tree_map, tree_structure
from tfn.frontend.tracer import ShapeDtype, TraceError
from tfn.numpy import stop_gradient

__all__ = [
    "jit", "Jitted", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian", "Lowered", "numpy", "nn", "stop_gradient", "ShapeError", "TraceError", "ShapeDtype",
    "tree_map", "tree_leaves", "tree_structure",
]
__version__ = "0.1.0"
from tfn.api.vmap import vmap  # noqa: E402
__all__ += ["vmap"]
from tfn.api.ensemble import functional_call, stack_module_state  # noqa: E402
__all__ += ["functional_call", "stack_module_state"]
from tfn import random  # noqa: E402
__all__ += ["random"]
from tfn import aot  # noqa: E402,F401 - tfn.aot.compile: object files, shared libraries, C headers
