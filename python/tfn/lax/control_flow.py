"""Structured control flow on traced values, with JAX's API: `cond`, `switch`, `while_loop`,
`fori_loop`, `scan`, and torch's `cond` (`tfn.cond`).

Each Python body is traced once into a private function and the construct is one
function-valued op (`tfn.switch`, `tfn.while_loop`, `tfn.scan`; see the end of
`tfn/dialect/tfn.irdl.mlir`) called with `func.call_indirect`, so the transform passes
differentiate and batch it and the lowering makes it `scf` loops and branches. Values a body
closes over become the op's leading consts (loops) or trailing operands (switch), shared by
all of its bodies (`traced_bodies`).

Types are fixed while tracing, as in JAX: every branch returns the same structure, shapes
and dtypes, and a loop's carry keeps the type of its initial value. A Python scalar is
weakly typed: a weak output takes the type it must have when numpy's promotion would give
that type (a Python `0` into a float32 carry), and a weak initial value takes the dtype the
body gives its carry (`while_loop(c, lambda x: x * w32, 0.0)` carries float32).

Outside a trace (numpy inputs) a construct is compiled and run at once, as `tfn.numpy`
functions are.

    >>> import numpy as np, tfn
    >>> tfn.lax.fori_loop(0, 5, lambda i, x: x + i, np.float32(0))
    array(10., dtype=float32)
"""
from __future__ import annotations

import operator
from typing import Callable, Sequence

import numpy as np
from mlir import ir

from tfn import numpy as tnp
from tfn import ops
from tfn.frontend import dispatch, pytree
from tfn.frontend.source import user_line
from tfn.frontend.tracer import ShapeDtype, TracedFunction, Tracer, current_scope, value_of, wrap
from tfn.lax.traced_bodies import (aval_of_capture, call, conform, define, describe, emit, fits_weakly,
                                   fn_name, function_type, i64, leaf_avals, operand_value, pick,
                                   same_captures, symbol_name, union_of_captures)
from tfn.numpy._core import result_type

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "torch_cond"]

_INDEX = ShapeDtype((), np.dtype(np.int32))


def _error(construct: str, message: str) -> TypeError:
    return TypeError(f"{construct}: {message}\n  at {user_line()}")


# ---------------------------------------------------------------- carries

class _PromoteCarry(Exception):
    """A weakly typed initial carry leaf met a body that gives it a strong dtype: the loop is
    traced again with that dtype (JAX does the same)."""

    def __init__(self, dtypes: dict[int, np.dtype]):
        super().__init__(dtypes)
        self.dtypes = dtypes

    def apply(self, avals: list[ShapeDtype]) -> list[ShapeDtype]:
        return [ShapeDtype(a.shape, self.dtypes[i]) if i in self.dtypes else a for i, a in enumerate(avals)]


def _conform_carry(construct: str, what: str, out, tree: pytree.TreeDef, avals: Sequence[ShapeDtype],
                   offset: int = 0) -> list:
    """The leaves of `out`, a body's new carry, as arrays of the carry's types; a TypeError
    unless its structure, shapes and dtypes are the carry's (weak leaves may convert).
    `offset`: where these leaves start in the loop's whole carry (for `_PromoteCarry`)."""
    leaves, out_tree = pytree.flatten(out)
    out_avals = leaf_avals(construct, what, leaves)
    if out_tree.canonical() != tree.canonical():
        raise _error(construct, f"{what} must have the structure of the carry it was given: the carry is "
                                f"{describe(tree, avals)} but {what} is {describe(out_tree, out_avals)}")
    result, promote = [], {}
    for i, (x, o, a) in enumerate(zip(leaves, out_avals, avals)):
        if (o.shape, o.dtype) == (a.shape, a.dtype) or fits_weakly(o, a):
            result.append(conform(x, a))
        elif a.weak and not o.weak and o.shape == a.shape:
            promote[offset + i] = o.dtype
        else:
            raise _error(construct, f"{what} must have the type of the carry it was given: leaf {i} of the carry "
                                    f"is {a!r}{' (weak)' if a.weak else ''} but {what} gives {o!r}"
                                    f"{' (weak)' if o.weak else ''} (carry {describe(tree, avals)}, {what} "
                                    f"{describe(out_tree, out_avals)}); cast the initial value or the result "
                                    f"with .astype to make them one type")
    if promote:
        raise _PromoteCarry(promote)
    return result


def _consts_first(body: TracedFunction, consts: Sequence[Tracer], arg_avals: Sequence[ShapeDtype]) -> TracedFunction:
    """`body` as a function of (consts..., its own arguments...): an adapter calling it when
    there are consts (its captures are among them), else `body` itself."""
    if not consts:
        return body
    n = len(consts)

    def adapted(*args):
        return call(body, args[n:], pick(body.captured, consts, args[:n]))
    return define(body.name + "_consts_first", [aval_of_capture(c) for c in consts] + list(arg_avals), adapted)


def _carry_leaves(construct: str, init) -> tuple[list, pytree.TreeDef, list[ShapeDtype]]:
    leaves, tree = pytree.flatten(init)
    return leaves, tree, leaf_avals(construct, "init_val", leaves)


# ---------------------------------------------------------------- while_loop

def _check_predicate(construct: str, out):
    leaves, tree = pytree.flatten(out)
    avals = leaf_avals(construct, "cond_fun's result", leaves)
    if tree.kind != "leaf" or avals[0].shape != () or avals[0].dtype != np.bool_:
        raise _error(construct, f"cond_fun must return a boolean scalar, got {describe(tree, avals)}")
    return out


def _while(construct: str, cond_fun: Callable, body_fun: Callable, init, conform_body=None):
    """The traced while loop; `conform_body(out, tree, avals)` checks the body's carry."""
    leaves, tree, avals = _carry_leaves(construct, init)
    conform_body = conform_body or (lambda out, t, a: _conform_carry(construct, "body_fun's result", out, t, a))
    while True:
        try:
            body = define(symbol_name("while_body", body_fun), avals,
                          lambda *c: conform_body(body_fun(pytree.unflatten(tree, c)), tree, avals))
            break
        except _PromoteCarry as promoted:
            avals = promoted.apply(avals)
    test = define(symbol_name("while_cond", cond_fun), avals,
                  lambda *c: _check_predicate(construct, cond_fun(pytree.unflatten(tree, c))))
    consts = union_of_captures(test, body)
    const_avals = [aval_of_capture(c) for c in consts]
    results = emit("while_loop", [_consts_first(test, consts, avals), _consts_first(body, consts, avals)],
                   function_type(const_avals + avals, avals), {"num_consts": i64(len(consts))},
                   [value_of(c) for c in consts] + [operand_value(x, a) for x, a in zip(leaves, avals)])
    return pytree.unflatten(tree, [wrap(r, a.weak) for r, a in zip(results, avals)])


def while_loop(cond_fun: Callable, body_fun: Callable, init_val):
    """`body_fun` applied to `init_val` while `cond_fun` of it is True, as `jax.lax.while_loop`.

    `cond_fun(carry)` returns a boolean scalar, `body_fun(carry)` the next carry, of the
    structure, shapes and dtypes of `init_val` (any pytree of arrays). Forward-mode
    differentiable and batchable; reverse mode needs a trip count known while tracing
    (`fori_loop` with Python bounds, or `scan`), as in JAX.

        >>> import numpy as np, tfn
        >>> tfn.lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] * 2, c[1] + 1), (np.int32(1), 0))
        (array(16, dtype=int32), array(4))
    """
    if current_scope() is None:
        return dispatch.call_eagerly(while_loop, (cond_fun, body_fun, init_val), {})
    return _while("tfn.lax.while_loop", cond_fun, body_fun, init_val)


# ---------------------------------------------------------------- scan

def _scan(construct: str, f: Callable, init, xs, length, reverse: bool, conform_body=None):
    carry_leaves, carry_tree, carry_avals = _carry_leaves(construct, init)
    x_leaves, x_tree = pytree.flatten(xs)
    x_full = leaf_avals(construct, "xs", x_leaves)
    length = _scan_length(construct, x_tree, x_full, length)
    x_avals = [ShapeDtype(a.shape[1:], a.dtype) for a in x_full]
    conform_body = conform_body or (lambda out, t, a: _conform_carry(construct, "the carry f returns", out, t, a))
    y_tree = []
    nc = len(carry_avals)

    def body_fn(*args):
        out = f(pytree.unflatten(carry_tree, args[:nc]), pytree.unflatten(x_tree, args[nc:]))
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise _error(construct, f"f must return a pair (carry, y), got {_kind(out)}")
        new_carry = conform_body(out[0], carry_tree, carry_avals)
        y_leaves, tree = pytree.flatten(out[1])
        leaf_avals(construct, "y", y_leaves)
        y_tree[:] = [tree]
        return new_carry + y_leaves

    while True:
        try:
            body = define(symbol_name("scan_body", f), carry_avals + x_avals, body_fn)
            break
        except _PromoteCarry as promoted:
            carry_avals = promoted.apply(carry_avals)
    y_avals = [ShapeDtype((length,) + a.shape, a.dtype) for a in body.out_avals[nc:]]
    consts = body.captured
    const_avals = [aval_of_capture(c) for c in consts]
    attributes = {"num_consts": i64(len(consts)), "num_carry": i64(nc), "length": i64(length),
                  "reverse": i64(int(bool(reverse)))}
    results = emit("scan", [_consts_first(body, consts, carry_avals + x_avals)],
                   function_type(const_avals + carry_avals + x_full, carry_avals + y_avals), attributes,
                   [value_of(c) for c in consts] + [operand_value(x, a) for x, a in zip(carry_leaves, carry_avals)]
                   + [operand_value(x, a) for x, a in zip(x_leaves, x_full)])
    carry = pytree.unflatten(carry_tree, [wrap(r, a.weak) for r, a in zip(results[:nc], carry_avals)])
    return carry, pytree.unflatten(y_tree[0], [wrap(r) for r in results[nc:]])


def _kind(x) -> str:
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}"
    return f"a {type(x).__name__}"


def _scan_length(construct: str, x_tree, x_avals: Sequence[ShapeDtype], length) -> int:
    if length is not None:
        try:
            length = operator.index(length)
        except TypeError:
            raise _error(construct, f"length must be an int known while tracing, got {length!r:.60}") from None
        if length < 0:
            raise _error(construct, f"length must not be negative, got {length}")
    for i, a in enumerate(x_avals):
        if not a.shape:
            raise _error(construct, f"xs leaf {i} is a 0-d array {a!r}: every xs leaf needs a leading dim to "
                                    f"scan over (xs {describe(x_tree, x_avals)})")
    leading = sorted({a.shape[0] for a in x_avals})
    if length is None:
        if not leading:
            raise _error(construct, "xs is None (or holds no array), so length must be given")
        if len(leading) > 1:
            raise _error(construct, f"the leading dims of the xs leaves differ ({', '.join(str(n) for n in leading)}): "
                                    f"xs {describe(x_tree, x_avals)}")
        return leading[0]
    if leading and leading != [length]:
        raise _error(construct, f"the leading dims of the xs leaves ({', '.join(str(n) for n in leading)}) differ from "
                                f"length = {length}: xs {describe(x_tree, x_avals)}")
    return length


def scan(f: Callable, init, xs=None, length: int | None = None, reverse: bool = False, unroll: int | bool = 1):
    """`jax.lax.scan`: `f(carry, x) -> (carry, y)` over the leading dim of `xs`, returning the
    final carry and the ys stacked along a new leading dim.

    `init` and `xs` are pytrees of arrays; with `xs=None` give `length` (f receives None).
    `reverse` scans from the last slice to the first (ys keep xs's order). The carry keeps
    `init`'s structure, shapes and dtypes. `unroll` is accepted for JAX's API and ignored.

        >>> import numpy as np, tfn
        >>> total, partial = tfn.lax.scan(lambda c, x: (c + x, c + x), np.float32(0), np.arange(4, dtype=np.float32))
        >>> float(total), partial.tolist()
        (6.0, [0.0, 1.0, 3.0, 6.0])
    """
    if current_scope() is None:
        return dispatch.call_eagerly(scan, (f, init, xs, length, reverse, unroll), {})
    return _scan("tfn.lax.scan", f, init, xs, length, reverse)


def map(f: Callable, xs, *, batch_size: int | None = None):  # noqa: A001 - jax.lax.map's name
    """`jax.lax.map`: `f` on each slice of `xs` (a pytree) along the leading dim, results
    stacked: a scan without a carry, so slices run one after another (`tfn.vmap` runs them as
    one batch). `batch_size` is accepted for JAX's API; the result does not depend on it.

        >>> import numpy as np, tfn
        >>> tfn.lax.map(lambda x: x * x, np.arange(3.0)).tolist()
        [0.0, 1.0, 4.0]
    """
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise TypeError(f"tfn.lax.map: batch_size must be a positive int, got {batch_size!r}")
    return scan(lambda carry, x: (carry, f(x)), (), xs)[1]


# ---------------------------------------------------------------- fori_loop

def _static_int(x) -> bool:
    """An integer known while tracing: a Python or numpy int, or a 0-d numpy integer array."""
    if isinstance(x, np.ndarray):
        return x.shape == () and x.dtype.kind in "iu"
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def fori_loop(lower, upper, body_fun: Callable, init_val, *, unroll: int | bool | None = None):
    """`body_fun(i, x)` for i from `lower` to `upper` - 1, starting from x = `init_val`, as
    `jax.lax.fori_loop`.

    With bounds known while tracing (Python or numpy ints) the loop is a `scan` over the
    index, so it can be differentiated in reverse mode; traced bounds make a `while_loop`.
    `i` has the dtype of the bounds (a Python int's is weak); the carry keeps `init_val`'s type.

        >>> import numpy as np, tfn
        >>> tfn.lax.fori_loop(1, 4, lambda i, x: x * i, np.float64(1.0))
        array(6.)
    """
    if current_scope() is None:
        return dispatch.call_eagerly(fori_loop, (lower, upper, body_fun, init_val), {"unroll": unroll})
    construct = "tfn.lax.fori_loop"
    for name, bound in (("lower", lower), ("upper", upper)):
        if not (_static_int(bound) or (isinstance(bound, Tracer) and bound.shape == ()
                                       and bound.dtype.kind == "i")):
            raise _error(construct, f"{name} must be an integer scalar, got {bound!r:.60}")
    x_tree = pytree.tree_structure(init_val)

    def check_carry(out, tree, avals):
        # The loop's carry is (i, x): x is checked alone, so that errors speak of body_fun's carry.
        i, x = out
        return [conform(i, avals[0])] + _conform_carry(construct, "body_fun's result", x, x_tree, avals[1:],
                                                       offset=1)

    dtype = result_type(lower, upper)
    if _static_int(lower) and _static_int(upper):
        # A Python int stays weak, as a loop index written by hand would be.
        start = lower if type(lower) is int and type(upper) is int else np.asarray(lower, dtype)

        def step(carry, _):
            i, x = carry
            return (i + 1, body_fun(i, x)), None
        step.__name__ = "fori_" + fn_name(body_fun)  # the body's symbol names the user's function
        (_, out), _ = _scan(construct, step, (start, init_val), None, max(int(upper) - int(lower), 0), False,
                            check_carry)
        return out
    start, stop = tnp.asarray(lower, dtype), tnp.asarray(upper, dtype)

    def below_upper(c):
        return c[0] < stop

    def step_while(c):
        return c[0] + 1, body_fun(*c)
    step_while.__name__ = "fori_" + fn_name(body_fun)
    _, out = _while(construct, below_upper, step_while, (start, init_val), check_carry)
    return out


# ---------------------------------------------------------------- switch and cond

def _join_outputs(construct: str, labels: Sequence[str], branches: Sequence[TracedFunction]) -> list[ShapeDtype]:
    """The types the branches' results take: one structure, and per leaf one shape and
    dtype (weak leaves taking the strong one's dtype when they fit)."""
    first, tree = branches[0], branches[0].out_tree
    for label, b in zip(labels[1:], branches[1:]):
        if b.out_tree.canonical() != tree.canonical():
            raise _error(construct, f"{labels[0]} and {label} must return the same structure, shapes and dtypes: "
                                    f"{labels[0]} returns {describe(tree, first.out_avals)} but {label} returns "
                                    f"{describe(b.out_tree, b.out_avals)}")
    joined = []
    for i in range(len(first.out_avals)):
        avals = [b.out_avals[i] for b in branches]
        strong = {a.dtype for a in avals if not a.weak}
        target = (ShapeDtype(avals[0].shape, strong.pop()) if len(strong) == 1 else
                  ShapeDtype(avals[0].shape, result_type(*[_stand_in(a) for a in avals]), True) if not strong else None)
        if target is None or not all((a.shape, a.dtype) == (target.shape, target.dtype) or fits_weakly(a, target)
                                     for a in avals):
            shown = ", ".join(f"{label} gives {a!r}{' (weak)' if a.weak else ''}" for label, a in zip(labels, avals))
            raise _error(construct, f"the branches must return the same structure, shapes and dtypes, but output "
                                    f"leaf {i} differs: {shown} (results: "
                                    + "; ".join(f"{label} {describe(b.out_tree, b.out_avals)}"
                                                for label, b in zip(labels, branches)) + ")")
        joined.append(target)
    return joined


def _stand_in(a: ShapeDtype):
    """A weak aval as the Python scalar numpy's promotion sees."""
    return {"b": False, "i": 0, "f": 0.0}[a.dtype.kind]


def _switch(construct: str, index: ir.Value, branches: Sequence[Callable], operands: tuple,
            labels: Sequence[str]):
    leaves, tree = pytree.flatten(tuple(operands))
    avals = leaf_avals(construct, "operand", leaves)
    prefix = construct.rpartition(".")[2]
    traced = [define(symbol_name(f"{prefix}_{label}", b), avals,
                     lambda *a, b=b: b(*pytree.unflatten(tree, a)))
              for label, b in zip(labels, branches)]
    out_avals = _join_outputs(construct, labels, traced)
    consts = union_of_captures(*traced)
    const_avals = [aval_of_capture(c) for c in consts]
    fns = [_branch(b, consts, avals, out_avals) for b in traced]
    results = emit("switch", fns, function_type([_INDEX] + avals + const_avals, out_avals), {},
                   [index] + [operand_value(x, a) for x, a in zip(leaves, avals)] + [value_of(c) for c in consts])
    return pytree.unflatten(traced[0].out_tree, [wrap(r, a.weak) for r, a in zip(results, out_avals)])



def _branch(body: TracedFunction, consts: Sequence[Tracer], avals: Sequence[ShapeDtype],
            out_avals: Sequence[ShapeDtype]) -> TracedFunction:
    """`body` as a function of (operands..., all consts...) returning `out_avals`: an adapter
    when its captures or result dtypes differ from those, else `body` itself."""
    converts = any(o.dtype != t.dtype for o, t in zip(body.out_avals, out_avals))
    if same_captures(body, consts) and not converts:
        return body
    n = len(avals)

    def adapted(*args):
        results = call(body, args[:n], pick(body.captured, consts, args[n:]))
        return [conform(r, t) for r, t in zip(results, out_avals)]
    return define(body.name + "_adapted", list(avals) + [aval_of_capture(c) for c in consts], adapted)


def _index_aval(construct: str, index) -> ShapeDtype:
    """The type of a switch index, checked to be an integer scalar."""
    aval = ShapeDtype.of(index) if not isinstance(index, Tracer) else ShapeDtype(index.shape, index.dtype)
    if aval.shape != () or aval.dtype.kind != "i":
        raise _error(construct, f"the index must be an integer scalar, got {aval!r}")
    return aval


def switch(index, branches: Sequence[Callable], *operands):
    """`branches[index](*operands)`, with `index` clamped to [0, len(branches) - 1], as
    `jax.lax.switch`. Every branch is traced and must return the same structure, shapes
    and dtypes; operands are pytrees of arrays.

        >>> import numpy as np, tfn
        >>> branches = [lambda x: x + 1, lambda x: x * 10, lambda x: -x]
        >>> [float(tfn.lax.switch(i, branches, np.float32(2))) for i in (-5, 1, 2, 9)]
        [3.0, 20.0, -2.0, -2.0]
    """
    if current_scope() is None:
        return dispatch.call_eagerly(switch, (index, branches) + operands, {})
    construct = "tfn.lax.switch"
    branches = list(branches)
    if not branches:
        raise ValueError(f"{construct}: branches must not be empty\n  at {user_line()}")
    for k, b in enumerate(branches):
        if not callable(b):
            raise _error(construct, f"branch {k} is a {type(b).__name__}, not a function")
    aval = _index_aval(construct, index)
    if len(branches) == 1:  # nothing to choose (the index is still checked, as in JAX)
        return branches[0](*operands)
    n = len(branches)
    if _static_int(index):  # known while tracing: clamped here
        index = min(max(int(index), 0), n - 1)
    elif aval.dtype != np.int32:  # clamped before it narrows to int32, so that a huge int64 does not wrap
        index = tnp.clip(index, 0, n - 1)
    value = operand_value(index, _INDEX)
    return _switch(construct, value, branches, operands, [f"branch {k}" for k in range(n)])


def _cond(construct: str, pred, true_fun: Callable, false_fun: Callable, operands: tuple):
    for name, b in (("true_fun", true_fun), ("false_fun", false_fun)):
        if not callable(b):
            raise _error(construct, f"{name} is a {type(b).__name__}, not a function")
    aval = ShapeDtype(pred.shape, pred.dtype) if isinstance(pred, Tracer) else ShapeDtype.of(pred)
    if aval.shape != () or aval.dtype.kind not in "bi":
        raise _error(construct, f"pred must be a boolean or integer scalar, got {aval!r}")
    truth = pred if aval.dtype.kind == "b" else tnp.not_equal(pred, 0)  # any nonzero int is true, as in C
    value = operand_value(truth, ShapeDtype((), np.dtype(np.bool_)))
    return _switch(construct, ops.convert(value, np.int32), [false_fun, true_fun], operands,
                   ["false_fun", "true_fun"])


def cond(pred, true_fun: Callable, false_fun: Callable, *operands):
    """`true_fun(*operands)` if `pred` else `false_fun(*operands)`, as `jax.lax.cond`: both
    branches are traced and must return the same structure, shapes and dtypes. `pred` is a
    boolean or integer scalar (nonzero is true).

        >>> import numpy as np, tfn
        >>> float(tfn.lax.cond(np.float32(3) > 0, lambda x: x * 2, lambda x: -x, np.float32(3)))
        6.0
    """
    if current_scope() is None:
        return dispatch.call_eagerly(cond, (pred, true_fun, false_fun) + operands, {})
    return _cond("tfn.lax.cond", pred, true_fun, false_fun, operands)


def torch_cond(pred, true_fn: Callable, false_fn: Callable, operands: tuple | list = ()):
    """`torch.cond`'s signature (exported as `tfn.cond`): `true_fn(*operands)` if `pred` else
    `false_fn(*operands)`. `pred` is a boolean (or integer) scalar or one-element array,
    `operands` a tuple or list of arrays (pytrees allowed).

        >>> import numpy as np, tfn
        >>> tfn.cond(np.array([True]), lambda x: x.sum(), lambda x: x.max(), (np.arange(4.0),))
        array(6.)
    """
    if not isinstance(operands, (tuple, list)):
        raise _error("tfn.cond", f"operands must be a tuple or list of arrays, got a {type(operands).__name__}")
    if current_scope() is None:
        return dispatch.call_eagerly(torch_cond, (pred, true_fn, false_fn, tuple(operands)), {})
    shape = pred.shape if isinstance(pred, Tracer) else np.shape(pred)
    if len(shape) and int(np.prod(shape)) == 1:
        pred = tnp.reshape(pred, ())
    return _cond("tfn.cond", pred, true_fn, false_fn, tuple(operands))
