"""Hypothesis strategies for random tfn.numpy programs (`cases()`).

A program is a small DAG grown op by op: every op draws its operands from the values
so far (recent ones first, so values get reused) or from fresh inputs shaped to fit
(broadcasting partners, matmul right-hand sides, ...), and is evaluated with numpy at
once, so a drawn op that numpy rejects is dropped and every kept one has a known shape
and dtype. Two modes:

- "general": every dtype (bool, int32, int64, float32, float64, Python scalars), the
  whole tfn.numpy surface, zero-size dims; checked against numpy, eagerly, batched, AOT.
- "smooth": float inputs and mostly differentiable ops; also checked by grad, jvp, vjp,
  jacobians, hessian and vmap(grad) against finite differences and each other.

With a small probability the last op is one numpy rejects (bad shapes, axes, indices),
and the case expects a clear error from tfn.
"""
from __future__ import annotations

import re
import warnings
from typing import Callable

import numpy as np
from hypothesis import strategies as st

from fuzz.program import Case, function_source

DTYPES = {"general": ["float32", "float64", "int32", "int64", "bool"], "smooth": ["float64", "float32"]}
SMALL_DIMS = [2, 3, 1, 4, 0, 5]
LARGE_DIMS = [16, 17, 24, 8, 33]
MAX_SIZE = 4096
SPECIAL_FLOATS = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e30, -1e30, 1e-40, 89.0, 710.0, -745.0, 0.5, 2.5]
NUMPY_ONLY_DTYPES = ["int8", "uint8", "int16"]    # numpy's results of some bool ops: tfn must match or say why
LITERALS = [2, 0.5, -1.5, 3, 1, 0, -2, 2.0, 1e-3, True, False, 0.25]


def numpy_eval(expr: str, env: dict):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval(expr, {"xp": np, "np": np}, env)  # noqa: S307 - our own generated source


class Builder:
    """The program being grown: inputs, lines `vN = expr`, and each value's numpy result."""

    def __init__(self, draw, mode: str, rng: np.random.Generator, large: bool):
        self.draw, self.mode, self.rng, self.large = draw, mode, rng, large
        self.params: list[str] = []
        self.inputs: list = []
        self.lines: list[tuple[str, str]] = []
        self.env: dict = {}
        self.order: list[str] = []          # all value names, oldest first
        self.used: set[str] = set()         # values some op has taken as an operand

    # ---------------------------------------------------------------- values
    def new_input(self, shape, dtype: str, domain: str = "real") -> str:
        name = f"x{len(self.params)}"
        self.params.append(name)
        value = make_value(self.rng, tuple(shape), dtype, domain, grid=self.mode == "general")
        self.inputs.append(value)
        self.env[name] = value
        self.order.append(name)
        return name

    def new_scalar_input(self) -> str:
        name = f"x{len(self.params)}"
        value = self.draw(st.sampled_from([1.5, 2, -0.75, True, 3, 0.5]))
        self.params.append(name), self.inputs.append(value), self.order.append(name)
        self.env[name] = value
        return name

    def shape(self, name): return np.shape(self.env[name])
    def dtype(self, name): return np.asarray(self.env[name]).dtype if not isinstance(self.env[name], (bool, int, float)) else None
    def kind(self, name):
        v = self.env[name] if name in self.env else numpy_eval(name, self.env)
        if isinstance(v, bool): return "b"
        if isinstance(v, int): return "i"
        if isinstance(v, float): return "f"
        return np.asarray(v).dtype.kind

    def pick(self, pred: Callable[[str], bool] = lambda n: True) -> str | None:
        """A value satisfying pred, the most recent ones the likeliest (and what shrinking goes to)."""
        # A value numpy computes as int8/uint8/int16 (bool ** bool) is int32 in tfn, as documented:
        # it may be a result, but an operand would carry the difference into later promotions.
        names = [n for n in reversed(self.order) if not isinstance(self.env[n], (bool, int, float))
                 and self.env[n].dtype.name not in NUMPY_ONLY_DTYPES and pred(n)]
        if not names:
            return None
        names.sort(key=lambda n: n in self.used)     # values not used yet first: one connected DAG
        name = names[self.draw(st.integers(0, len(names) - 1))]
        self.used.add(name)
        return name

    def emit(self, expr: str) -> str | None:
        try:
            value = numpy_eval(expr, self.env)
        except Exception:
            return None
        if isinstance(value, np.generic):
            value = np.asarray(value)
        if not isinstance(value, np.ndarray) or value.dtype.name not in DTYPES["general"] + NUMPY_ONLY_DTYPES:
            return None
        if value.size > MAX_SIZE * 2 or value.ndim > 5:
            return None
        name = f"v{len(self.lines)}"
        self.lines.append((name, expr))
        self.env[name] = value
        self.order.append(name)
        return name

    # ---------------------------------------------------------------- drawing helpers
    def dim(self) -> int:
        dims = LARGE_DIMS if self.large else SMALL_DIMS
        if self.mode == "smooth":
            dims = [d for d in dims if d != 0]
        return self.draw(st.sampled_from(dims))

    def new_shape(self, max_rank: int = 3) -> tuple:
        rank = self.draw(st.integers(0, 2 if self.large else max_rank))
        return tuple(self.dim() for _ in range(rank))

    def new_dtype(self) -> str:
        return self.draw(st.sampled_from(DTYPES[self.mode]))

    def literal(self):
        lits = LITERALS if self.mode == "general" else [2, 0.5, -1.5, 3, 1, 2.0, 0.25]
        return repr(self.draw(st.sampled_from(lits)))

    def partner(self, a: str) -> str:
        """A second operand that broadcasts against a: a value, a fresh input, a literal, or a itself."""
        choice = self.draw(st.sampled_from(["value", "input", "literal", "same"]))
        sa = self.shape(a)
        if choice == "value":
            b = self.pick(lambda n: n != a and broadcasts(self.shape(n), sa) and np.size(self.env[n]) > 0)
            if b is not None:
                return b
        if choice in ("value", "input"):
            shape = list(sa[self.draw(st.integers(0, len(sa))):])
            for i in range(len(shape)):
                if self.draw(st.integers(0, 3)) == 0:
                    shape[i] = 1
            if self.draw(st.integers(0, 4)) == 0 and len(sa) < 3:
                shape = [self.dim() if not sa else 1] + list(sa)
            dtype = self.dtype(a).name if self.draw(st.booleans()) else self.new_dtype()
            return self.new_input(shape, dtype)
        if choice == "literal":
            return self.literal()
        return a

    def axis_arg(self, ndim: int, allow_tuple: bool = True) -> str:
        """An `axis=` argument for a value of rank ndim: None, an int (maybe negative) or a tuple."""
        form = self.draw(st.sampled_from(["int", "none", "tuple", "neg"]))
        if ndim == 0 or form == "none":
            return "None"
        if form == "tuple" and allow_tuple:
            k = self.draw(st.integers(1, ndim))
            axes = self.draw(st.permutations(range(ndim)))[:k]
            return repr(tuple(axes))
        axis = self.draw(st.integers(0, ndim - 1))
        return str(axis - ndim if form == "neg" else axis)


def broadcasts(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def make_value(rng, shape, dtype: str, domain: str = "real", grid: bool = False):
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.startswith("int"):
        low, high = {"pos": (1, 5), "index": (0, 1)}.get(domain, (-5, 6))
        return np.asarray(rng.integers(low, high, size=shape).astype(dtype))
    data = rng.standard_normal(shape)
    if domain == "pos":
        data = rng.uniform(0.5, 2.0, size=shape)
    elif grid and rng.random() < 0.5:
        data = np.round(data * 4) / 4      # exact small values: ties, equalities, exact sums
    if grid and rng.random() < 0.12:       # special values where numpy's edge semantics are defined
        special = rng.random(shape) < 0.4
        data = np.where(special, rng.choice(SPECIAL_FLOATS, size=shape), data)
    return np.asarray(data.astype(dtype))


# ---------------------------------------------------------------- ops
# Each op takes the builder, draws what it needs, and returns the name of the value it
# emitted (None when numpy rejected what was drawn).

UNARY_FLOAT = ["exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sqrt",
               "exp2", "log2", "log10", "floor", "ceil", "rint", "trunc"]
UNARY_ANY = ["abs", "absolute", "sign", "negative", "square", "reciprocal", "isnan", "isinf", "isfinite",
             "logical_not", "round", "around"]
GUARDED = {"log": "xp.log(xp.abs({a}) + 0.5)", "log2": "xp.log2(xp.abs({a}) + 0.5)",
           "log10": "xp.log10(xp.abs({a}) + 0.5)", "log1p": "xp.log1p(xp.abs({a}))",
           "sqrt": "xp.sqrt(xp.abs({a}) + 0.25)", "reciprocal": "xp.reciprocal({a} * {a} + 1.0)",
           "exp": "xp.exp(xp.tanh({a}))", "expm1": "xp.expm1(xp.tanh({a}))", "exp2": "xp.exp2(xp.sin({a}))",
           "sinh": "xp.sinh(xp.tanh({a}))", "cosh": "xp.cosh(xp.tanh({a}))", "tan": "xp.tan(xp.tanh({a}))"}
SMOOTH_UNARY = ["tanh", "sin", "cos", "exp", "log", "log1p", "sqrt", "expm1", "sinh", "cosh", "square",
                "negative", "reciprocal", "abs", "tan", "exp2", "log2"]
BINARY = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "maximum": None, "minimum": None,
          "power": "**", "floor_divide": "//", "remainder": "%", "logaddexp": None}
COMPARE = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
           "greater_equal": ">="}


def op_unary(b: Builder) -> str | None:
    a = b.pick()
    if a is None:
        return None
    names = SMOOTH_UNARY if b.mode == "smooth" else UNARY_FLOAT + UNARY_ANY
    name = b.draw(st.sampled_from(names))
    if name in GUARDED and (b.mode == "smooth" or b.draw(st.booleans())):
        return b.emit(GUARDED[name].format(a=a))
    if name == "negative" and b.draw(st.booleans()):
        return b.emit(f"-{a}")
    if name == "abs" and b.draw(st.booleans()):
        return b.emit(f"abs({a})")
    if name == "square" and b.mode == "smooth":
        return b.emit(f"xp.square({a})")
    if name == "reciprocal" and b.kind(a) != "f":
        return b.emit(GUARDED[name].format(a=a))     # numpy's integer reciprocal divides by zero
    if name in ("round", "around") and b.draw(st.booleans()):
        return b.emit(f"xp.{name}({a}, {b.draw(st.sampled_from([1, 2, -1]))})")
    if name == "logical_not" and b.kind(a) == "b" and b.draw(st.booleans()):
        return b.emit(f"~{a}")
    return b.emit(f"xp.{name}({a})")


def op_binary(b: Builder) -> str | None:
    a = b.pick()
    if a is None:
        return None
    names = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "logaddexp"]
    if b.mode == "general":
        names += ["floor_divide", "remainder", "mod", "true_divide"]
    name = b.draw(st.sampled_from(names))
    other = b.partner(a)
    if b.draw(st.booleans()):
        a, other = other, a
    if name in ("floor_divide", "remainder", "mod") and b.kind(a) in "iub" and _is_name(other) and b.kind(other) in "iub":
        other = f"(abs({other}) + 1)"    # integer division by zero is undefined in tfn and a warning in numpy
    elif name in ("floor_divide", "remainder", "mod") and not _is_name(other) and other in ("0", "False"):
        other = "3"
    if name == "power":
        base = f"xp.abs({a})" if b.mode == "smooth" or b.kind(a) == "f" else a
        if b.mode == "smooth" or b.draw(st.booleans()):
            return b.emit(f"{base} ** {b.draw(st.sampled_from(['2', '3', '0.5', '1.5', '2.0']))}")
        if _is_name(other) and b.kind(other) in "iu":
            other = f"abs({other})"      # integers to negative integer powers are an error in numpy
        return b.emit(f"xp.power({base}, {other})")
    if name == "divide" and b.mode == "smooth":
        return b.emit(f"{a} / ({other} * {other} + 1.0)" if _is_name(other) else f"{a} / {other}")
    sym = BINARY.get(name)
    if sym and b.draw(st.booleans()):
        return b.emit(f"{a} {sym} {other}")
    return b.emit(f"xp.{name}({a}, {other})")


def _is_name(s: str) -> bool:
    return s[:1] in ("x", "v")


def op_compare_where(b: Builder) -> str | None:
    a = b.pick()
    if a is None:
        return None
    other = b.partner(a)
    name = b.draw(st.sampled_from(sorted(COMPARE)))
    cond = f"{a} {COMPARE[name]} {other}" if b.draw(st.booleans()) else f"xp.{name}({a}, {other})"
    form = b.draw(st.sampled_from(["where", "compare", "logical"] if b.mode == "general" else ["where"]))
    if form == "compare":
        return b.emit(cond)
    if form == "logical":
        c = b.emit(cond)
        if c is None:
            return None
        d = b.pick(lambda n: b.kind(n) == "b" and n != c)
        if d is None:
            return c
        op = b.draw(st.sampled_from(["logical_and", "logical_or", "&", "|"]))
        return b.emit(f"xp.{op}({c}, {d})" if op.startswith("l") else f"{c} {op} {d}")
    x = b.partner(a)
    y = b.partner(a)
    return b.emit(f"xp.where({cond}, {x}, {y})")


def op_clip(b: Builder) -> str | None:
    a = b.pick(lambda n: b.kind(n) != "b")
    if a is None:
        return None
    lo, hi = b.draw(st.sampled_from([("-1.0", "1.0"), ("0", "None"), ("None", "2"), ("-0.5", "0.5")]))
    return b.emit(f"xp.clip({a}, {lo}, {hi})" if b.draw(st.booleans()) else f"{a}.clip({lo}, {hi})")


def op_reduce(b: Builder) -> str | None:
    a = b.pick()
    if a is None:
        return None
    names = ["sum", "mean", "max", "min", "prod", "var", "std", "amax", "amin"]
    if b.mode == "general":
        names += ["argmax", "argmin"]
    name = b.draw(st.sampled_from(names))
    nd = len(b.shape(a))
    axis = b.axis_arg(nd, allow_tuple=not name.startswith("arg"))
    if name in ("prod",) and b.mode == "smooth":
        a = f"xp.tanh({a})"              # bounded factors keep products finite
    args = f"axis={axis}"
    if b.draw(st.booleans()):
        args += f", keepdims={b.draw(st.booleans())}"
    if name in ("var", "std") and b.draw(st.integers(0, 3)) == 0:
        args += ", ddof=1"
    if b.draw(st.booleans()) and _is_name(a) and not name.startswith("am"):
        return b.emit(f"{a}.{name}({args})")
    return b.emit(f"xp.{name}({a}, {args})")


def op_rearrange(b: Builder) -> str | None:
    """flip, roll, tile, repeat, triangles, diagonals, scans, sorts and any/all (composites)."""
    a = b.pick(lambda n: len(b.shape(n)) >= 1)
    if a is None:
        return None
    shape = b.shape(a)
    nd = len(shape)
    names = ["flip", "roll", "tile", "repeat", "cumsum", "cumprod"]
    if nd >= 2:
        names += ["tril", "triu", "diagonal", "trace"]
    if b.mode == "general":
        names += ["sort", "any", "all"]
    name = b.draw(st.sampled_from(names))
    axis = b.draw(st.integers(-nd, nd - 1))
    if name == "flip":
        return b.emit(f"xp.flip({a}, {b.axis_arg(nd)})")
    if name == "roll":
        return b.emit(f"xp.roll({a}, {b.draw(st.integers(-3, 3))}, {axis})")
    if name == "tile":
        return b.emit(f"xp.tile({a}, {tuple(b.draw(st.integers(1, 2)) for _ in range(nd))})")
    if name == "repeat":
        counts = b.draw(st.sampled_from(["2", repr([b.draw(st.integers(0, 2)) for _ in range(shape[axis])])]))
        return b.emit(f"xp.repeat({a}, {counts}, {axis})")
    if name in ("cumsum", "cumprod"):
        if name == "cumprod" and b.kind(a) == "f":
            a = f"xp.tanh({a})"          # bounded factors keep products finite
        return b.emit(f"xp.{name}({a}, {axis})")
    if name in ("tril", "triu"):
        return b.emit(f"xp.{name}({a}, {b.draw(st.integers(-2, 2))})")
    if name in ("diagonal", "trace"):
        return b.emit(f"xp.{name}({a}, {b.draw(st.integers(-2, 2))}, {nd - 2}, {nd - 1})")
    if name == "sort":
        return b.emit(f"xp.sort({a}, {axis})")
    return b.emit(f"xp.{name}({a}, {b.axis_arg(nd)})")


def op_matmul(b: Builder) -> str | None:
    a = b.pick(lambda n: len(b.shape(n)) >= 1 and b.kind(n) != "b" or b.mode == "general")
    if a is None or len(b.shape(a)) == 0:
        return None
    sa = b.shape(a)
    k = sa[-1]
    form = b.draw(st.sampled_from(["matrix", "vector", "batched"]))
    if form == "vector":
        rhs = (k,)
    elif form == "matrix":
        rhs = (k, b.dim())
    else:
        rhs = (b.dim() if len(sa) < 3 else 1, k, b.dim())
    existing = b.pick(lambda n: b.shape(n) == rhs)
    other = existing if existing is not None and b.draw(st.booleans()) else b.new_input(rhs, _partner_dtype(b, a))
    if b.draw(st.booleans()):
        return b.emit(f"{a} @ {other}")
    return b.emit(f"xp.matmul({a}, {other})")


def _partner_dtype(b: Builder, a: str) -> str:
    return b.dtype(a).name if b.draw(st.integers(0, 2)) else b.new_dtype()


def op_contract(b: Builder) -> str | None:
    """dot, inner, vdot, outer, tensordot and einsum of one value and a fitting operand."""
    a = b.pick()
    if a is None:
        return None
    sa = b.shape(a)
    name = b.draw(st.sampled_from(["dot", "inner", "outer", "tensordot", "einsum", "vdot"]))
    dt = _partner_dtype(b, a)
    if name == "outer":
        other = b.pick(lambda n: b.shape(n) != () and np.size(b.env[n]) <= 64) or b.new_input((b.dim(),), dt)
        return b.emit(f"xp.outer({a}, {other})")
    if name == "vdot":
        other = b.new_input(sa, dt)
        return b.emit(f"xp.vdot({a}, {other})")
    if name in ("dot", "inner"):
        if not sa:
            other = b.new_input(b.new_shape(2), dt)
        elif name == "inner":
            other = b.new_input((b.dim(),) * b.draw(st.integers(0, 1)) + (sa[-1],), dt)
        else:
            other = b.new_input((sa[-1],) + (b.dim(),) * b.draw(st.integers(0, 1)), dt)
        return b.emit(f"xp.{name}({a}, {other})")
    if name == "tensordot":
        n = b.draw(st.integers(0, min(len(sa), 2)))
        if b.draw(st.booleans()) or n == 0:
            other = b.new_input(tuple(sa[len(sa) - n:]) + (b.dim(),) * b.draw(st.integers(0, 1)), dt)
            return b.emit(f"xp.tensordot({a}, {other}, axes={n})")
        axes_a = b.draw(st.permutations(range(len(sa))))[:n]
        extra = b.draw(st.integers(0, 1))
        perm = b.draw(st.permutations(range(n + extra)))
        shape_b = [0] * (n + extra)
        for i, ax in enumerate(axes_a):
            shape_b[perm[i]] = sa[ax]
        for j in range(n, n + extra):
            shape_b[perm[j]] = b.dim()
        other = b.new_input(tuple(shape_b), dt)
        return b.emit(f"xp.tensordot({a}, {other}, axes=({list(axes_a)}, {[perm[i] for i in range(n)]}))")
    return _einsum(b, a, sa, dt)


def _einsum(b: Builder, a: str, sa: tuple, dt: str) -> str | None:
    letters = "ijklmn"
    ta = letters[:len(sa)]
    if b.draw(st.booleans()):           # one operand: transpose / reduce
        out = "".join(c for c in b.draw(st.permutations(ta)) if b.draw(st.booleans()))
        return b.emit(f"xp.einsum('{ta}->{out}', {a})")
    shared = [c for c in ta if b.draw(st.booleans())]
    own = "pq"[:b.draw(st.integers(0, 2))]
    tb = "".join(b.draw(st.permutations(shared + list(own))))
    sizes = dict(zip(ta, sa))
    shape_b = tuple(sizes[c] if c in sizes else b.dim() for c in tb)
    other = b.new_input(shape_b, dt)
    candidates = list(dict.fromkeys(ta + tb))
    out = "".join(c for c in b.draw(st.permutations(candidates)) if b.draw(st.booleans()))
    spec = f"{ta},{tb}->{out}" if b.draw(st.integers(0, 3)) else f"{ta},{tb}"
    return b.emit(f"xp.einsum('{spec}', {a}, {other})")


def op_reshape(b: Builder) -> str | None:
    a = b.pick()
    if a is None:
        return None
    sa = b.shape(a)
    size = int(np.prod(sa))
    form = b.draw(st.sampled_from(["reshape", "method", "ravel", "expand_dims", "squeeze", "flatten"]))
    if form == "ravel":
        return b.emit(f"xp.ravel({a})")
    if form == "flatten":
        return b.emit(f"{a}.flatten()")
    if form == "expand_dims":
        return b.emit(f"xp.expand_dims({a}, {b.draw(st.integers(-len(sa) - 1, len(sa)))})")
    if form == "squeeze":
        ones = [i for i, n in enumerate(sa) if n == 1]
        if ones and b.draw(st.booleans()):
            return b.emit(f"xp.squeeze({a}, axis={b.draw(st.sampled_from(ones))})")
        return b.emit(f"xp.squeeze({a})")
    shape = factor_shape(b, size)
    if shape and size and b.draw(st.integers(0, 2)) == 0:
        shape[b.draw(st.integers(0, len(shape) - 1))] = -1
    return b.emit(f"xp.reshape({a}, {tuple(shape)})" if form == "reshape" else f"{a}.reshape({tuple(shape)})")


def factor_shape(b: Builder, size: int) -> list[int]:
    """A random shape with `size` elements, rank 0-4."""
    if size == 0:
        return b.draw(st.sampled_from([[0], [2, 0], [0, 3], [1, 0, 2]]))
    dims, rest = [], size
    for _ in range(b.draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = b.draw(st.sampled_from(divisors))
        dims.append(d)
        rest //= d
    if rest != 1 or not dims or b.draw(st.booleans()):
        dims.append(rest)
    return dims


def op_transpose(b: Builder) -> str | None:
    a = b.pick(lambda n: len(b.shape(n)) >= 1)
    if a is None:
        return None
    nd = len(b.shape(a))
    form = b.draw(st.sampled_from(["transpose", "T", "swapaxes", "moveaxis", "axes"]))
    if form == "T":
        return b.emit(f"{a}.T")
    if form == "transpose":
        return b.emit(f"xp.transpose({a})")
    if form == "swapaxes":
        return b.emit(f"xp.swapaxes({a}, {b.draw(st.integers(-nd, nd - 1))}, {b.draw(st.integers(-nd, nd - 1))})")
    if form == "moveaxis":
        return b.emit(f"xp.moveaxis({a}, {b.draw(st.integers(-nd, nd - 1))}, {b.draw(st.integers(-nd, nd - 1))})")
    return b.emit(f"xp.transpose({a}, {tuple(b.draw(st.permutations(range(nd))))})")


def op_index(b: Builder) -> str | None:
    a = b.pick(lambda n: len(b.shape(n)) >= 1)
    if a is None:
        return None
    sa = b.shape(a)
    parts, dim = [], 0
    ellipsis = False
    for _ in range(b.draw(st.integers(1, len(sa) + 1))):
        kind = b.draw(st.sampled_from(["slice", "int", "none", "ellipsis", "full"]))
        if kind == "none":
            parts.append("None")
            continue
        if kind == "ellipsis" and not ellipsis:
            parts.append("...")
            ellipsis = True
            dim = len(sa) - sum(1 for p in parts[:-1] if p != "None")   # remaining parts index the tail
            continue
        if dim >= len(sa):
            break
        n = sa[dim]
        if kind == "int" and n > 0:
            parts.append(str(b.draw(st.integers(-n, n - 1))))
        elif kind == "full":
            parts.append(":")
        else:
            start = b.draw(st.sampled_from(["", "0", "1", "-1", "2", "-2"]))
            stop = b.draw(st.sampled_from(["", "1", "-1", "2", "3", "0"]))
            step = b.draw(st.sampled_from(["", "", ":2", ":3"]))
            parts.append(f"{start}:{stop}{step}")
        dim += 1
    if not parts:
        return None
    return b.emit(f"{a}[{', '.join(parts)}]")


def op_join(b: Builder) -> str | None:
    a = b.pick(lambda n: len(b.shape(n)) >= 1)
    if a is None:
        return None
    sa = b.shape(a)
    form = b.draw(st.sampled_from(["concatenate", "stack", "pad", "broadcast_to"]))
    if form == "pad":
        if b.draw(st.booleans()):
            widths = tuple((b.draw(st.integers(0, 2)), b.draw(st.integers(0, 2))) for _ in sa)
        else:
            widths = b.draw(st.integers(0, 2))
        value = b.draw(st.sampled_from(["", ", constant_values=1", ", constant_values=-2.5"]))
        return b.emit(f"xp.pad({a}, {widths}{value})")
    if form == "broadcast_to":
        shape = tuple(b.dim() if n == 1 and b.draw(st.booleans()) else n for n in sa)
        lead = tuple(b.dim() for _ in range(b.draw(st.integers(0, 1))))
        return b.emit(f"xp.broadcast_to({a}, {lead + shape})")
    axis = b.draw(st.integers(-len(sa), len(sa) - 1)) if form == "concatenate" else \
        b.draw(st.integers(-len(sa) - 1, len(sa)))
    others = []
    for _ in range(b.draw(st.integers(1, 2))):
        shape = list(sa)
        if form == "concatenate":
            shape[axis] = b.dim()
        same = b.pick(lambda n: b.shape(n) == tuple(shape))
        others.append(same if same is not None and b.draw(st.booleans()) else
                      b.new_input(shape, _partner_dtype(b, a)))
    return b.emit(f"xp.{form}([{a}, {', '.join(others)}], axis={axis})")


def op_take(b: Builder) -> str | None:
    a = b.pick(lambda n: len(b.shape(n)) >= 1 and 0 not in b.shape(n))
    if a is None:
        return None
    sa = b.shape(a)
    axis = b.draw(st.integers(0, len(sa) - 1))
    n = sa[axis]
    if b.draw(st.booleans()):
        count = b.draw(st.integers(1, 3))
        idx = [b.draw(st.integers(-n, n - 1)) for _ in range(count)]
        if b.draw(st.booleans()):
            return b.emit(f"xp.take({a}, {idx}, axis={axis})")
        size = int(np.prod(sa))
        return b.emit(f"xp.take({a}, {[b.draw(st.integers(-size, size - 1)) for _ in range(count)]})")
    shape = list(sa)
    shape[axis] = b.draw(st.integers(1, 3))
    idx = b.rng.integers(-n, n, size=shape)
    return b.emit(f"xp.take_along_axis({a}, np.array({idx.tolist()}), axis={axis})")


def op_cast_create(b: Builder) -> str | None:
    a = b.pick()
    if a is None:
        return None
    form = b.draw(st.sampled_from(["astype", "like", "create"]))
    if form == "astype":
        target = b.draw(st.sampled_from(DTYPES[b.mode]))
        if b.kind(a) == "f" and target.startswith("int"):
            return b.emit(f"xp.where(abs({a}) < 1000, {a}, 0).astype(xp.{target})")  # in range, no NaN
        return b.emit(f"{a}.astype(xp.{target})" if target != "bool" else f"{a}.astype(xp.bool_)")
    if form == "like":
        fn = b.draw(st.sampled_from(["zeros_like", "ones_like", "full_like"]))
        arg = f", {b.literal()}" if fn == "full_like" else ""
        c = b.emit(f"xp.{fn}({a}{arg})")
    else:
        sa = b.shape(a)
        fn = b.draw(st.sampled_from(["zeros", "ones", "full", "arange", "eye", "linspace"]))
        n = sa[-1] if sa else 1
        dtype = b.draw(st.sampled_from(["", ", xp.float32", ", xp.int32"]))
        expr = {"zeros": f"xp.zeros({sa}{dtype})", "ones": f"xp.ones({sa}{dtype})",
                "full": f"xp.full({sa}, {b.literal()}{dtype})", "arange": f"xp.arange({n})",
                "eye": f"xp.eye({n}{dtype})", "linspace": f"xp.linspace(-1, 1, {n})"}[fn]
        c = b.emit(expr)
    if c is None or not broadcasts(b.shape(c), b.shape(a)):
        return c
    op = b.draw(st.sampled_from(["+", "*", "-"]))
    return b.emit(f"{a} {op} {c}")


GENERAL_OPS = [(op_unary, 4), (op_binary, 5), (op_compare_where, 2), (op_clip, 1), (op_reduce, 3),
               (op_matmul, 2), (op_contract, 2), (op_reshape, 2), (op_transpose, 2), (op_index, 3),
               (op_join, 2), (op_take, 1), (op_cast_create, 1), (op_rearrange, 1)]
SMOOTH_OPS = [(op_unary, 5), (op_binary, 5), (op_compare_where, 1), (op_clip, 1), (op_reduce, 3),
              (op_matmul, 3), (op_contract, 2), (op_reshape, 2), (op_transpose, 2), (op_index, 2),
              (op_join, 2), (op_take, 1), (op_cast_create, 1), (op_rearrange, 1)]


def _weighted(table):
    return [fn for fn, w in table for _ in range(w)]


# ---------------------------------------------------------------- invalid programs

INVALID = {
    "matmul": lambda b, a: f"{a} @ {b.new_input((b.shape(a)[-1] + 1, 2), 'float32')}" if b.shape(a) else None,
    "add": lambda b, a: f"{a} + {b.new_input((b.shape(a)[-1] + 1,) if b.shape(a) else (2, 3), 'float64')}"
    if b.shape(a) and b.shape(a)[-1] != 0 else None,
    "reshape": lambda b, a: f"{a}.reshape({int(np.prod(b.shape(a))) + 1})",
    "sum": lambda b, a: f"xp.sum({a}, axis={len(b.shape(a))})",
    "transpose": lambda b, a: f"xp.transpose({a}, {tuple(range(len(b.shape(a)) + 1))})",
    "index": lambda b, a: f"{a}[{b.shape(a)[0]}]" if b.shape(a) else f"{a}[0]",
    "float_index": lambda b, a: f"{a}[1.5]" if b.shape(a) else None,
    "too_many": lambda b, a: f"{a}[{', '.join(['0'] * (len(b.shape(a)) + 1))}]",
    "concatenate": lambda b, a: f"xp.concatenate([{a}, {b.new_input(b.shape(a) + (2,), 'float32')}])"
    if b.shape(a) else None,
    "squeeze": lambda b, a: next((f"xp.squeeze({a}, axis={i})" for i, n in enumerate(b.shape(a)) if n != 1), None),
    "broadcast_to": lambda b, a: f"xp.broadcast_to({a}, {b.shape(a)[:-1] + (b.shape(a)[-1] + 2,)})"
    if b.shape(a) and b.shape(a)[-1] > 1 else None,
    "bool_subtract": lambda b, a: f"({a} > 0) - ({a} < 1)",
    "einsum": lambda b, a: f"xp.einsum('i,i->', {a}, {b.new_input((b.shape(a)[0] + 1,), 'float64')})"
    if len(b.shape(a)) == 1 else None,
    "argmax_axis": lambda b, a: f"xp.argmax({a}, axis={len(b.shape(a)) + 1})",
    "tensordot": lambda b, a: f"xp.tensordot({a}, {b.new_input((b.shape(a)[-1] + 1,), 'float32')}, axes=1)"
    if b.shape(a) else None,
    "tensordot_axis": lambda b, a: f"xp.tensordot({a}, {a}, axes=([{len(b.shape(a)) + 1}], [0]))",
    "take": lambda b, a: f"xp.take({a}, [{int(np.size(b.env[a])) + 2}])",
    "take_axis": lambda b, a: f"xp.take({a}, [{-b.shape(a)[0] - 1}], axis=0)" if b.shape(a) else None,
    "reshape_unknowns": lambda b, a: f"xp.reshape({a}, (-1, -1))",
    "pad": lambda b, a: f"xp.pad({a}, -1)",
}


def invalid_op(b: Builder) -> str | None:
    a = b.pick()
    if a is None:
        return None
    make = INVALID[b.draw(st.sampled_from(sorted(INVALID)))]
    expr = make(b, a)
    if expr is None:
        return None
    try:
        numpy_eval(expr, b.env)
    except Exception:
        name = f"v{len(b.lines)}"
        b.lines.append((name, expr))
        b.order.append(name)
        return name
    return None                            # numpy accepts it after all: not an invalid program


# ---------------------------------------------------------------- programs

CHECKS = {  # per profile and mode, oracle: percent of programs that run it (jit always runs)
    "full": {"general": {"eager": 20, "vmap": 35, "aot": 5},
             "smooth": {"fd": 70, "jac": 25, "vmap": 20, "vmap_grad": 25, "hessian": 8, "eager": 8, "aot": 4}},
    # the make-test slice: the costly oracles (derivatives of whole programs compile slowly) less often
    "slice": {"general": {"eager": 15, "vmap": 25, "aot": 3},
              "smooth": {"fd": 45, "jac": 8, "vmap": 15, "vmap_grad": 10, "hessian": 4, "eager": 5, "aot": 2}},
}


def prune(lines, params, inputs, results):
    """Drops lines and inputs that the results do not depend on."""
    needed = set(results)
    kept = []
    for name, expr in reversed(lines):
        if name in needed:
            kept.append((name, expr))
            needed |= set(re.findall(r"\b[xv]\d+\b", expr))
    kept.reverse()
    used = [(p, x) for p, x in zip(params, inputs) if p in needed]
    return kept, [p for p, _ in used], [x for _, x in used]


def merge_sinks(b: Builder, result: str) -> str:
    """Folds values no op used into the result, so that the whole DAG is live."""
    sinks = [n for n, _ in b.lines if n not in b.used and n != result
             and (b.mode == "general" or b.kind(n) == "f") and np.size(b.env[n]) > 0]
    for sink in sinks[-2:]:
        if broadcasts(b.shape(sink), b.shape(result)) and np.size(b.env[sink]) <= np.size(b.env[result]):
            merged = b.emit(f"{result} + {sink}")
        else:
            merged = b.emit(f"{result} + xp.mean({sink})")
        result = merged or result
    return result


@st.composite
def cases(draw, mode: str | None = None, invalid_percent: int = 4, profile: str = "full") -> Case:
    """A random program with inputs and a set of checks."""
    mode = mode or draw(st.sampled_from(["general", "smooth"]))
    large = draw(st.integers(0, 2**32 - 1)) % 100 < 12
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b = Builder(draw, mode, rng, large)
    chance = lambda percent: rng.integers(0, 100) < percent   # rates by rng: hypothesis skews small draws
    for _ in range(draw(st.integers(1, 2))):
        b.new_input(b.new_shape(), b.new_dtype())
    if mode == "general" and chance(10):
        b.new_scalar_input()
    table = _weighted(GENERAL_OPS if mode == "general" else SMOOTH_OPS)
    n_ops = draw(st.integers(3, 9))
    for _ in range(n_ops * 2):
        if len(b.lines) >= n_ops:
            break
        draw(st.sampled_from(table))(b)
    expect_error = chance(invalid_percent) and invalid_op(b) is not None
    if not b.lines:
        b.emit(f"{b.order[0]} + 1")
    result = b.lines[-1][0]
    if mode == "smooth" and not expect_error:
        floats = [n for n, _ in reversed(b.lines) if b.kind(n) == "f"]
        result = floats[0] if floats else b.emit(f"xp.sin({b.order[0]})")
    if not expect_error:
        result = merge_sinks(b, result)
    results = [result]
    if mode == "general" and not expect_error and chance(25):
        # several outputs: intermediates, inputs, the result twice (results written in place must not alias)
        results += [b.draw(st.sampled_from(b.order)) for _ in range(draw(st.integers(1, 2)))]
    lines, params, inputs = prune(b.lines, b.params, b.inputs, results)
    source = function_source(params, [f"{n} = {e}" for n, e in lines], ", ".join(results))
    checks = ["jit"]
    if not expect_error:
        checks += [c for c, p in CHECKS[profile][mode].items() if chance(p)]
    return Case(source, inputs, tuple(checks), seed=draw(st.integers(0, 2**31 - 1)), expect_error=expect_error)
