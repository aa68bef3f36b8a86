"""tfn: composable function transforms (grad, vjp, jvp, vmap, ...) compiled with MLIR.

    >>> import numpy as np, tfn, tfn.numpy as tnp
    >>> @tfn.jit
    ... def predict(w, x):
    ...     return tnp.tanh(x @ w)
    >>> predict(np.eye(2, dtype=np.float32), np.zeros((3, 2), np.float32)).shape
    (3, 2)
"""
from tfn import lax, nn, numpy, random
from tfn.api import eager as _eager  # noqa: F401 - runs tfn.numpy calls made outside a trace
from tfn.api.caching import RecompileWarning, TfnWarning, clear_caches, set_cache_limits
from tfn.api.ensemble import functional_call, stack_module_state
from tfn.api.jacobians import hessian, jacfwd, jacrev
from tfn.api.jit import Jitted, Lowered, jit
from tfn.api.transforms import grad, grad_and_value, jvp, linearize, vjp
from tfn.api.vmap import vmap
from tfn.ops import ShapeError
from tfn.frontend import pytree as tree_util
from tfn.frontend.pytree import register_pytree_node, tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten
from tfn.frontend.tracer import ShapeDtype, TraceError
from tfn.lax.checkpoint import checkpoint, checkpoint_policies, remat
from tfn.lax.control_flow import torch_cond as cond
from tfn.lax.custom_derivatives import custom_jvp, custom_vjp
from tfn.numpy import stop_gradient
from tfn.runtime.device_array import DeviceArray, device_put
from tfn.runtime.dlpack import from_dlpack

__all__ = [
    # compilation
    "jit", "Jitted", "Lowered", "aot", "device_put", "DeviceArray", "from_dlpack",
    # compile caches
    "clear_caches", "set_cache_limits", "RecompileWarning", "TfnWarning",
    # transforms
    "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian", "vmap",
    "stop_gradient", "functional_call", "stack_module_state",
    # control flow, custom derivatives, rematerialization
    "cond", "custom_jvp", "custom_vjp", "checkpoint", "remat", "checkpoint_policies",
    # op libraries
    "numpy", "nn", "random", "lax",
    # pytrees and errors
    "tree_util", "tree_map", "tree_leaves", "tree_structure", "tree_flatten", "tree_unflatten",
    "register_pytree_node", "ShapeDtype", "ShapeError", "TraceError",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    """`tfn.aot`, imported when first used: it loads subprocess, tempfile and ctypes for the
    toolchain, which `import tfn` need not pay for."""
    if name == "aot":
        import tfn.aot as aot
        return aot
    raise AttributeError(f"module 'tfn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"aot"})
