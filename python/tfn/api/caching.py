"""Compile caches with bounded memory: keys for functions, LRU tables, retrace warnings.

A compiled program is cached under the *function* it came from and the *signature*
it was traced for. Function keys never keep a user's function alive:

- a transform object (`tfn.grad(f)`, `tfn.vmap(g, in_dims=...)`, a `tfn.jit`) keys as
  (kind, options, key of its inner function), so `tfn.grad(f)(x)` written in a loop
  compiles once, whatever transform object was built;
- a plain Python function keys by what determines its trace: its code object, its
  module, and the values of its closure cells, defaults and the globals its code names.
  Numbers, strings and other immutable atoms key by value; functions recursively;
  numpy arrays by identity (through a weak reference: the entry is dropped when the
  array dies, so an id reused by a new array never finds a stale program) and by a
  checksum of their contents (an array written in place is a new key). Any other
  object (a list, a dict, an instance whose attributes may change) makes the function
  key by its own identity, weakly: calls through the same function object reuse the
  program and see that state as it was when traced, as with `tfn.jit` and `jax.jit`.
  So `tfn.grad(lambda x: f(x) * 2)(x)` in a loop compiles once, and a loop that rebinds
  or updates a global or captured array compiles again when it changed.
- a bound method keys by its function and the identity of its object (a new bound
  method object is made at each attribute access); state read through `self` is read
  when traced, as in JAX.

Tables are LRU-bounded (`FunctionCache`, `SignatureCache`); `tfn.clear_caches()` empties
all of them. A function traced for many signatures warns once (`RecompileWarning`).
"""
from __future__ import annotations

import os
import sys
import threading
import types
import warnings
import weakref
import zlib
from collections import OrderedDict
from typing import Any, Callable

import numpy as np


class TfnWarning(UserWarning):
    """Base class of tfn's warnings."""


class RecompileWarning(TfnWarning):
    """A function was traced and compiled again for many signatures (or its cache is full).

        >>> import warnings, tfn
        >>> issubclass(tfn.RecompileWarning, UserWarning)
        True
    """


# Limits; change them with `set_cache_limits`.
LIMITS = {
    "signatures": 64,       # compiled signatures kept per function (LRU)
    "functions": 64,        # functions kept by each global cache (LRU); a program is ~1 MB
    "warn_after": 16,       # traces of one function before a RecompileWarning
}


def set_cache_limits(signatures: int | None = None, functions: int | None = None,
                     warn_after: int | None = None) -> dict:
    """Sets the cache limits that are given; returns the previous limits.

    `signatures`: compiled signatures kept per function (least recently used evicted);
    `functions`: functions kept by each global cache of the eager transform API;
    `warn_after`: traces of one function before a `RecompileWarning`.

        >>> import tfn
        >>> old = tfn.set_cache_limits(signatures=8)
        >>> tfn.set_cache_limits(**old)["signatures"]
        8
    """
    old = dict(LIMITS)
    for name, value in (("signatures", signatures), ("functions", functions), ("warn_after", warn_after)):
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"tfn.set_cache_limits: {name} must be a positive int, got {value!r}")
            LIMITS[name] = value
    return old


# ---------------------------------------------------------------- compile counter

_COMPILES = [0]


def count_compile() -> None:
    _COMPILES[0] += 1


def compile_count() -> int:
    """How many programs this process has traced and compiled (for tests and profiling)."""
    return _COMPILES[0]


# ---------------------------------------------------------------- function keys

class Unkeyable(Exception):
    """A function whose behaviour cannot be keyed soundly by anything but its identity."""


_ATOMS = (type(None), bool, int, str, bytes, type(Ellipsis), range, np.dtype)


class _Watch(list):
    """Objects a key names by identity; also bounds the work of building one key."""
    steps = 0

    def step(self):
        self.steps += 1
        if self.steps > 4096:
            raise Unkeyable


def _identity(obj, watch: list):
    """Key of `obj` by identity, watched weakly; Unkeyable if it cannot be weakly referenced."""
    try:
        weakref.ref(obj)
    except TypeError:
        raise Unkeyable from None
    watch.append(obj)
    return ("id", id(obj))


def value_key(v, watch: list, depth: int = 0):
    """A hashable key standing for `v` as a value a traced function may read."""
    if depth > 16:
        raise Unkeyable
    if isinstance(watch, _Watch):
        watch.step()
    t = type(v)
    if t in _ATOMS:
        return (t, v)
    if t is float:  # by its bits: 0.0 and -0.0 are equal but trace differently
        return (t, v.hex())
    if t is complex:
        return (t, v.real.hex(), v.imag.hex())
    if isinstance(v, np.generic):
        return (t, v.dtype.str, v.tobytes())
    if t in (tuple, frozenset):
        return (t, tuple(value_key(x, watch, depth + 1) for x in v))
    if t is np.ndarray:
        return _array_key(v, watch)
    if isinstance(v, (types.ModuleType, type, types.BuiltinFunctionType, np.ufunc)):
        return ("static", v)  # lives as long as the program, in practice
    if isinstance(v, (types.FunctionType, types.MethodType)) or hasattr(type(v), "_cache_key"):
        return function_key(v, watch, depth + 1)
    raise Unkeyable  # an object whose attributes may change: only its function's identity keys it


def _array_key(a: np.ndarray, watch: list):
    """An array by identity and contents: its values are traced as constants, so an array
    written in place after a trace must not find that trace."""
    if a.dtype.hasobject:
        raise Unkeyable
    data = a if a.flags.c_contiguous else np.ascontiguousarray(a)
    return (_identity(a, watch), a.shape, a.dtype.str, zlib.crc32(data.reshape(-1).view(np.uint8)))


def _in_tfn(f) -> bool:
    """Whether tfn's own code defined `f`: its globals are those of a loaded tfn module. The
    module may not be `f.__module__`: tfn.numpy's functions are wrapped in `tfn.numpy._core`."""
    home = sys.modules.get(f.__globals__.get("__name__", ""))
    return home is not None and home.__name__.startswith("tfn.") and home.__dict__ is f.__globals__


def _global_names(code) -> set:
    """Names a code object (and the code nested in it: lambdas, comprehensions) may read
    from its globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def function_key(f, watch: list | None = None, depth: int = 0):
    """A hashable key for `f`: equal keys trace alike. Objects it names by identity are
    appended to `watch` (weakly held by the caller). Raises Unkeyable."""
    watch = [] if watch is None else watch
    if depth > 16:
        raise Unkeyable
    if hasattr(type(f), "_cache_key"):  # a transform object or a jitted function
        return f._cache_key(watch, depth + 1)
    if isinstance(f, types.MethodType):  # a bound method is a new object at each attribute access
        return ("method", function_key(f.__func__, watch, depth + 1), _identity(f.__self__, watch))
    if isinstance(f, types.FunctionType):
        if (f.__module__ or "").startswith("tfn.") and _in_tfn(f):
            return ("static", f)  # tfn's own functions (tfn.numpy, tfn.nn) do not change
        module = sys.modules.get(f.__module__)
        if module is None or getattr(module, "__dict__", None) is not f.__globals__:
            return _identity(f, watch)  # globals of an exec namespace: no module keeps them
        try:
            parts = [value_key(c.cell_contents, watch, depth + 1) if _filled(c) else ("empty",)
                     for c in f.__closure__ or ()]
            parts.append(value_key(f.__defaults__, watch, depth + 1))
            kw = f.__kwdefaults__
            parts.append(value_key(tuple(sorted(kw.items())) if kw else None, watch, depth + 1))
            # The globals it reads, as they are now: a global array rebound (W = W - lr * g)
            # or written in place is a new key, not a stale program.
            g = f.__globals__
            parts.append(tuple((name, value_key(g[name], watch, depth + 1))
                               for name in sorted(_global_names(f.__code__)) if name in g))
        except Unkeyable:
            return _identity(f, watch)
        # Functions of one code object and module differ only by these values.
        return ("function", f.__code__, module, tuple(parts))
    if isinstance(f, (types.BuiltinFunctionType, np.ufunc)):
        return ("static", f)
    return _identity(f, watch)


def _filled(cell) -> bool:
    try:
        cell.cell_contents
        return True
    except ValueError:  # a cell not assigned yet
        return False


def try_key(f) -> tuple[Any, list] | None:
    """(key, objects to watch) for f, or None when f cannot be keyed at all."""
    watch = _Watch()
    try:
        key = function_key(f, watch)
        hash(key)
        return key, watch
    except (Unkeyable, TypeError):
        return None


def freeze(x):
    """A hashable stand-in for an option value (in_dims pytrees, argnums lists)."""
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(freeze(y) for y in x))
    if isinstance(x, dict):
        return ("dict", tuple(sorted((repr(k), freeze(v)) for k, v in x.items())))
    hash(x)
    return (type(x), x)


def label(kind: str, f) -> str:
    """`tfn.kind(name)`, and where f was defined when it is Python code: for warnings."""
    name = getattr(f, "__name__", type(f).__name__)
    code = getattr(f, "__code__", None)
    where = f" (defined at {code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    return f"tfn.{kind}({name}){where}"


# ---------------------------------------------------------------- tables

_TABLES: "weakref.WeakSet[Any]" = weakref.WeakSet()


class _Table:
    """An ordered table of programs, registered for `clear_caches`."""

    def __init__(self):
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.RLock()
        _TABLES.add(self)

    def __len__(self) -> int:
        return len(self._entries)

    def values(self):
        return list(self._entries.values())

    def clear(self):
        with self._lock:
            self._entries.clear()


class FunctionCache(_Table):
    """key of a function -> value, LRU-bounded by LIMITS["functions"]; an entry is dropped
    as soon as an object its key names by identity dies (checked on the next access)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self._refs: dict = {}          # key -> weak references that keep watch
        self._dead: list = []

    def __len__(self) -> int:
        self._purge()
        return super().__len__()

    def _purge(self):
        while self._dead:
            key, refs = self._dead.pop()
            if self._refs.get(key) is refs:
                del self._refs[key]
                self._entries.pop(key, None)

    def get(self, key, watch: list, make: Callable[[], Any]):
        with self._lock:
            self._purge()
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
                return value
            value = self._entries[key] = make()
            refs: list = []
            dead = self._dead
            callback = lambda _, key=key, refs=refs: dead.append((key, refs))  # noqa: E731
            refs.extend(weakref.ref(obj, callback) for obj in watch)
            self._refs[key] = refs
            while len(self._entries) > LIMITS["functions"]:
                old, _ = self._entries.popitem(last=False)
                self._refs.pop(old, None)
            return value

    def clear(self):
        with self._lock:
            super().clear()
            self._refs.clear()
            self._dead.clear()


class SignatureCache(_Table):
    """signature -> compiled program of one function, LRU-bounded by LIMITS["signatures"].

    Counts traces; the `warn_after`-th one, and the first eviction, warn (RecompileWarning)
    naming the function, the caller's line and what changed from the previous signature."""

    def __init__(self, name: str, on_evict: Callable[[], None] | None = None):
        super().__init__()
        self.name = name
        self._on_evict = on_evict
        self.traces = 0
        self._warned_retrace = self._warned_evict = False
        self._last = None

    def get(self, key):
        value = self._entries.get(key)
        if value is not None:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
        return value

    def put(self, key, value, describe: Callable[[Any, Any], str] | None = None):
        from tfn.frontend.source import user_line
        with self._lock:
            previous, self._last = self._last, key
            self.traces += 1
            self._entries[key] = value
            self._entries.move_to_end(key)
            evicted = False
            while len(self._entries) > LIMITS["signatures"]:
                self._entries.popitem(last=False)
                evicted = True
            if evicted and self._on_evict is not None:
                self._on_evict()
        message = None
        if evicted and not self._warned_evict:
            self._warned_evict = True
            message = (f"{self.name} has been compiled for more than {LIMITS['signatures']} signatures; the "
                       f"least recently used programs are dropped and will be compiled again when needed "
                       f"(tfn.set_cache_limits(signatures=...) raises the limit)")
        elif self.traces == LIMITS["warn_after"] and not self._warned_retrace:
            self._warned_retrace = True
            message = (f"{self.name} has been traced and compiled {self.traces} times: each new signature "
                       f"(argument shapes, dtypes, structure or static values) compiles again")
        if message is not None:
            if describe is not None and previous is not None:
                change = describe(previous, key)
                if change:
                    message += f"; last change: {change}"
            warnings.warn(f"{message}\n  at {user_line()}", RecompileWarning, stacklevel=_user_stacklevel())
        return value

    def clear(self):
        super().clear()
        if self._on_evict is not None:
            self._on_evict()


class Programs(_Table):
    """A small table (LIMITS["signatures"] entries, the oldest dropped first): call
    structure (argument count, or tree and static leaves) -> program."""

    def get(self, key, make: Callable[[], Any]):
        value = self._entries.get(key)
        if value is not None:
            return value
        with self._lock:
            value = self._entries[key] = make()
            while len(self._entries) > LIMITS["signatures"]:
                self._entries.popitem(last=False)
            return value


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stacklevel() -> int:
    """The `stacklevel` of the first frame outside tfn, for the caller of `warnings.warn`."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def clear_caches() -> None:
    """Empties every compile cache of tfn (jitted functions' and the eager API's), as
    `jax.clear_caches`; compiled programs no longer referenced are freed.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> f = tfn.jit(tnp.sin)
        >>> _ = f(np.zeros(2))
        >>> tfn.clear_caches()
        >>> f.cache_size()
        0
    """
    for table in list(_TABLES):
        table.clear()
    from tfn.runtime.heap import trim
    trim()
