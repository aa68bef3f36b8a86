"""torch.func's transform API on tfn: each call emits a transform op into the IR.

Inside a trace (e.g. under `tfn.jit`) `grad(f)(x)` traces `f` into a private
function, emits `func.constant @f`, `tfn.grad` and a `func.call_indirect`; the
transform passes then expand the op. Outside a trace the same function is jitted
(compiled once per signature) and called with numpy arrays.
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np
from mlir import ir
from mlir.dialects import func

from tfn.api.caching import FunctionCache, Programs, freeze, function_key, label, try_key
from tfn.api.jit import Jitted
from tfn.dialect.types import is_float_dtype
from tfn.frontend import pytree
from tfn.frontend.source import user_line, user_location
from tfn.frontend.tracer import ShapeDtype, Tracer, current_scope, trace, value_of, wrap
from tfn.passes import ir_utils as U
from tfn.passes.signatures import grad_type, jvp_type, vjp_type

# ---------------------------------------------------------------- helpers


def _fn_name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _where(f) -> str:
    code = getattr(f, "__code__", None)
    defined = f" (defined at {code.co_filename}:{code.co_firstlineno})" if code else ""
    return f"{_fn_name(f)}{defined}, called at {user_line()}"


def _error(kind: str, f, message: str, exc=TypeError):
    return exc(f"tfn.{kind}({_fn_name(f)}): {message}\n  function {_where(f)}")


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_argnums(argnums, kind: str, f):
    """argnums as given, type-checked: an int or a non-empty sequence of ints (numpy ints too)."""
    if _is_int(argnums):
        return int(argnums)
    if isinstance(argnums, (tuple, list)) and all(_is_int(a) for a in argnums):
        if not argnums:
            raise _error(kind, f, "argnums must name at least one argument, got ()", ValueError)
        return tuple(int(a) for a in argnums)
    raise _error(kind, f, f"argnums must be an int or a sequence of ints, got {argnums!r} "
                          f"({type(argnums).__name__})")


def _normalize_argnums(argnums, nargs: int, kind: str, f) -> tuple[int, ...]:
    nums = (argnums,) if _is_int(argnums) else tuple(argnums)
    out = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise _error(kind, f, f"argnums {argnums} out of range for {nargs} positional arguments", ValueError)
        out.append(a % nargs)
    return tuple(out)


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, Tracer)) or type(x).__name__ == "DeviceArray"


_NUMBERS = (bool, int, float)


class _Args:
    """The leaves of a call's `(args, kwargs)`, split into traced and static ones.

    Arrays are traced; so are Python numbers in the arguments `traced_args` (the
    differentiated ones). Every other leaf (a Python scalar, string, function, ...)
    is static: the function receives it unchanged, and it keys the compile cache.
    """

    def __init__(self, kind: str, f, args, kwargs, traced_args=()):
        self.kind, self.f, self.nargs = kind, f, len(args)
        self.leaves, self.tree = pytree.flatten((tuple(args), dict(kwargs)))
        self.owner: list = []          # per leaf: (argument index or keyword, leaf index in it)
        for k, a in enumerate(args):
            self.owner += [(k, j) for j in range(len(pytree.tree_leaves(a)))]
        for name, v in pytree.children_of(dict(kwargs)) or []:
            self.owner += [(name, j) for j in range(len(pytree.tree_leaves(v)))]
        traced_args = set(traced_args)
        self.dynamic: list[int] = []
        for i, (x, (k, j)) in enumerate(zip(self.leaves, self.owner)):
            if _is_array(x) or (k in traced_args and isinstance(x, _NUMBERS)):
                self.dynamic.append(i)
            elif k in traced_args:
                raise _error(kind, f, f"{self.describe(i)} is a {type(x).__name__}; only arrays and Python "
                                      f"numbers can be differentiated (pass it as an argument that is not "
                                      f"differentiated, or close over it)")
        dyn = set(self.dynamic)
        self.static = tuple((i, x) for i, x in enumerate(self.leaves) if i not in dyn)
        self.arg_dynamic = [[n for n, i in enumerate(self.dynamic) if self.owner[i][0] == k]
                            for k in range(self.nargs)]

    def describe(self, leaf: int) -> str:
        k, j = self.owner[leaf]
        where = f"argument {k}" if isinstance(k, int) else f"keyword argument {k!r}"
        return where if pytree.tree_structure(self._arg(k)).kind == "leaf" else f"{where} (leaf {j})"

    def describe_dynamic(self, n: int) -> str:
        return self.describe(self.dynamic[n])

    def _arg(self, k):
        args, kwargs = pytree.unflatten(self.tree, self.leaves)
        return args[k] if isinstance(k, int) else kwargs[k]

    @property
    def dynamic_leaves(self) -> list:
        return [self.leaves[i] for i in self.dynamic]

    def rebuild(self, dynamic_values) -> tuple[tuple, dict]:
        full = list(self.leaves)
        for i, v in zip(self.dynamic, dynamic_values):
            full[i] = v
        return pytree.unflatten(self.tree, full)

    def cache_key(self):
        """The structure and static leaves: what a compiled program of the eager path is specialized on."""
        # 1, 1.0 and True are equal and hash alike but promote differently: key on their types too.
        static = tuple((i, type(x), x) for i, x in self.static)
        for i, t, x in static:
            try:
                hash(x)
            except TypeError:
                raise _error(self.kind, self.f, f"{self.describe(i)} is a {t.__name__}, which is neither an "
                                                f"array nor hashable; non-array arguments are passed to the "
                                                f"function unchanged and key its compile cache, so they must "
                                                f"be hashable (or close over it)") from None
        return self.tree, static


def _trace_args(f, a: _Args, leaf_avals=None):
    """Traces f into a private function of the traced leaves of `a` (static leaves fixed)."""
    def bound(*dynamic):
        args, kwargs = a.rebuild(dynamic)
        return f(*args, **kwargs)
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in _fn_name(f)) or "f"
    return trace(bound, tuple(a.dynamic_leaves), {}, _ModuleView(), name, leaf_avals=leaf_avals, private=True)


def _module_op() -> ir.Operation:
    return U.module_of(current_scope().func_op.operation)


def _trace_private(f, args, kwargs=None):
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in _fn_name(f)) or "f"
    return trace(f, args, kwargs or {}, _ModuleView(), name, private=True)


class _ModuleView:
    """Just enough of ir.Module for `trace`: the body of the module being traced."""

    @property
    def body(self):
        return _module_op().regions[0].blocks[0]


def _apply(kind: str, traced, result_type: ir.FunctionType, attributes: dict, operands: list) -> list[ir.Value]:
    """Emits func.constant @callee, the transform op, and the call; returns the call's results."""
    with user_location():
        fn = func.ConstantOp(traced.function_type, ir.FlatSymbolRefAttr.get(traced.name)).result
        transformed = ir.Operation.create(f"tfn.{kind}", results=[result_type], operands=[fn],
                                          attributes=attributes).result
        call = func.CallIndirectOp(list(result_type.results), transformed, operands)
    return list(call.results)


def _i64s(values) -> ir.DenseI64ArrayAttr:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])


def _i64(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))


def _call_values(traced, leaves) -> list[ir.Value]:
    return [value_of(x) for x in leaves] + [value_of(c) for c in traced.captured]


def _split_aux(kind, f, traced, has_aux):
    """(main output tree, aux tree, number of aux leaves) of a traced f."""
    tree = traced.out_tree
    if not has_aux:
        return tree, None, 0
    if tree.kind not in ("tuple", "list") or len(tree.children) != 2:
        raise _error(kind, f, f"has_aux=True needs f to return a pair (output, aux), got structure {tree}")
    return tree.children[0], tree.children[1], tree.children[1].num_leaves


def _describe_output(tree, avals) -> str:
    if tree.kind == "leaf":
        return f"an array {avals[0]!r}"
    if not avals:
        return f"{tree!r}, which holds no array"
    return f"a pytree {tree!r} of {', '.join(map(repr, avals))}"


def _check_float_leaves(kind, f, avals, indices, describe=None):
    for i in indices:
        if not is_float_dtype(avals[i].dtype):
            what = describe(i) if describe is not None else f"input leaf {i}"
            raise _error(kind, f, f"{what} has dtype {avals[i].dtype.name}; only floating-point "
                                  f"inputs can be differentiated", TypeError)


def _aval(x) -> ShapeDtype:
    return ShapeDtype.of(x)


def _tangent_value(kind, f, t, aval, what, against):
    """`t` as a tangent (or cotangent) for a value of type `aval`: same shape, same dtype.

    Python scalars are weakly typed and take the expected dtype, as does anything
    paired with a weakly typed (Python scalar) primal."""
    from tfn import numpy as tnp
    if not (_is_array(t) or isinstance(t, _NUMBERS)):
        raise _error(kind, f, f"{what} is a {type(t).__name__}, not an array", TypeError)
    ta = _aval(t)
    if ta.shape != aval.shape:
        raise _error(kind, f, f"{what} has shape {ta.shape} and dtype {ta.dtype.name}, but {against} has shape "
                              f"{aval.shape} and dtype {aval.dtype.name}", ValueError)
    if ta.dtype != aval.dtype and not (ta.weak or aval.weak):
        raise _error(kind, f, f"{what} has dtype {ta.dtype.name} and shape {ta.shape}, but {against} has "
                              f"dtype {aval.dtype.name} and shape {aval.shape}; they must match (cast it "
                              f"with .astype)", TypeError)
    return value_of(tnp.asarray(t, aval.dtype))


def _wrap_all(values) -> list[Tracer]:
    return [wrap(v) for v in values]


# Compiled programs of the eager transform API, shared by every transform object of the
# same kind, options and function (see tfn.api.caching): `tfn.grad(f)(x)` in a loop
# compiles once. Entries hold no user function: a program is traced with the function
# given at the call that misses.
_TRANSFORMS = FunctionCache("eager transforms")


class _Transformed:
    """A transformed function: traces when called under a trace, else runs compiled.

    Outside a trace each call is split like `_Args`: the traced leaves go to a
    `Jitted` program, cached per structure and static leaves, in a table shared by
    all transform objects of equal key (`_cache_key`)."""
    kind = "transform"

    def __init__(self, f: Callable):
        self.f = f
        self._entry: Programs | None = None
        functools.update_wrapper(self, f, updated=())

    def _options(self) -> tuple:
        """What, besides the kind and the function, the transform's result depends on."""
        return ()

    def _cache_key(self, watch, depth):
        return (self.kind, type(self).__name__, freeze(self._options()), function_key(self.f, watch, depth))

    def _programs(self) -> Programs:
        entry = self._entry
        if entry is None:
            keyed = try_key(self)
            entry = self._entry = Programs() if keyed is None else _TRANSFORMS.get(*keyed, Programs)
        return entry

    def _traced_args(self, args) -> Sequence[int]:
        """Positional arguments whose Python numbers are traced (the differentiated ones)."""
        return ()

    def __call__(self, *args, **kwargs):
        if current_scope() is not None:
            return self._traced_call(*args, **kwargs)
        programs = self._programs()
        if not kwargs and all(type(x) is np.ndarray for x in args):  # the common case: no statics
            return programs.get(len(args), self._jit)._call(self._traced_call, args, {})
        a = _Args(self.kind, self.f, args, kwargs, self._traced_args(args))

        def bound(*dynamic):
            call_args, call_kwargs = a.rebuild(dynamic)
            return self._traced_call(*call_args, **call_kwargs)
        bound.__name__ = _fn_name(self.f)
        return programs.get(a.cache_key(), self._jit)._call(bound, a.dynamic_leaves, {})

    def _jit(self) -> Jitted:
        return Jitted(None, name=label(self.kind, self.f))

    def _traced_call(self, *args, **kwargs):
        raise NotImplementedError


# ---------------------------------------------------------------- grad

class _Grad(_Transformed):
    def __init__(self, f, argnums, has_aux, with_value, kind):
        super().__init__(f)
        self.kind = kind
        self.argnums = _check_argnums(argnums, kind, f)
        self.has_aux, self.with_value = has_aux, with_value

    def _options(self):
        return (self.argnums, bool(self.has_aux), bool(self.with_value))

    def _traced_args(self, args):
        return _normalize_argnums(self.argnums, len(args), self.kind, self.f)

    def _traced_call(self, *args, **kwargs):
        f, kind = self.f, self.kind
        argnums = _normalize_argnums(self.argnums, len(args), kind, f)
        unique = tuple(dict.fromkeys(argnums))  # a repeated argnum gets the same full gradient
        a = _Args(kind, f, args, kwargs, unique)
        traced = _trace_args(f, a)
        main_tree, aux_tree, num_aux = _split_aux(kind, f, traced, self.has_aux)
        main_avals = traced.out_avals[:main_tree.num_leaves]
        if main_tree.kind != "leaf" or main_avals[0].shape != () or not is_float_dtype(main_avals[0].dtype):
            raise _error(kind, f, f"the differentiated output must be one 0-d float array, got "
                                  f"{_describe_output(main_tree, main_avals)} (use jacrev/vjp for non-scalar "
                                  f"outputs)")
        ir_argnums = [n for k in unique for n in a.arg_dynamic[k]]
        _check_float_leaves(kind, f, traced.in_avals, ir_argnums, a.describe_dynamic)
        rtype = grad_type(traced.function_type, ir_argnums, num_aux, self.with_value)
        results = _wrap_all(_apply("grad", traced, rtype, {
            "argnums": _i64s(ir_argnums), "num_aux": _i64(num_aux), "with_value": _i64(int(self.with_value))},
            _call_values(traced, a.dynamic_leaves)))
        grads_flat, rest = results[:len(ir_argnums)], results[len(ir_argnums):]
        it = iter(grads_flat)
        per_arg = {k: pytree.unflatten(pytree.tree_structure(args[k]), [next(it) for _ in a.arg_dynamic[k]])
                   for k in unique}
        grads = per_arg[argnums[0]] if _is_int(self.argnums) else tuple(per_arg[k] for k in argnums)
        value = rest.pop(0) if self.with_value else None
        aux = pytree.unflatten(aux_tree, rest) if self.has_aux else None
        if self.with_value:
            return (grads, (value, aux)) if self.has_aux else (grads, value)
        return (grads, aux) if self.has_aux else grads


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """Gradient of a scalar-valued `f` with respect to the arguments `argnums`.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> tfn.grad(lambda x: tnp.sum(x ** 3))(np.array([1.0, 2.0]))
        array([ 3., 12.])
    """
    return _Grad(f, argnums, has_aux, False, "grad")


def grad_and_value(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """Like `grad`, returning `(grad, value)` (or `(grad, (value, aux))` with has_aux).

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> g, v = tfn.grad_and_value(lambda x: tnp.sum(x * x))(np.array([3.0]))
        >>> g, float(v)
        (array([6.]), 9.0)
    """
    return _Grad(f, argnums, has_aux, True, "grad_and_value")


# ---------------------------------------------------------------- vjp and jvp

def _primal_args(kind, f, primals) -> "_Args":
    """Checks that every primal leaf is a float array or a Python float (each is differentiated)."""
    a = _Args(kind, f, primals, {}, range(len(primals)))
    _check_float_leaves(kind, f, [ShapeDtype.of(x) for x in a.dynamic_leaves], range(len(a.dynamic)),
                        a.describe_dynamic)
    return a


def _traced_vjp(f, traced, primals, cotangents, has_aux):
    """Emits tfn.vjp of the traced f at `primals` with `cotangents`; returns one pytree per primal."""
    main_tree, aux_tree, num_aux = _split_aux("vjp", f, traced, has_aux)
    n_in = len(traced.in_avals)
    a = _primal_args("vjp", f, primals)
    _check_float_leaves("vjp", f, traced.in_avals, range(n_in), a.describe_dynamic)
    rtype = vjp_type(traced.function_type, list(range(n_in)), num_aux)
    ct_leaves, ct_tree = pytree.flatten(cotangents)
    if ct_tree.canonical() != main_tree.canonical():
        raise _error("vjp", f, f"cotangent structure {ct_tree} does not match the output structure {main_tree}",
                     ValueError)
    single = main_tree.kind == "leaf"
    ct_values = [_tangent_value("vjp", f, c, aval, "the cotangent" if single else f"cotangent leaf {k}",
                                "the output" if single else f"output leaf {k}")
                 for k, (c, aval) in enumerate(zip(ct_leaves, traced.out_avals))]
    leaves = pytree.tree_leaves((tuple(primals), {}))
    results = _wrap_all(_apply("vjp", traced, rtype, {"argnums": _i64s(range(n_in)), "num_aux": _i64(num_aux)},
                               _call_values(traced, leaves) + ct_values))
    it = iter(results[len(results) - n_in:])
    return tuple(pytree.unflatten(pytree.tree_structure(p), [next(it) for _ in pytree.tree_leaves(p)])
                 for p in primals)


def vjp(f: Callable, *primals, has_aux: bool = False):
    """`(output, vjp_fn)` (plus `aux` with has_aux); `vjp_fn(ct)` returns one cotangent per primal.

    Every leaf of the primals is differentiated, so each must be an array or a
    Python number; a cotangent must have its output's structure, shape and dtype.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> out, vjp_fn = tfn.vjp(tnp.sin, np.array([0.0]))
        >>> vjp_fn(np.array([2.0]))
        (array([2.]),)
    """
    _primal_args("vjp", f, primals)
    if current_scope() is None:
        return _eager_vjp(f, primals, has_aux)
    traced = _trace_private(f, primals)
    out_and_aux = _call(traced, primals)
    out, aux = (out_and_aux if has_aux else (out_and_aux, None))
    if has_aux:
        _split_aux("vjp", f, traced, has_aux)

    def vjp_fn(cotangents):
        return _traced_vjp(f, traced, primals, cotangents, has_aux)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _call(traced, args):
    """A call of the traced function on `args`, unflattened to its output pytree."""
    leaves = pytree.tree_leaves((tuple(args), {}))
    with user_location():
        call = func.CallOp(list(traced.function_type.results), ir.FlatSymbolRefAttr.get(traced.name),
                           _call_values(traced, leaves))
    return pytree.unflatten(traced.out_tree, _wrap_all(call.results))


# Eager vjp, jvp and linearize: programs per (kind, options, function key), see _TRANSFORMS.
_EAGER = FunctionCache("eager vjp, jvp and linearize")


def _eager_program(kind: tuple, f) -> Jitted:
    """The shared program table of `kind` for f (a private one when f cannot be keyed)."""
    make = lambda: Jitted(None, name=label(kind[0], f))  # noqa: E731
    keyed = try_key(f)
    if keyed is None:
        return make()
    key, watch = keyed
    return _EAGER.get((kind, key), watch, make)


def _saved(tree):
    """A copy of the arrays of `tree`: what a vjp_fn or jvp_fn computes at, whatever the
    caller later writes into its arrays."""
    return pytree.tree_map(lambda x: np.array(x) if isinstance(x, np.ndarray) else x, tree)


def _matching_leaves(values, tree, avals):
    """The leaves of `values` as arrays of `avals`, or None unless they match (structure,
    shapes, dtypes; Python numbers and values paired with weak avals take the dtype)."""
    leaves, t = pytree.flatten(values)
    if t.canonical() != tree.canonical() or len(leaves) != len(avals):
        return None
    out = []
    for x, aval in zip(leaves, avals):
        if not (_is_array(x) or isinstance(x, _NUMBERS)) or type(x).__name__ == "DeviceArray":
            return None
        ta = ShapeDtype.of(x)
        if ta.shape != aval.shape or (ta.dtype != aval.dtype and not (ta.weak or aval.weak)):
            return None
        out.append(np.asarray(x, aval.dtype))
    return out


def _eager_forward(f, primals):
    """f(*primals) by the compiled forward program that eager vjp and linearize share."""
    return _eager_program(("forward",), f)._call(f, primals, {})


def _bound_at_call(apply: Jitted, fn, saved, example, tree, avals):
    """`run(second)` = `fn(saved, second)`: the program is traced and compiled now (for a
    `second` like `example`) and every run reuses it on `saved`, so the function is not
    traced again. A `second` that does not match `tree`/`avals` goes through `fn` and the
    transform's own checks (which say what is wrong, or convert what they may)."""
    compiled, leaves = apply._compiled((saved, example), {}, fn)
    saved_leaves = leaves[:len(pytree.tree_leaves(saved))]

    def run(second):
        values = _matching_leaves(second, tree, avals)
        if values is None:
            return apply._call(fn, (saved, second), {})
        return pytree.unflatten(compiled.out_tree, compiled.executable(*saved_leaves, *values))
    return run


def _eager_vjp(f, primals, has_aux):
    """The forward program runs now; the program mapping (primals, cotangents) to
    cotangents is traced and compiled now too, and vjp_fn runs it on a copy of the
    primals: f is not traced again, and later changes to its captured state are not seen."""
    out = _eager_forward(f, primals)
    if has_aux and not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise _error("vjp", f, f"has_aux=True needs f to return a pair (output, aux), got structure "
                               f"{pytree.tree_structure(out)}")
    main, aux = (out if has_aux else (out, None))

    def backward(ps, ct):
        return vjp(f, *ps, has_aux=has_aux)[1](ct)
    backward.__name__ = _fn_name(f)
    main_leaves, main_tree = pytree.flatten(main)
    vjp_fn = _bound_at_call(_eager_program(("vjp", bool(has_aux)), f), backward, _saved(tuple(primals)), main,
                            main_tree, [ShapeDtype.of(x) for x in main_leaves])
    return (main, vjp_fn, aux) if has_aux else (main, vjp_fn)


def jvp(f: Callable, primals: Sequence, tangents: Sequence, has_aux: bool = False):
    """`(f(*primals), J·tangents)` (plus `aux` with has_aux): forward-mode derivative.

    `tangents` has the structure of `primals`, and each tangent the shape and dtype
    of its primal (a Python scalar takes its primal's dtype).

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> tfn.jvp(tnp.exp, (np.array([0.0]),), (np.array([3.0]),))
        (array([1.]), array([3.]))
    """
    return _jvp("jvp", f, primals, tangents, has_aux)


def _jvp(kind, f, primals, tangents, has_aux):
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise _error(kind, f, f"primals and tangents must be tuples (one entry per argument of f), got "
                              f"{type(primals).__name__} and {type(tangents).__name__}")
    primals, tangents = tuple(primals), tuple(tangents)
    a = _primal_args(kind, f, primals)
    if pytree.tree_structure(primals).canonical() != pytree.tree_structure(tangents).canonical():
        raise _error(kind, f, f"tangents structure {pytree.tree_structure(tangents)} does not match primals "
                              f"{pytree.tree_structure(primals)}", ValueError)
    if current_scope() is None:
        def forward(p, t):
            return _jvp(kind, f, p, t, has_aux)
        forward.__name__ = _fn_name(f)
        return _eager_program((kind, bool(has_aux)), f)._call(forward, (primals, tangents), {})
    traced = _trace_private(f, primals)
    main_tree, aux_tree, num_aux = _split_aux(kind, f, traced, has_aux)
    n_in = len(traced.in_avals)
    _check_float_leaves(kind, f, traced.in_avals, range(n_in), a.describe_dynamic)
    t_values = [_tangent_value(kind, f, t, aval, f"the tangent of {a.describe_dynamic(k)}",
                               f"the primal")
                for k, (t, aval) in enumerate(zip(pytree.tree_leaves(tangents), traced.in_avals))]
    rtype = jvp_type(traced.function_type, list(range(n_in)), num_aux)
    leaves = pytree.tree_leaves((primals, {}))
    # Captured values follow the explicit inputs in the callee; tangents follow all inputs.
    operands = [value_of(x) for x in leaves] + [value_of(c) for c in traced.captured] + t_values
    results = _wrap_all(_apply("jvp", traced, rtype, {"argnums": _i64s(range(n_in)), "num_aux": _i64(num_aux)},
                               operands))
    n_out = len(traced.out_avals)
    outs, touts = results[:n_out], results[n_out:]
    out = pytree.unflatten(main_tree, outs[:n_out - num_aux])
    tout = pytree.unflatten(main_tree, touts)
    if has_aux:
        return out, tout, pytree.unflatten(aux_tree, outs[n_out - num_aux:])
    return out, tout


def linearize(f: Callable, *primals):
    """`(f(*primals), jvp_fn)` where `jvp_fn(*tangents)` is the JVP at `primals`.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> out, jvp_fn = tfn.linearize(tnp.sin, np.array([0.0]))
        >>> jvp_fn(np.array([2.0]))
        array([2.])
    """
    _primal_args("linearize", f, primals)
    if current_scope() is None:
        return _eager_linearize(f, primals)
    out = _call(_trace_private(f, primals), primals)
    return out, lambda *tangents: _jvp("linearize", f, primals, tangents, False)[1]


def _eager_linearize(f, primals):
    """As `_eager_vjp`: the JVP program is compiled now and jvp_fn runs it on a copy of
    the primals, never tracing f again."""
    out = _eager_forward(f, primals)
    saved = _saved(tuple(primals))

    def push(p, t):
        return _jvp("linearize", f, p, t, False)[1]
    push.__name__ = _fn_name(f)
    saved_leaves, tree = pytree.flatten(saved)
    run = _bound_at_call(_eager_program(("linearize",), f), push, saved, saved, tree,
                         [ShapeDtype.of(x) for x in saved_leaves])
    return out, lambda *tangents: run(tuple(tangents))
