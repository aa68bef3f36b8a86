"""Typed builders of tfn ops, and every rule of each op, one module per op family.

Each family module defines, for each of its ops, the builder (shape and dtype
inference and checks, then `Operation.create`), the shape rule the `tfn-verify` pass
runs, the JVP rule (or why there is none) and transpose rule, the batching rule and
the lowering, next to each other; it registers them in the tables of the interpreters
(`tfn.dialect.verifier`, `tfn.autodiff`, `tfn.batching`, `tfn.lowering.rules`).
Importing this package imports every family, so every table is complete.

Every builder inserts at the current `ir.InsertionPoint` with the current
`ir.Location` and returns the result `ir.Value`. The tracer, the rules and the tests
all build IR through them, so a derivative is itself made of tfn ops (and can be
differentiated or batched).

    >>> import numpy as np
    >>> from mlir import ir
    >>> from tfn import ops
    >>> from tfn.dialect import new_context, types
    >>> with new_context(), ir.Location.unknown():
    ...     m = ir.Module.create()
    ...     with ir.InsertionPoint(m.body):
    ...         c = ops.constant(np.ones((2, 3), np.float32))
    ...         print(types.shape_of(ops.transpose(c, (1, 0))))
    (3, 2)
"""
from tfn.dialect.core import ShapeError, fail, int_array, int_attr, str_attr  # noqa: F401 - re-exported
from tfn.ops.constants import *  # noqa: F401,F403 - each family's `__all__`: its builders and name tuples
from tfn.ops.unary import *  # noqa: F401,F403
from tfn.ops.binary import *  # noqa: F401,F403
from tfn.ops.compare_select_convert import *  # noqa: F401,F403
from tfn.ops.shape import *  # noqa: F401,F403
from tfn.ops.reduce import *  # noqa: F401,F403
from tfn.ops.dot_general import *  # noqa: F401,F403
from tfn.ops.convolution import *  # noqa: F401,F403
from tfn.ops.random_bits import *  # noqa: F401,F403
from tfn.ops.gather_scatter import *  # noqa: F401,F403
from tfn.ops.dynamic_slicing import *  # noqa: F401,F403
from tfn.ops.linalg import *  # noqa: F401,F403
from tfn.ops.control_flow import CONTROL_FLOW_OPS, scan, switch, while_loop  # noqa: F401
from tfn.ops.custom_derivatives import (CUSTOM_DERIVATIVE_OPS, checkpoint, custom_jvp, custom_vjp,  # noqa: F401
                                        linear_call)

OTHER_OPS = ("constant", "iota", "compare", "select", "convert", "dot_general")
RANDOM_OPS = ("random_bits",)
ALL_OPS = (UNARY_OPS + BINARY_OPS + REDUCE_OPS + SHAPE_OPS + OTHER_OPS + CONVOLUTION_OPS + RANDOM_OPS  # noqa: F405
           + GATHER_SCATTER_OPS + DYNAMIC_SLICING_OPS + LINALG_OPS)  # noqa: F405
