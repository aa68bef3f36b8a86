"""Functions with derivatives of the user's choosing, with JAX's API: `custom_jvp` and
`custom_vjp` (exported as `tfn.custom_jvp`, `tfn.custom_vjp`).

Called inside a trace, the function and its rules are traced into private functions and
one function-valued op ties them together (`tfn.custom_jvp(f, rule)`, `tfn.custom_vjp(f,
fwd, bwd) {num_res}`, see `tfn/dialect/tfn.irdl.mlir`); the transform passes use the rules,
everything else calls f. Called outside a trace, the function simply runs (its tfn.numpy
calls run eagerly).

Arguments are pytrees of arrays and Python numbers; other arguments (flags, functions) go
in `nondiff_argnums`, and reach f and the rules unchanged (before the primals, as in JAX).
Values the function or its rules close over are treated as constants by the custom rule:
their derivative through it is zero (pass them as arguments to differentiate them).
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import operator
import threading
from typing import Callable, Sequence

import numpy as np

from tfn import numpy as tnp
from tfn import ops
from tfn.dialect.types import is_float_dtype
from tfn.frontend import pytree
from tfn.frontend.source import user_line
from tfn.frontend.tracer import ShapeDtype, TracedFunction, Tracer, current_scope, value_of, wrap
from tfn.lax.traced_bodies import (aval_of_capture, call, conform, define, describe, emit, fits_weakly, fn_name,
                                   i64, leaf_avals, operand_value, pick, same_captures, symbol_name,
                                   union_of_captures)

__all__ = ["custom_jvp", "custom_vjp"]


class _InRules(threading.local):
    """The custom functions whose rules this thread is tracing. A rule usually calls its own
    function for the primal output (`return f(x), ...`); there f is plain f, else tracing the
    rule would trace the rule again, forever. (So a second derivative of such a rule
    differentiates f itself, not through its rule.)"""

    def __init__(self):
        self.active: set[int] = set()


_IN_RULES = _InRules()


class _Custom:
    """What custom_jvp and custom_vjp share: the wrapped function, its static arguments, and
    the split of a call into static arguments and traced leaves."""
    kind = "custom"

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(int(i) for i in nondiff_argnums)

    def _error(self, message: str, exc=TypeError) -> Exception:
        return exc(f"tfn.{self.kind}({fn_name(self.fun)}): {message}\n  at {user_line()}")

    def _positional(self, args, kwargs) -> tuple:
        """The call's arguments as positional ones (keywords bound by f's signature, as JAX does)."""
        if not kwargs:
            return tuple(args)
        try:
            bound = inspect.signature(self.fun).bind(*args, **kwargs)
        except TypeError as error:
            raise self._error(f"cannot bind the arguments: {error}") from None
        bound.apply_defaults()
        return tuple(bound.args) + tuple(bound.kwargs.values())

    def _split(self, args: tuple):
        """(static arguments by position, differentiated arguments, their leaves and avals)."""
        for i in self.nondiff_argnums:
            if not -len(args) <= i < len(args):
                raise self._error(f"nondiff_argnums {self.nondiff_argnums} out of range for {len(args)} arguments",
                                  ValueError)
        static = {i % len(args): args[i] for i in self.nondiff_argnums}
        primals = tuple(a for i, a in enumerate(args) if i not in static)
        leaves = pytree.tree_leaves(primals)
        for i, x in enumerate(leaves):
            if not (isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float))):
                raise self._error(f"primal leaf {i} is a {type(x).__name__} ({x!r:.40}); arguments that are not "
                                  f"arrays go in nondiff_argnums")
        return static, primals, leaves, leaf_avals(f"tfn.{self.kind}", "primal", leaves)

    def _full(self, static: dict, primals: Sequence) -> tuple:
        """The whole argument list again: static arguments at their positions among the primals."""
        it = iter(primals)
        n = len(static) + len(primals)
        return tuple(static[i] if i in static else next(it) for i in range(n))

    def _static_first(self, static: dict) -> tuple:
        return tuple(static[i] for i in sorted(static))

    def _begin_call(self, args, kwargs, no_rule: bool, no_rule_message: str):
        """(positional args, None) when f runs plainly (outside a trace, or inside its own
        rules), else (args, (static, primals, leaves, avals, f traced))."""
        if no_rule:
            raise self._error(no_rule_message, AttributeError)
        args = self._positional(args, kwargs)
        if current_scope() is None or id(self) in _IN_RULES.active:
            return args, None
        static, primals, leaves, avals = self._split(args)
        return args, (static, primals, leaves, avals, self._trace_fun(static, primals, avals))

    def _trace_fun(self, static, primals, avals) -> TracedFunction:
        tree = pytree.tree_structure(primals)
        return define(symbol_name(self.kind, self.fun), avals,
                      lambda *xs: self.fun(*self._full(static, pytree.unflatten(tree, xs))))

    def _primal_out(self, what: str, out, fun: TracedFunction) -> list:
        """The leaves of a rule's primal output, as f's: same structure, shapes and dtypes."""
        leaves, tree = pytree.flatten(out)
        avals = leaf_avals(f"tfn.{self.kind}", what, leaves)
        if tree.canonical() != fun.out_tree.canonical() or not all(
                (a.shape, a.dtype) == (b.shape, b.dtype) or fits_weakly(a, b) for a, b in zip(avals, fun.out_avals)):
            raise self._error(f"{what} must have the structure, shapes and dtypes of the function's output: the "
                              f"function returns {describe(fun.out_tree, fun.out_avals)} but {what} is "
                              f"{describe(tree, avals)}")
        return [conform(x, b) for x, b in zip(leaves, fun.out_avals)]

    def _like(self, what: str, value, of: str, tree: pytree.TreeDef, avals: Sequence[ShapeDtype]) -> list:
        """The leaves of `value`, a (co)tangent of something of `tree`/`avals`: the same structure and
        shapes, float dtypes equal (weak values convert); None, and anything for an integer or bool
        leaf, is zeros."""
        if value is None:
            return [_zeros(a) for a in avals]
        leaves, got = pytree.flatten(value, is_leaf=lambda x: x is None)
        if got.canonical() != tree.canonical():
            raise self._error(f"{what} must have the structure of {of}: {of} is {describe(tree, avals)} but {what} "
                              f"is {got!r}")
        out = []
        for i, (x, a) in enumerate(zip(leaves, avals)):
            if x is None or not is_float_dtype(a.dtype):
                out.append(_zeros(a))
                continue
            t = leaf_avals(f"tfn.{self.kind}", what, [x])[0]
            if t.shape != a.shape or not (t.dtype == a.dtype or fits_weakly(t, a)):
                raise self._error(f"{what} must have the shapes and dtypes of {of}: leaf {i} is {t!r} where {of} "
                                  f"has {a!r} ({of}: {describe(tree, avals)})")
            out.append(conform(x, a))
        return out


@contextlib.contextmanager
def _tracing_rules_of(custom: "_Custom"):
    """While the rules of `custom` are traced, a call of `custom` is a plain call of its function."""
    key = id(custom)
    added = key not in _IN_RULES.active
    _IN_RULES.active.add(key)
    try:
        yield
    finally:
        if added:
            _IN_RULES.active.discard(key)


def _zeros(a: ShapeDtype) -> Tracer:
    return wrap(ops.full(a.shape, 0, a.dtype))


def _strong(avals: Sequence[ShapeDtype]) -> list[ShapeDtype]:
    return [ShapeDtype(a.shape, a.dtype) for a in avals]


def _with_consts(body: TracedFunction, consts: Sequence[Tracer], avals: Sequence[ShapeDtype]) -> TracedFunction:
    """`body` as a function of (its arguments..., all consts...): an adapter when its captures
    are not all the consts, in order, else `body` itself."""
    if same_captures(body, consts):
        return body
    n = len(avals)
    return define(body.name + "_with_consts", list(avals) + [aval_of_capture(c) for c in consts],
                  lambda *args: call(body, args[:n], pick(body.captured, consts, args[n:])))


# ---------------------------------------------------------------- custom_jvp

class custom_jvp(_Custom):
    """A function whose forward-mode derivative (and so, by transposition, its gradient) is
    given by a rule, as `jax.custom_jvp`.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> @tfn.custom_jvp
        ... def log1pexp(x):
        ...     return tnp.log(1.0 + tnp.exp(x))
        >>> @log1pexp.defjvp
        ... def log1pexp_jvp(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     return log1pexp(x), t * (1.0 - 1.0 / (1.0 + tnp.exp(x)))
        >>> float(log1pexp(np.float64(0.0)))  # outside a trace: just the function
        0.6931471805599453
        >>> float(tfn.grad(log1pexp)(np.float64(100.0)))  # the rule: no inf / inf
        1.0

    `defjvp(rule)`: `rule(primals, tangents)` gets two tuples (one entry per argument not in
    `nondiff_argnums`, which come first: `rule(*nondiff, primals, tangents)`) and returns
    `(primal_out, tangent_out)`, each with the structure, shapes and dtypes of f's output.
    Tangents of integer and bool values are ignored (zero).
    """
    kind = "custom_jvp"

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        super().__init__(fun, nondiff_argnums)
        self.jvp: Callable | None = None

    def defjvp(self, jvp: Callable) -> Callable:
        """Sets the JVP rule; returns it, so that it works as a decorator."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps: Callable | None) -> None:
        """Sets the JVP rule from one function per argument, as JAX's `defjvps`: `jvps[i](t_i,
        y, *primals)` is argument i's contribution to the output's tangent (None: none); the
        tangent is their sum.

            >>> import numpy as np, tfn, tfn.numpy as tnp
            >>> f = tfn.custom_jvp(lambda x, y: x * y)
            >>> f.defjvps(lambda tx, out, x, y: tx * y, lambda ty, out, x, y: x * ty)
            >>> float(tfn.grad(f, argnums=1)(np.float64(3.0), np.float64(2.0)))
            3.0
        """
        if self.nondiff_argnums:
            raise self._error("defjvps cannot be used with nondiff_argnums: use defjvp")
        if len(jvps) == 0:
            raise self._error("defjvps needs one function (or None) per argument")

        def jvp(primals, tangents):
            if len(primals) != len(jvps):
                raise self._error(f"defjvps was given {len(jvps)} functions for {len(primals)} arguments")
            out = self(*primals)
            parts = [j(t, out, *primals) for j, t in zip(jvps, tangents) if j is not None]
            if not parts:
                return out, pytree.tree_map(tnp.zeros_like, out)
            return out, pytree.tree_map(lambda *ts: functools.reduce(operator.add, ts), *parts)
        self.defjvp(jvp)

    def __call__(self, *args, **kwargs):
        args, traced = self._begin_call(args, kwargs, self.jvp is None,
                                        "no JVP rule: define one with @f.defjvp before calling f")
        if traced is None:
            return self.fun(*args)
        static, primals, leaves, avals, fun = traced
        with _tracing_rules_of(self):
            rule = self._trace_rule(static, primals, avals, fun)
        consts = union_of_captures(fun, rule)
        const_avals = [aval_of_capture(c) for c in consts]
        n = len(avals)

        def rule_with_consts(*args):
            # (xs..., consts..., tangents of xs..., tangents of consts...): a const's tangent is dropped.
            xs, cs, ts = args[:n], args[n:n + len(consts)], args[n + len(consts):2 * n + len(consts)]
            return call(rule, list(xs) + list(ts), pick(rule.captured, consts, cs))
        rule_fn = rule if not consts else define(rule.name + "_with_consts", avals + const_avals + avals + const_avals,
                                                 rule_with_consts)
        f = _with_consts(fun, consts, avals)
        results = emit("custom_jvp", [f, rule_fn], f.function_type, {},
                       [operand_value(x, a) for x, a in zip(leaves, avals)] + [value_of(c) for c in consts])
        return pytree.unflatten(fun.out_tree, [wrap(r, a.weak) for r, a in zip(results, fun.out_avals)])

    def _trace_rule(self, static, primals, avals, fun: TracedFunction) -> TracedFunction:
        tree = pytree.tree_structure(primals)
        n = len(avals)

        def rule(*args):
            ps, ts = pytree.unflatten(tree, args[:n]), pytree.unflatten(tree, args[n:])
            out = self.jvp(*self._static_first(static), tuple(ps), tuple(ts))
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise self._error(f"the JVP rule must return a pair (primal_out, tangent_out), got "
                                  f"{type(out).__name__}")
            primal_out = self._primal_out("the JVP rule's primal output", out[0], fun)
            tangent_out = self._like("the JVP rule's tangent output", out[1], "the function's output",
                                     fun.out_tree, _strong(fun.out_avals))
            return primal_out + tangent_out
        return define(symbol_name("custom_jvp_rule", self.jvp), avals + avals, rule)


# ---------------------------------------------------------------- custom_vjp

class custom_vjp(_Custom):
    """A function whose reverse-mode derivative is given by a forward and a backward function,
    as `jax.custom_vjp`.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> @tfn.custom_vjp
        ... def clip_gradient(x):
        ...     return x
        >>> def fwd(x):
        ...     return x, None            # (output, residuals)
        >>> def bwd(residuals, g):
        ...     return (tnp.clip(g, -1.0, 1.0),)   # one cotangent per argument
        >>> clip_gradient.defvjp(fwd, bwd)
        >>> float(tfn.grad(lambda x: 5.0 * clip_gradient(x))(np.float64(2.0)))
        1.0

    `defvjp(fwd, bwd)`: `fwd(*args)` returns `(output, residuals)` (residuals any pytree of
    arrays), `bwd(residuals, cotangent)` (`bwd(*nondiff, residuals, cotangent)` with
    `nondiff_argnums`) a tuple with one cotangent per argument not in `nondiff_argnums`, each
    with the argument's structure, or None for zeros (None leaves are zeros too; integer and bool
    arguments get zeros whatever is returned).
    """
    kind = "custom_vjp"

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        super().__init__(fun, nondiff_argnums)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Sets the forward function (output and residuals) and the backward function."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        args, traced = self._begin_call(args, kwargs, self.fwd is None,
                                        "no VJP rule: define one with f.defvjp(fwd, bwd) before calling f")
        if traced is None:
            return self.fun(*args)
        static, primals, leaves, avals, fun = traced
        with _tracing_rules_of(self):
            fwd, res_tree = self._trace_fwd(static, primals, avals, fun)
            res_avals = fwd.out_avals[len(fun.out_avals):]
            bwd = self._trace_bwd(static, primals, avals, fun, res_tree, res_avals)
        consts = union_of_captures(fun, fwd, bwd)
        const_avals = [aval_of_capture(c) for c in consts]
        n = len(avals)

        def fwd_with_consts(*args):
            # The backward function's captures travel as residuals: it sees nothing else of the forward pass.
            xs, cs = args[:n], args[n:]
            return call(fwd, xs, pick(fwd.captured, consts, cs)) + pick(bwd.captured, consts, cs)
        fwd_fn = fwd if not consts else define(fwd.name + "_with_consts", avals + const_avals, fwd_with_consts)
        n_res = len(res_avals) + len(bwd.captured)

        def bwd_with_consts(*args):
            res, captured, cts = args[:len(res_avals)], args[len(res_avals):n_res], args[n_res:]
            return call(bwd, list(res) + list(cts), captured) + [_zeros(a) for a in const_avals]
        bwd_fn = bwd if not consts else define(
            bwd.name + "_with_consts", res_avals + [aval_of_capture(c) for c in bwd.captured] + _strong(fun.out_avals),
            bwd_with_consts)
        f = _with_consts(fun, consts, avals)
        results = emit("custom_vjp", [f, fwd_fn, bwd_fn], f.function_type, {"num_res": i64(n_res)},
                       [operand_value(x, a) for x, a in zip(leaves, avals)] + [value_of(c) for c in consts])
        return pytree.unflatten(fun.out_tree, [wrap(r, a.weak) for r, a in zip(results, fun.out_avals)])

    def _trace_fwd(self, static, primals, avals, fun: TracedFunction):
        tree = pytree.tree_structure(primals)
        res_tree = []

        def forward(*xs):
            out = self.fwd(*self._full(static, pytree.unflatten(tree, xs)))
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise self._error(f"fwd must return a pair (output, residuals), got {type(out).__name__}")
            res_leaves, res_tree[:] = pytree.tree_leaves(out[1]), [pytree.tree_structure(out[1])]
            leaf_avals(f"tfn.{self.kind}", "fwd's residual", res_leaves)
            return self._primal_out("fwd's output", out[0], fun) + res_leaves
        return define(symbol_name("custom_vjp_fwd", self.fwd), avals, forward), res_tree[0]

    def _trace_bwd(self, static, primals, avals, fun: TracedFunction, res_tree, res_avals) -> TracedFunction:
        n_res = len(res_avals)
        arg_trees = [pytree.tree_structure(p) for p in primals]
        starts = np.cumsum([0] + [t.num_leaves for t in arg_trees])

        def backward(*args):
            res = pytree.unflatten(res_tree, args[:n_res])
            ct = pytree.unflatten(fun.out_tree, args[n_res:])
            out = self.bwd(*self._static_first(static), res, ct)
            if not isinstance(out, (tuple, list)) or len(out) != len(primals):
                got = f"a {type(out).__name__} of {len(out)}" if isinstance(out, (tuple, list)) else \
                    f"a {type(out).__name__}"
                raise self._error(f"bwd must return a tuple with one cotangent per differentiated argument "
                                  f"({len(primals)}), got {got}")
            cts = []
            for k, (c, t) in enumerate(zip(out, arg_trees)):
                cts += self._like(f"bwd's cotangent {k}", c, f"argument {k}", t,
                                  _strong(avals[starts[k]:starts[k + 1]]))
            return cts
        return define(symbol_name("custom_vjp_bwd", self.bwd), res_avals + _strong(fun.out_avals), backward)
