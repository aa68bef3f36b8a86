"""`tfn.jit`: trace once per signature, compile through MLIR, cache, run natively."""
from __future__ import annotations

import functools
import inspect
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from mlir import ir

from tfn.api.caching import FunctionCache, SignatureCache, count_compile, function_key, label, try_key
from tfn.frontend import pytree
from tfn.frontend.source import user_line
from tfn.frontend.tracer import ShapeDtype, TraceError, Tracer, context, current_scope, renew_context, trace

# One MLIR context serves the process: tracing and compiling happen one at a time.
_COMPILE_LOCK = threading.RLock()
DEVICES = ("cpu", "cuda")


@dataclass
class Compiled:
    """A cache entry: the program and how to rebuild its outputs (no IR is kept)."""
    out_tree: pytree.TreeDef
    executable: Any
    trace_seconds: float = 0.0

    @property
    def has_stages(self) -> bool:
        return isinstance(getattr(self.executable, "stages", {}).get("tfn"), str)


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

    def __init__(self, fn: Callable | None, static_argnums=(), static_argnames=(), device: str = "cpu",
                 name: str | None = None):
        if device not in DEVICES:
            raise ValueError(f"tfn.jit: unknown device {device!r}; choose one of {', '.join(DEVICES)}")
        self.fn = fn  # None: the function is given at each call (`_call`), and never kept
        self.device = device
        name = name or getattr(fn, "__name__", type(fn).__name__)
        self._label = name if fn is None else label("jit", fn)
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
        self._has_statics = bool(self.static_argnums or self.static_argnames)
        # Jitted objects of one function and options share their programs (tfn.jit(f)(x)
        # in a loop compiles once, as in JAX); see tfn.api.caching for the keys.
        keyed = try_key(self) if fn is not None else None
        self._cache, self._flat_cache = (_new_tables(self._label) if keyed is None
                                         else _JITS.get(*keyed, lambda: _new_tables(self._label)))
        if fn is not None:
            functools.update_wrapper(self, fn)
        else:
            self.__name__ = name

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

    def _bind(self, fn, static_pos, static):
        fixed = {k: v for k, _, v in static}

        def bound(*dyn_args, **dyn_kwargs):
            it = iter(dyn_args)
            n = len(dyn_args) + len(static_pos)
            full = [fixed[i] if i in fixed else next(it) for i in range(n)]
            kw = {**dyn_kwargs, **{k: v for k, v in fixed.items() if isinstance(k, str)}}
            return fn(*full, **kw)
        return bound

    def _leaves(self, dyn_args, dyn_kwargs):
        leaves, tree = pytree.flatten((dyn_args, dyn_kwargs))
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Tracer):  # only reached outside every trace (inside one, jit inlines)
                raise TraceError(f"a traced array {leaf!r} escaped the function that traced it "
                                 f"(argument leaf {i} of {self.__name__})\n  at {user_line()}")
            if not _is_array_leaf(leaf) and hasattr(leaf, "__dlpack__"):  # torch, JAX, CuPy: no copy
                from tfn.runtime.dlpack import from_dlpack
                leaves[i] = leaf = from_dlpack(leaf)
            if not _is_array_leaf(leaf):
                raise TypeError(
                    f"tfn.jit({self.__name__}): argument leaf {i} is a {type(leaf).__name__}, not an array; "
                    f"mark its argument static with static_argnums")
        return leaves, tree

    def _compiled(self, args, kwargs, fn=None, keep_stages: bool = False) -> tuple[Compiled, list]:
        static_pos, static, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, tree = self._leaves(dyn_args, dyn_kwargs)
        avals = tuple(ShapeDtype.of(x) for x in leaves)
        key = (tree, avals, tuple(sorted((self._param_name(k), t, v) for k, t, v in static)))
        hit = self._cache.get(key)
        if hit is None or (keep_stages and not hit.has_stages):
            fn = self.fn if fn is None else fn
            hit = compile_function(self._bind(fn, static_pos, static), dyn_args, dyn_kwargs, avals,
                                   name=getattr(fn, "__name__", self.__name__), device=self.device,
                                   source=fn, keep_stages=keep_stages)
            self._cache.put(key, hit, _describe_change)
        return hit, leaves

    def _call(self, fn, args, kwargs):
        """Runs the program compiled for these arguments, tracing `fn` on a miss."""
        if not kwargs and not self._has_statics and all(type(a) is np.ndarray for a in args):
            key = tuple((a.shape, a.dtype) for a in args)
            compiled = self._flat_cache.get(key)
            if compiled is None:
                compiled, _ = self._compiled(args, kwargs, fn)
                self._flat_cache[key] = compiled
            return pytree.unflatten(compiled.out_tree, compiled.executable(*args))
        compiled, leaves = self._compiled(args, kwargs, fn)
        outs = compiled.executable(*leaves)  # executables convert what they must (scalars, lists)
        return pytree.unflatten(compiled.out_tree, outs)

    # ---- public
    def __call__(self, *args, **kwargs):
        if current_scope() is not None:
            return self.fn(*args, **kwargs)  # inside another trace: just inline
        if not kwargs and not self._has_statics and all(type(a) is np.ndarray for a in args):
            compiled = self._flat_cache.get(tuple((a.shape, a.dtype) for a in args))
            if compiled is not None:  # the hot path, inlined
                return pytree.unflatten(compiled.out_tree, compiled.executable(*args))
        return self._call(self.fn, args, kwargs)

    def lower(self, *args, **kwargs) -> "Lowered":
        """Traces and compiles for these arguments, keeping the IR of every stage:
        `.as_text(stage)` shows one, `.compile_stats()` the time each took.

        The program joins the cache (calls with these arguments reuse it)."""
        compiled, _ = self._compiled(args, kwargs, keep_stages=True)
        stats = dict(getattr(compiled.executable, "compile_stats", None) or {})
        stats["trace"] = compiled.trace_seconds
        return Lowered(compiled.executable.stages, stats, compiled.executable.pipeline)

    def cache_size(self) -> int:
        """How many signatures have a compiled program in this function's cache."""
        return len(self._cache)

    def cache_clear(self) -> None:
        """Drops every compiled program of this function (they are compiled again when needed).

            >>> import numpy as np, tfn, tfn.numpy as tnp
            >>> f = tfn.jit(lambda x: x + 1)
            >>> _ = f(np.zeros(2)), f(np.zeros(3))
            >>> f.cache_size()
            2
            >>> f.cache_clear()
            >>> f.cache_size()
            0
        """
        self._cache.clear()

    def _cache_key(self, watch, depth):
        return ("jit", self.static_argnums, self.static_argnames, self.device,
                function_key(self.fn, watch, depth))


# function key -> (signature cache, flat cache) of jitted functions
_JITS = FunctionCache("jitted functions")


def _new_tables(label: str) -> tuple[SignatureCache, dict]:
    # Calls whose arguments are all plain ndarrays (no pytrees, keywords or statics),
    # keyed by (shape, dtype) per argument: the common hot path skips the flattening.
    # It only points into the signature cache, and is emptied whenever that drops a program.
    flat: dict = {}
    return SignatureCache(label, on_evict=flat.clear), flat


def _describe_change(old, new) -> str:
    """What differs between two signature keys (tree, avals, statics) of `Jitted`."""
    (tree0, avals0, static0), (tree1, avals1, static1) = old, new
    if tree0 != tree1:
        return f"argument structure {tree0} -> {tree1}"
    changed = [f"argument leaf {i} {a!r} -> {b!r}" for i, (a, b) in enumerate(zip(avals0, avals1)) if a != b]
    if changed:
        return ", ".join(changed[:3]) + (f" (and {len(changed) - 3} more)" if len(changed) > 3 else "")
    before = {k: v for k, _, v in static0}
    changed = [f"static argument {k} {before.get(k)!r} -> {v!r}" for k, _, v in static1 if before.get(k) != v]
    return ", ".join(changed[:3])


@dataclass
class Lowered:
    stages: dict
    _compile_stats: dict | None = None
    _pipeline: str = ""

    def compile_stats(self) -> dict:
        """Seconds spent per step of compiling this program: `trace` (tracing and expanding
        transforms), then the compiler's stages where it reports them.

            >>> import numpy as np, tfn, tfn.numpy as tnp
            >>> stats = tfn.jit(tnp.cos).lower(np.ones(2)).compile_stats()
            >>> stats["trace"] > 0
            True
        """
        return dict(self._compile_stats or {})

    @property
    def pipeline(self) -> str:
        """The pass pipeline that lowered the program: `tfn-opt --pass-pipeline=<it>` on the
        text of stage 'tfn' prints exactly the text of stage 'llvm'.

            >>> import numpy as np, tfn, tfn.numpy as tnp
            >>> tfn.jit(tnp.cos).lower(np.ones(2)).pipeline  # doctest: +ELLIPSIS
            'builtin.module(tfn-lower-to-linalg,tfn-entry-wrapper{callee=main},...tfn-disable-unrolling)'
        """
        return self._pipeline

    def as_text(self, stage: str = "tfn") -> str:
        """IR text of `stage`: 'tfn' (transforms expanded), 'linalg', 'buffers' or 'llvm'
        (and 'gpu' for device="cuda")."""
        texts = [name for name, text in self.stages.items() if isinstance(text, str)]
        if stage not in texts:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(texts)}")
        return self.stages[stage]


def trace_module(fn: Callable, args: tuple, kwargs: dict, avals: Sequence[ShapeDtype], name: str = "main",
                 hoist_bytes: int | None = None):
    """Traces fn into a fresh module, expanding transform ops (the pipeline
    `tfn.passes.pipelines.EXPAND`); returns (module, traced).

    With `hoist_bytes`, arrays of that size or more that fn reads become trailing
    arguments of `main` (`traced.hoisted`) instead of constants."""
    module = ir.Module.create()
    traced = trace(fn, args, kwargs, module, "main", leaf_avals=avals, hoist_bytes=hoist_bytes)
    traced.func_op.attributes["tfn.source_name"] = ir.StringAttr.get(name)
    from tfn.passes.pipelines import EXPAND
    from tfn.passes.registry import run_pipeline
    run_pipeline(module.operation, EXPAND)
    return module, traced


# MLIR uniques attributes (a traced numpy constant is one) in its context for the context's
# whole life. The context is therefore replaced once the programs traced in it held more
# than CONTEXT_RENEWAL["constant_bytes"] of constants, or after CONTEXT_RENEWAL["compiles"]
# compiles (a new context costs ~7 ms); the old one is freed with its last module.
CONTEXT_RENEWAL = {"constant_bytes": 32 << 20, "compiles": 512}
_CONTEXT_USE = {"constant_bytes": 0, "compiles": 0, "depth": 0}
# Programs evicted from the caches are freed, but malloc keeps their pages: every this
# many compiles the free pages go back to the OS (`tfn.runtime.heap.trim`, 1-4 ms).
TRIM_EVERY_COMPILES = 8


def _constant_bytes(module: ir.Module) -> int:
    """Bytes of the non-splat constants of a traced module (what its context keeps)."""
    from tfn.dialect.types import to_dtype
    total = [0]

    def visit(op):
        if op.name == "tfn.constant":
            attr = op.attributes["value"]
            if isinstance(attr, ir.DenseElementsAttr) and not attr.is_splat:
                t = ir.RankedTensorType(attr.type)
                total[0] += int(np.prod(t.shape, dtype=np.int64)) * to_dtype(t.element_type).itemsize
        return ir.WalkResult.ADVANCE
    module.operation.walk(visit)
    return total[0]


def _renew_context_if_worn():
    use = _CONTEXT_USE
    if use["depth"] == 0 and (use["constant_bytes"] > CONTEXT_RENEWAL["constant_bytes"]
                              or use["compiles"] >= CONTEXT_RENEWAL["compiles"]):
        renew_context()
        use["constant_bytes"] = use["compiles"] = 0
    if use["depth"] == 0 and use["compiles"] % TRIM_EVERY_COMPILES == TRIM_EVERY_COMPILES - 1:
        from tfn.runtime.heap import trim
        trim()


def compile_function(fn: Callable, args: tuple, kwargs: dict, avals: Sequence[ShapeDtype],
                     name: str = "f", device: str = "cpu", source: Callable | None = None,
                     keep_stages: bool = False) -> Compiled:
    """Traces and compiles fn for `avals`. `keep_stages` keeps the IR text of each stage
    (for `Jitted.lower`); cached programs keep none."""
    if device == "cuda":
        from tfn.runtime.cuda import CudaExecutable as Executable, device_chip
        device_chip()  # a clear CudaUnavailable before any tracing work
    else:
        from tfn.runtime.cpu import CpuExecutable as Executable
    count_compile()
    with _COMPILE_LOCK:
        _renew_context_if_worn()
        _CONTEXT_USE["depth"] += 1
        try:
            with context(), ir.Location.unknown():
                start = time.perf_counter()
                hoist = HOIST_CONSTANT_BYTES if device == "cpu" else None
                module, traced = trace_module(fn, args, kwargs, avals, name, hoist_bytes=hoist)
                trace_seconds = time.perf_counter() - start
                _CONTEXT_USE["compiles"] += 1
                _CONTEXT_USE["constant_bytes"] += _constant_bytes(module)
                # Past tracing, a failure is the compiler's (or the machine's): name the user's function.
                from tfn.runtime.errors import compile_errors, describe_function
                with compile_errors(describe_function(name, source)):
                    executable = Executable(module, "main", keep_stages=keep_stages)
        finally:
            _CONTEXT_USE["depth"] -= 1
    if traced.hoisted:
        executable = WithConstants(executable, traced.hoisted)
    return Compiled(traced.out_tree, executable, trace_seconds)


# Arrays a CPU program reads from its closure or globals are passed to it as arguments
# from this size on: as constants they would be uniqued in the MLIR context for its whole
# life (memory that outlives the program) and compiled into the binary (LLVM time).
HOIST_CONSTANT_BYTES = 16 << 10


class WithConstants:
    """An executable called with `constants` after the caller's arrays (see `trace`'s
    `hoist_bytes`); its other attributes are the executable's."""

    def __init__(self, executable, constants: list):
        self.executable, self.constants = executable, tuple(constants)

    def __call__(self, *arrays):
        return self.executable(*arrays, *self.constants)

    def __getattr__(self, name):
        return getattr(self.executable, name)


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
