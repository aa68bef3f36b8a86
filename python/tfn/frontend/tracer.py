"""Tracing: Python callables over pytrees of arrays -> `func.func`s of the tfn dialect.

A `Tracer` stands for an array while a function is traced; each operation on it
emits a tfn op at the user's source line. Traces nest (a transform applied
inside a traced function traces its callee into a sibling `func.func`); a
tracer of an enclosing trace used inside an inner one is captured as an extra
argument of the inner function.
"""
from __future__ import annotations

import operator
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from mlir import ir
from mlir.dialects import func

from tfn import ops
from tfn.dialect.context import new_context
from tfn.dialect.types import canonical_dtype, dtype_of, shape_of, tensor_type
from tfn.frontend import pytree
from tfn.frontend.source import user_line, user_location
from tfn.passes.ir_utils import unique_symbol

_CONTEXT: ir.Context | None = None
_CONTEXT_LOCK = threading.Lock()


def context() -> ir.Context:
    """The process-wide MLIR context in which tfn traces and compiles."""
    global _CONTEXT
    if _CONTEXT is None:
        with _CONTEXT_LOCK:  # two threads starting at once must not make two contexts
            if _CONTEXT is None:
                _CONTEXT = new_context()
    return _CONTEXT


def renew_context() -> None:
    """Makes the next `context()` a fresh context. MLIR keeps every attribute it uniqued (a
    traced constant is one) for the life of its context; the old context is freed with the
    last IR object made in it. Call only between compiles (under the compile lock)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        _CONTEXT = None


class TraceError(TypeError):
    """Misuse of a traced value (Python control flow on it, leaking it out of its trace, ...)."""


@dataclass(frozen=True)
class ShapeDtype:
    """Abstract value of an array: what a compiled function is specialized on."""
    shape: tuple[int, ...]
    dtype: np.dtype
    weak: bool = False  # a Python scalar: promotes like numpy's weak scalars (NEP 50)

    @staticmethod
    def of(x) -> "ShapeDtype":
        if isinstance(x, Tracer):
            return ShapeDtype(x.shape, x.dtype, x.weak)
        if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
            return ShapeDtype((), canonical_dtype(np.asarray(x).dtype), True)
        if type(x).__name__ == "DeviceArray":  # shape and dtype without a download
            return ShapeDtype(x.shape, canonical_dtype(x.dtype))
        a = np.asarray(x)
        return ShapeDtype(tuple(a.shape), canonical_dtype(a.dtype))

    def __repr__(self) -> str:
        return f"{self.dtype.name}{list(self.shape)}"


@dataclass
class FunctionScope:
    """One `func.func` being traced."""
    func_op: Any
    block: ir.Block
    parent: "FunctionScope | None"
    captured: list = field(default_factory=list)        # outer Tracers, in argument order
    capture_index: dict = field(default_factory=dict)    # id(outer value) -> inner Tracer
    # Outermost function only: numpy arrays of at least this many bytes that the traced code
    # reads (closures, globals) become trailing arguments instead of constants (None: never).
    hoist_bytes: int | None = None
    hoisted: list = field(default_factory=list)          # (the user's array, the copy passed)
    hoist_index: dict = field(default_factory=dict)      # id(the user's array) -> Tracer

    def capture(self, outer: "Tracer") -> "Tracer":
        key = outer.value
        inner = self.capture_index.get(key)
        if inner is None:
            if self.parent is not None and outer.scope is not self.parent:
                outer = self.parent.capture(outer)
            arg = self.block.add_argument(outer.value.type, ir.Location.unknown())
            inner = Tracer(arg, self, outer.weak)
            self.capture_index[key] = inner
            self.captured.append(outer)
        return inner

    def hoist(self, array: np.ndarray) -> "Tracer | None":
        """`array` as a trailing argument of this (outermost) function, or None when it is
        better as a constant: small, or one repeated value (a splat costs nothing in IR).

        A constant in the IR is uniqued in the MLIR context for the context's life and is
        compiled into the binary; an argument is neither, and the program reads the copy
        taken now, so later writes to `array` are not seen (as with a constant)."""
        if self.hoist_bytes is None or array.nbytes < self.hoist_bytes or array.dtype == np.bool_:
            return None
        inner = self.hoist_index.get(id(array))
        if inner is None:
            data = np.array(array, dtype=canonical_dtype(array.dtype), order="C", copy=True)
            first = data.flat[0]
            if bool(np.all(data == first)):
                return None
            arg = self.block.add_argument(tensor_type(data.shape, data.dtype), ir.Location.unknown())
            inner = Tracer(arg, self, False)
            self.hoist_index[id(array)] = inner
            self.hoisted.append((array, data))  # the user's array is kept too: its id stays its own
        return inner


class _Scopes(threading.local):
    """The stack of functions being traced, one per thread: a jitted call made by another
    thread while this one traces must not land in this thread's trace."""

    def __init__(self):
        self.stack: list[FunctionScope] = []


_SCOPES = _Scopes()


def current_scope() -> FunctionScope | None:
    stack = _SCOPES.stack
    return stack[-1] if stack else None


class Tracer:
    """An array inside a traced function. Supports numpy's operators and common methods."""
    __slots__ = ("value", "scope", "weak", "_shape", "_dtype")
    __array_priority__ = 1000

    def __init__(self, value: ir.Value, scope: FunctionScope, weak: bool = False):
        self.value, self.scope, self.weak = value, scope, weak
        self._shape = shape_of(value)
        self._dtype = dtype_of(value)

    # ---- array attributes
    shape = property(lambda self: self._shape)
    dtype = property(lambda self: self._dtype)
    ndim = property(lambda self: len(self._shape))
    size = property(lambda self: int(np.prod(self._shape, dtype=np.int64)))
    T = property(lambda self: _tnp().transpose(self))

    def __len__(self) -> int:
        if not self._shape:
            raise TraceError("len() of a 0-d traced array")
        return self._shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"Tracer<{self._dtype.name}{list(self._shape)}>"

    # ---- misuse
    def __bool__(self):
        raise TraceError(
            f"the truth value of a traced array {self!r} is not known while tracing "
            f"(Python control flow on traced values is not supported; use tfn.numpy.where)\n  at {user_line()}")

    def __array__(self, *args, **kwargs):
        raise TraceError(f"cannot convert traced array {self!r} to a numpy array while tracing\n  at {user_line()}")

    def __float__(self):
        return self.__bool__()

    __int__ = __index__ = __float__

    def __hash__(self):
        return id(self)

    # ---- methods (numpy's array API)
    def reshape(self, *shape, order="C"):
        return _tnp().reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)

    def astype(self, dtype):
        return _tnp().asarray(self, dtype=dtype)

    def transpose(self, *axes):
        return _tnp().transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))

    def sum(self, axis=None, keepdims=False, dtype=None):
        return _tnp().sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(self, axis=None, keepdims=False):
        return _tnp().mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _tnp().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _tnp().min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return _tnp().prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _tnp().var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return _tnp().std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def squeeze(self, axis=None):
        return _tnp().squeeze(self, axis)

    def flatten(self):
        return _tnp().reshape(self, (-1,))

    ravel = flatten

    def dot(self, other):
        return _tnp().dot(self, other)

    def clip(self, min=None, max=None):
        return _tnp().clip(self, min, max)

    def __getitem__(self, index):
        return _tnp().getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError(f"a traced array {self!r} is immutable: item assignment is not supported; use "
                        f"x = x.at[index].set(value) (or .add, .multiply, .min, .max) for an updated copy"
                        f"\n  at {user_line()}")

    @property
    def at(self):
        """Functional updates: `x.at[index].set(v)`, `.add(v)`, `.multiply(v)`, `.min(v)`, `.max(v)`, `.get()`.

            >>> import numpy as np, tfn
            >>> tfn.jit(lambda x: x.at[0, ::2].add(1.0))(np.zeros((2, 3)))
            array([[1., 0., 1.],
                   [0., 0., 0.]])
        """
        return _tnp().at(self)

    def argmax(self, axis=None, keepdims=False):
        return _tnp().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _tnp().argmin(self, axis=axis, keepdims=keepdims)

    # ---- operators
    def __add__(self, o): return _operator("add", operator.add, self, o)
    def __radd__(self, o): return _operator("add", operator.add, o, self)
    def __sub__(self, o): return _operator("subtract", operator.sub, self, o)
    def __rsub__(self, o): return _operator("subtract", operator.sub, o, self)
    def __mul__(self, o): return _operator("multiply", operator.mul, self, o)
    def __rmul__(self, o): return _operator("multiply", operator.mul, o, self)
    def __truediv__(self, o): return _operator("true_divide", operator.truediv, self, o)
    def __rtruediv__(self, o): return _operator("true_divide", operator.truediv, o, self)
    def __floordiv__(self, o): return _operator("floor_divide", operator.floordiv, self, o)
    def __rfloordiv__(self, o): return _operator("floor_divide", operator.floordiv, o, self)
    def __mod__(self, o): return _operator("remainder", operator.mod, self, o)
    def __rmod__(self, o): return _operator("remainder", operator.mod, o, self)
    def __pow__(self, o):
        if type(o) is int and o == 2 and self.dtype == np.bool_ and not self.weak:
            return _tnp().square(self)  # numpy's `**` squares for an exponent of 2: int8 (int32 here) for bools
        return _operator("power", operator.pow, self, o)
    def __rpow__(self, o): return _operator("power", operator.pow, o, self)
    def __matmul__(self, o): return _tnp().matmul(self, o)
    def __rmatmul__(self, o): return _tnp().matmul(o, self)
    def __neg__(self): return _operator("negative", operator.neg, self)
    def __pos__(self): return _operator("positive", operator.pos, self)
    def __abs__(self): return _operator("abs", abs, self)
    def __invert__(self): return _tnp().logical_not(_bool_operand("~", self))
    def __and__(self, o): return _tnp().logical_and(_bool_operand("&", self), _bool_operand("&", o))
    def __rand__(self, o): return _tnp().logical_and(_bool_operand("&", o), _bool_operand("&", self))
    def __or__(self, o): return _tnp().logical_or(_bool_operand("|", self), _bool_operand("|", o))
    def __ror__(self, o): return _tnp().logical_or(_bool_operand("|", o), _bool_operand("|", self))
    def __eq__(self, o): return _operator("equal", operator.eq, self, o)
    def __ne__(self, o): return _operator("not_equal", operator.ne, self, o)
    def __lt__(self, o): return _operator("less", operator.lt, self, o)
    def __le__(self, o): return _operator("less_equal", operator.le, self, o)
    def __gt__(self, o): return _operator("greater", operator.gt, self, o)
    def __ge__(self, o): return _operator("greater_equal", operator.ge, self, o)


_PYTHON_SAMPLE = {"b": True, "i": 1, "f": 1.0}


def _operator(name: str, python_op, *operands):
    """An operator: the tnp function `name`, except that on Python scalars only (weak tracers of
    a jitted function's scalar arguments, and Python numbers) it is Python's arithmetic, whose
    result is again a weak Python scalar: `x * 2` for a float argument x promotes like a float."""
    weak = all(isinstance(o, Tracer) and o.weak or _is_python_scalar(o) for o in operands)
    if not weak:
        if name == "positive":
            return _tnp().asarray(operands[0]) if operands[0].dtype != np.bool_ else _no_positive(operands[0])
        return getattr(_tnp(), name)(*operands)
    samples = [_PYTHON_SAMPLE[o.dtype.kind] if isinstance(o, Tracer) else o for o in operands]
    try:
        dtype = canonical_dtype(np.asarray(python_op(*samples)).dtype)  # Python's result type: True + True is 2
    except ZeroDivisionError:
        dtype = np.dtype(np.float64)
    if dtype.kind != "b":  # computed in Python's result type: True + True is 2, 2 ** -1 is 0.5
        operands = [_tnp().asarray(o, dtype) for o in operands]
    out = _tnp().asarray(operands[0]) if name == "positive" else getattr(_tnp(), name)(*operands)
    if out.dtype != dtype:
        out = _tnp().asarray(out, dtype)
    return Tracer(out.value, out.scope, True)


def _is_python_scalar(x) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def _no_positive(x):
    raise TypeError(f"unary + of a bool array {x!r} is not supported, as in numpy\n  at {user_line()}")


def _bool_operand(operator: str, x):
    """`&`, `|` and `~` are logical on bools; numpy's bitwise meaning on integers is not supported."""
    dtype = x.dtype if isinstance(x, Tracer) else np.asarray(x).dtype
    if dtype != np.bool_:
        raise TypeError(f"operator {operator} on a {dtype} array: tfn supports {operator} on bool arrays "
                        f"only (bitwise integer ops are not implemented)\n  at {user_line()}")
    return x


def _tnp():
    from tfn import numpy as tnp
    return tnp


def value_of(x: Any, scope: FunctionScope | None = None) -> ir.Value:
    """The ir.Value for `x` in the current function: a tracer (captured if outer) or a constant."""
    scope = scope or current_scope()
    if isinstance(x, Tracer):
        if x.scope is scope:
            return x.value
        if scope is None or not _encloses(x.scope, scope):
            raise TraceError(f"a traced array {x!r} escaped the function that traced it\n  at {user_line()}")
        return scope.capture(x).value
    if scope is None:
        raise TraceError("tfn ops need an active trace")
    return constant(np.asarray(x), scope=scope)


def constant(data: np.ndarray, dtype=None, scope: FunctionScope | None = None) -> ir.Value:
    """`data` (as `dtype`) in the current function: a `tfn.constant`, or, for a large array
    in a trace that hoists them, the trailing argument that carries it (`FunctionScope.hoist`)."""
    scope = scope or current_scope()
    if scope is not None and type(data) is np.ndarray and data.nbytes >= 1024:
        root = scope
        while root.parent is not None:
            root = root.parent
        if root.hoist_bytes is not None:
            hoisted = root.hoist(data if dtype is None else np.asarray(data, dtype=canonical_dtype(dtype)))
            if hoisted is not None:
                return value_of(hoisted, scope)
    return ops.constant(data, dtype)


def _encloses(outer: FunctionScope, inner: FunctionScope) -> bool:
    s = inner.parent
    while s is not None:
        if s is outer:
            return True
        s = s.parent
    return False


def wrap(value: ir.Value, weak: bool = False) -> Tracer:
    return Tracer(value, current_scope(), weak)


@dataclass
class TracedFunction:
    """The result of tracing: a `func.func` and how to map pytrees to and from its arguments."""
    name: str
    func_op: Any
    in_tree: pytree.TreeDef
    in_avals: list[ShapeDtype]
    out_tree: pytree.TreeDef
    out_avals: list[ShapeDtype]
    captured: list          # outer tracers passed as trailing arguments
    aux_tree: pytree.TreeDef | None = None
    hoisted: list = field(default_factory=list)  # arrays passed after the leaves (see FunctionScope.hoist)

    @property
    def function_type(self) -> ir.FunctionType:
        return ir.FunctionType(ir.TypeAttr(self.func_op.attributes["function_type"]).value)


def trace(fn: Callable, args: tuple, kwargs: dict | None, module: ir.Module, name: str,
          *, leaf_avals: Sequence[ShapeDtype] | None = None, private: bool = False,
          hoist_bytes: int | None = None) -> TracedFunction:
    """Traces `fn(*args, **kwargs)` into a new `func.func @name` at the end of `module`.

    `args`/`kwargs` are pytrees whose leaves are arrays, Python scalars or tracers;
    their avals (or `leaf_avals`) become the argument types, in flattened order.
    `hoist_bytes` (outermost traces only) turns large arrays the function reads into
    trailing arguments: `TracedFunction.hoisted` holds the arrays to pass after the leaves.
    Must run with the tfn context entered.
    """
    leaves, in_tree = pytree.flatten((tuple(args), dict(kwargs or {})))
    avals = list(leaf_avals) if leaf_avals is not None else [ShapeDtype.of(x) for x in leaves]
    arg_types = [tensor_type(a.shape, a.dtype) for a in avals]
    name = unique_symbol(module.body, name)
    with ir.InsertionPoint(module.body), user_location():
        func_op = func.FuncOp(name, (arg_types, []))
        if private:
            func_op.attributes["sym_visibility"] = ir.StringAttr.get("private")
        block = func_op.add_entry_block()
    scope = FunctionScope(func_op, block, current_scope())
    if hoist_bytes is not None and scope.parent is None:
        scope.hoist_bytes = hoist_bytes
    _SCOPES.stack.append(scope)
    try:
        with ir.InsertionPoint(block):
            tracers = [Tracer(a, scope, av.weak) for a, av in zip(block.arguments, avals)]
            call_args, call_kwargs = pytree.unflatten(in_tree, tracers)
            out = fn(*call_args, **call_kwargs)
            out_leaves, out_tree = pytree.flatten(out)
            with user_location():
                values = [_output_value(x, scope, i) for i, x in enumerate(out_leaves)]
                func.ReturnOp(values)
    except BaseException:
        func_op.operation.erase()
        raise
    finally:
        _SCOPES.stack.pop()
    all_arg_types = [a.type for a in block.arguments]
    func_op.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get(all_arg_types, [v.type for v in values]))
    out_avals = [ShapeDtype(shape_of(v), dtype_of(v), getattr(x, "weak", False) if isinstance(x, Tracer) else False)
                 for v, x in zip(values, out_leaves)]
    return TracedFunction(name, func_op, in_tree, avals, out_tree, out_avals, list(scope.captured),
                          hoisted=[data for _, data in scope.hoisted])


def _output_value(x, scope, index) -> ir.Value:
    if isinstance(x, Tracer) or isinstance(x, (np.ndarray, np.generic, bool, int, float)):
        return value_of(x, scope)
    raise TypeError(f"output leaf {index} of a traced function is a {type(x).__name__}, "
                    f"not an array (outputs must be pytrees of arrays)")
