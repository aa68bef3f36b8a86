"""Tracing: Python callables over pytrees of arrays -> `func.func`s of the tfn dialect.

A `Tracer` stands for an array while a function is traced; each operation on it
emits a tfn op at the user's source line. Traces nest (a transform applied
inside a traced function traces its callee into a sibling `func.func`); a
tracer of an enclosing trace used inside an inner one is captured as an extra
argument of the inner function.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from mlir import ir
from mlir.dialects import func

from tfn import ops
from tfn.dialect.context import new_context
from tfn.dialect.symbols import unique_symbol
from tfn.dialect.types import canonical_dtype, dtype_of, shape_of, tensor_type
from tfn.frontend import pytree
from tfn.frontend.source import user_line, user_location, user_source

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
    """An array inside a traced function: its value, shape and dtype, and the misuses it refuses.

    numpy's operators, methods and properties (`x + y`, `x.sum()`, `x.T`, `x[i]`, `x.at`, ...)
    are put on the class by `tfn.numpy` when it is imported (`tfn/numpy/_array_methods.py`),
    as in JAX: the tracer lies below the array library and does not import it.
    """
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
        line = user_source()
        line = line if len(line) <= 80 else line[:77] + "..."
        raise TraceError(
            f"the truth value of a traced array {self!r} is not known while tracing, so Python control flow "
            f"cannot depend on it: {_truth_construct(line)} on a traced value" + (f" (`{line}`)" if line else "")
            + ". Use tfn.lax.cond or tfn.lax.switch to choose between branches, tfn.lax.while_loop (or "
            f"fori_loop, scan) to loop, tfn.numpy.where to select elementwise\n  at {user_line()}")

    def __array__(self, *args, **kwargs):
        raise TraceError(f"cannot convert traced array {self!r} to a numpy array while tracing\n  at {user_line()}")

    def __float__(self):
        raise TraceError(
            f"the value of a traced array {self!r} is not known while tracing: float(), int() and use "
            f"as a Python index need it (use tfn.numpy functions on the array instead, or tfn.lax.cond / "
            f"tfn.lax.while_loop for control flow)\n  at {user_line()}")

    __int__ = __index__ = __float__

    def __hash__(self):
        return id(self)

    def __setitem__(self, index, value):
        raise TypeError(f"a traced array {self!r} is immutable: item assignment is not supported; use "
                        f"x = x.at[index].set(value) (or .add, .multiply, .min, .max) for an updated copy"
                        f"\n  at {user_line()}")


_TRUTH_CONSTRUCTS = "an `if`, `while`, `and`, `or`, `not` or `bool()`"


def _truth_construct(line: str) -> str:
    """Which construct asked for a truth value, guessed from the user's line: its first word
    (`if`, `elif`, `while`, `assert`), else the `and`/`or`/`not`/`bool(` it holds.

        >>> _truth_construct("while x < 3:"), _truth_construct("y = a and not b")
        ('a `while`', '`and`/`not`')
    """
    words = line.replace("(", " ( ").replace(")", " ) ").replace(":", " : ").split()
    first = words[0] if words else ""
    if first in ("if", "elif"):
        return "an `if`"
    if first in ("while", "assert"):
        return f"a `{first}`" if first == "while" else "an `assert`"
    found = [w for w in ("and", "or", "not") if w in words]
    if found:
        return "/".join(f"`{w}`" for w in found)
    if "bool" in words:
        return "`bool()`"
    if "if" in words:
        return "an `if` expression"
    return _TRUTH_CONSTRUCTS


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
