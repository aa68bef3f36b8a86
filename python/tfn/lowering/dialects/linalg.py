"""The linalg op classes (generated) and the dialect's native extension, without opdsl."""
from mlir._mlir_libs._mlirDialectsLinalg import *  # noqa: F401,F403 - registers the native parts
from mlir.dialects._linalg_ops_gen import *  # noqa: F401,F403 - registers the op classes
from mlir.dialects._linalg_ops_gen import _Dialect  # noqa: F401
