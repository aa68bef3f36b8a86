"""`tfn.jit`: trace once per signature, compile through MLIR, cache, run natively."""
from __future__ import annotations

import functools
import inspect
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from mlir import ir

from tfn.frontend import pytree
from tfn.frontend.source import user_line
from tfn.frontend.tracer import (ShapeDtype, TraceError, Tracer, TracedFunction, context, current_scope,
                                  trace)

# One MLIR context serves the process: tracing and compiling happen one at a time.
_COMPILE_LOCK = threading.RLock()
DEVICES = ("cpu", "cuda")


@dataclass
class Compiled:
    traced: TracedFunction
    executable: Any


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _normalize_argnums(static_argnums, name: str = "f") -> tuple[int, ...]:
    if static_argnums is None:
        return ()
    if _is_int(static_argnums):
        return (int(static_argnums),)
    if isinstance(static_argnums, (tuple, list)) and all(_is_int(a) for a in static_argnums):
        return tuple(int(a) for a in static_argnums)
    raise TypeError(f"tfn.jit({name}): static_argnums must be an int or a sequence of ints, got "
                    f"{static_argnums!r}\n  at {user_line()}")


def _normalize_argnames(static_argnames, name: str = "f") -> tuple[str, ...]:
    if isinstance(static_argnames, str):
        return (static_argnames,)
    if isinstance(static_argnames, (tuple, list)) and all(isinstance(a, str) for a in static_argnames):
        return tuple(static_argnames)
    raise TypeError(f"tfn.jit({name}): static_argnames must be a str or a sequence of strs, got "
                    f"{static_argnames!r}\n  at {user_line()}")


def _is_array_leaf(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, bool, int, float, Tracer)) or type(x).__name__ == "DeviceArray"


class Jitted:
    """A function compiled on first call for each signature; see `tfn.jit`."""

    def __init__(self, fn: Callable, static_argnums=(), static_argnames=(), device: str = "cpu"):
        if device not in DEVICES:
            raise ValueError(f"tfn.jit: unknown device {device!r}; choose one of {', '.join(DEVICES)}")
        self.fn = fn
        self.device = device
        name = getattr(fn, "__name__", type(fn).__name__)
        argnums = _normalize_argnums(static_argnums, name)
        argnames = _normalize_argnames(static_argnames, name)
        # A static parameter is static however it is passed: by position or by keyword.
        try:
            positional = [p.name for p in inspect.signature(fn).parameters.values()
                          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            positional = []
        self._positional = positional
        self.static_argnums = argnums + tuple(positional.index(n) for n in argnames
                                              if n in positional and positional.index(n) not in argnums)
        self.static_argnames = argnames + tuple(positional[i] for i in argnums
                                                if 0 <= i < len(positional) and positional[i] not in argnames)
        self._cache: dict = {}
        # Calls whose arguments are all plain ndarrays (no pytrees, keywords or statics),
        # keyed by (shape, dtype) per argument: the common hot path skips the flattening.
        self._flat_cache: dict = {}
        self._has_statics = bool(self.static_argnums or self.static_argnames)
        functools.update_wrapper(self, fn)

    # ---- signature handling
    def _split(self, args, kwargs):
        n = len(args)
        static_pos = tuple(sorted({a % n if n else a for a in self.static_argnums if -n <= a < n}))
        static = tuple((i, args[i]) for i in static_pos) + tuple(
            (k, kwargs[k]) for k in sorted(kwargs) if k in self.static_argnames)
        # 1, 1.0 and True are equal and hash alike but promote differently: key on their types too.
        static = tuple((k, type(v), v) for k, v in static)
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_pos)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        try:
            hash(static)
        except TypeError:
            raise TypeError(f"tfn.jit({self.__name__}): static arguments must be hashable, got "
                            f"{[t.__name__ for _, t, _ in static]}") from None
        return static_pos, static, dyn_args, dyn_kwargs

    def _param_name(self, k) -> str:
        """The parameter name of position or keyword k (so f(x, 3) and f(x, n=3) share a trace)."""
        return self._positional[k] if isinstance(k, int) and k < len(self._positional) else str(k)

    def _bind(self, static_pos, static):
        fixed = {k: v for k, _, v in static}

        def bound(*dyn_args, **dyn_kwargs):
            it = iter(dyn_args)
            n = len(dyn_args) + len(static_pos)
            full = [fixed[i] if i in fixed else next(it) for i in range(n)]
            kw = {**dyn_kwargs, **{k: v for k, v in fixed.items() if isinstance(k, str)}}
            return self.fn(*full, **kw)
        return bound

    def _leaves(self, dyn_args, dyn_kwargs):
        leaves, tree = pytree.flatten((dyn_args, dyn_kwargs))
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Tracer):  # only reached outside every trace (inside one, jit inlines)
                raise TraceError(f"a traced array {leaf!r} escaped the function that traced it "
                                 f"(argument leaf {i} of {self.__name__})\n  at {user_line()}")
            if not _is_array_leaf(leaf):
                raise TypeError(
                    f"tfn.jit({self.__name__}): argument leaf {i} is a {type(leaf).__name__}, not an array; "
                    f"mark its argument static with static_argnums")
        return leaves, tree

    def _compiled(self, args, kwargs) -> tuple[Compiled, list]:
        static_pos, static, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, tree = self._leaves(dyn_args, dyn_kwargs)
        avals = tuple(ShapeDtype.of(x) for x in leaves)
        key = (tree, avals, tuple(sorted((self._param_name(k), t, v) for k, t, v in static)))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = compile_function(self._bind(static_pos, static), dyn_args, dyn_kwargs,
                                                      avals, name=getattr(self.fn, "__name__", "f"),
                                                      device=self.device, source=self.fn)
        return hit, leaves

    # ---- public
    def __call__(self, *args, **kwargs):
        if current_scope() is not None:
            return self.fn(*args, **kwargs)  # inside another trace: just inline
        if not kwargs and not self._has_statics and all(type(a) is np.ndarray for a in args):
            key = tuple((a.shape, a.dtype) for a in args)
            compiled = self._flat_cache.get(key)
            if compiled is None:
                compiled, _ = self._compiled(args, kwargs)
                self._flat_cache[key] = compiled
            return pytree.unflatten(compiled.traced.out_tree, compiled.executable(*args))
        compiled, leaves = self._compiled(args, kwargs)
        outs = compiled.executable(*leaves)  # executables convert what they must (scalars, lists)
        return pytree.unflatten(compiled.traced.out_tree, outs)

    def lower(self, *args, **kwargs) -> "Lowered":
        """Traces and compiles for these arguments; `.as_text(stage)` shows the IR of a stage."""
        compiled, _ = self._compiled(args, kwargs)
        return Lowered(compiled.executable.stages)

    def cache_size(self) -> int:
        return len(self._cache)


@dataclass
class Lowered:
    stages: dict

    def as_text(self, stage: str = "tfn") -> str:
        """IR text of `stage`: 'tfn' (transforms expanded), 'linalg', 'buffers' or 'llvm'
        (and 'gpu' for device="cuda")."""
        texts = [name for name, text in self.stages.items() if isinstance(text, str)]
        if stage not in texts:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(texts)}")
        return self.stages[stage]


def trace_module(fn: Callable, args: tuple, kwargs: dict, avals: Sequence[ShapeDtype], name: str = "main"):
    """Traces fn into a fresh module, expanding transform ops; returns (module, traced)."""
    module = ir.Module.create()
    traced = trace(fn, args, kwargs, module, "main", leaf_avals=avals)
    traced.func_op.attributes["tfn.source_name"] = ir.StringAttr.get(name)
    from tfn.transforms.merge_identical_functions import merge_identical_functions
    from tfn.transforms.transform_driver import expand_all
    merge_identical_functions(module.operation)  # a transform of a function traced K times is expanded once
    expand_all(module.operation)
    return module, traced


def compile_function(fn: Callable, args: tuple, kwargs: dict, avals: Sequence[ShapeDtype],
                     name: str = "f", device: str = "cpu", source: Callable | None = None) -> Compiled:
    if device == "cuda":
        from tfn.runtime.cuda import CudaExecutable as Executable, device_chip
        device_chip()  # a clear CudaUnavailable before any tracing work
    else:
        from tfn.runtime.cpu import CpuExecutable as Executable
    with _COMPILE_LOCK, context(), ir.Location.unknown():
        module, traced = trace_module(fn, args, kwargs, avals, name)
        # Past tracing, a failure is the compiler's (or the machine's): name the user's function.
        from tfn.runtime.errors import compile_errors, describe_function
        with compile_errors(describe_function(name, source)):
            executable = Executable(module, "main")  # its stages start with the tfn text
    return Compiled(traced, executable)


def jit(fn: Callable | None = None, *, static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (), device: str = "cpu") -> Jitted:
    """Compiles `fn` with MLIR on its first call for each signature and caches the binary.

    The signature is the pytree structure of the arguments, each array's shape and
    dtype, and the values of static arguments. Returns numpy arrays in `fn`'s output
    structure. `device="cuda"` compiles for NVIDIA GPU 0 instead of the host CPU
    (numpy arrays in and out; buffers live in CUDA managed memory meanwhile).

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> f = tfn.jit(lambda x, n: tnp.sum(x ** n), static_argnums=1)
        >>> float(f(np.arange(3.0), 2))
        5.0
        >>> print(tfn.jit(tnp.sin).lower(np.ones(2, np.float32)).as_text("tfn"))  # doctest: +ELLIPSIS
        module {
        ...
    """
    if fn is None:
        return lambda f: jit(f, static_argnums=static_argnums, static_argnames=static_argnames, device=device)
    return Jitted(fn, static_argnums, static_argnames, device)
