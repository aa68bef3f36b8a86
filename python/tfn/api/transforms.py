"""torch.func's transform API on tfn: each call emits a transform op into the IR.

Inside a trace (e.g. under `tfn.jit`) `grad(f)(x)` traces `f` into a private
function, emits `func.constant @f`, `tfn.grad` and a `func.call_indirect`; the
transform passes then expand the op. Outside a trace the same function is jitted
(compiled once per signature) and called with numpy arrays.
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

from mlir import ir
from mlir.dialects import func

from tfn.api.jit import Jitted
from tfn.frontend import pytree
from tfn.frontend.source import user_line, user_location
from tfn.frontend.tracer import Tracer, current_scope, trace, value_of, wrap
from tfn.transforms import ir_utils as U
from tfn.transforms.signatures import grad_type, jvp_type, vjp_type

# ---------------------------------------------------------------- helpers


def _fn_name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _where(f) -> str:
    code = getattr(f, "__code__", None)
    defined = f" (defined at {code.co_filename}:{code.co_firstlineno})" if code else ""
    return f"{_fn_name(f)}{defined}, called at {user_line()}"


def _error(kind: str, f, message: str, exc=TypeError):
    return exc(f"tfn.{kind}({_fn_name(f)}): {message}\n  function {_where(f)}")


def _normalize_argnums(argnums, nargs: int, kind: str, f) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise _error(kind, f, "argnums must name at least one argument", ValueError)
    out = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise _error(kind, f, f"argnums {argnums} out of range for {nargs} positional arguments", ValueError)
        out.append(a % nargs)
    return tuple(out)


def _leaf_ranges(args: Sequence) -> list[range]:
    ranges, start = [], 0
    for a in args:
        n = len(pytree.tree_leaves(a))
        ranges.append(range(start, start + n))
        start += n
    return ranges


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


def _check_float_leaves(kind, f, avals, indices, what="input"):
    for i in indices:
        if avals[i].dtype.kind != "f":
            raise _error(kind, f, f"{what} leaf {i} has dtype {avals[i].dtype.name}; only floating-point "
                                  f"{what}s can be differentiated", TypeError)


def _wrap_all(values) -> list[Tracer]:
    return [wrap(v) for v in values]


class _Transformed:
    """A transformed function: traces when called under a trace, else runs jitted."""

    def __init__(self, f: Callable):
        self.f = f
        self._jitted: Jitted | None = None
        functools.update_wrapper(self, f, updated=())

    def __call__(self, *args, **kwargs):
        if current_scope() is None:
            if self._jitted is None:
                self._jitted = Jitted(self._traced_call)
                self._jitted.__name__ = _fn_name(self.f)
            return self._jitted(*args, **kwargs)
        return self._traced_call(*args, **kwargs)

    def _traced_call(self, *args, **kwargs):
        raise NotImplementedError


# ---------------------------------------------------------------- grad

class _Grad(_Transformed):
    def __init__(self, f, argnums, has_aux, with_value, kind):
        super().__init__(f)
        self.argnums, self.has_aux, self.with_value, self.kind = argnums, has_aux, with_value, kind

    def _traced_call(self, *args, **kwargs):
        f, kind = self.f, self.kind
        argnums = _normalize_argnums(self.argnums, len(args), kind, f)
        traced = _trace_private(f, args, kwargs)
        main_tree, aux_tree, num_aux = _split_aux(kind, f, traced, self.has_aux)
        y = traced.out_avals[0]
        if main_tree.kind != "leaf" or y.shape != () or y.dtype.kind != "f":
            raise _error(kind, f, f"the differentiated output must be one 0-d float array, got "
                                  f"{'a pytree ' + repr(main_tree) if main_tree.kind != 'leaf' else repr(y)} "
                                  f"(use jacrev/vjp for non-scalar outputs)")
        ranges = _leaf_ranges(args)
        ir_argnums = [i for a in argnums for i in ranges[a]]
        _check_float_leaves(kind, f, traced.in_avals, ir_argnums)
        rtype = grad_type(traced.function_type, ir_argnums, num_aux, self.with_value)
        leaves = pytree.tree_leaves((tuple(args), dict(kwargs)))
        results = _wrap_all(_apply("grad", traced, rtype, {
            "argnums": _i64s(ir_argnums), "num_aux": _i64(num_aux), "with_value": _i64(int(self.with_value))},
            _call_values(traced, leaves)))
        grads_flat, rest = results[:len(ir_argnums)], results[len(ir_argnums):]
        it = iter(grads_flat)
        per_arg = [pytree.unflatten(pytree.tree_structure(args[a]), [next(it) for _ in ranges[a]]) for a in argnums]
        grads = per_arg[0] if isinstance(self.argnums, int) else tuple(per_arg)
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

def _traced_vjp(f, traced, primals, cotangents, has_aux):
    """Emits tfn.vjp of the traced f at `primals` with `cotangents`; returns one pytree per primal."""
    main_tree, aux_tree, num_aux = _split_aux("vjp", f, traced, has_aux)
    n_in = len(traced.in_avals)
    _check_float_leaves("vjp", f, traced.in_avals, range(n_in))
    rtype = vjp_type(traced.function_type, list(range(n_in)), num_aux)
    ct_leaves, ct_tree = pytree.flatten(cotangents)
    if ct_tree != main_tree:
        raise _error("vjp", f, f"cotangent structure {ct_tree} does not match the output structure {main_tree}",
                     ValueError)
    from tfn import numpy as tnp
    ct_values = []
    for k, (c, aval) in enumerate(zip(ct_leaves, traced.out_avals)):
        c = tnp.asarray(c, aval.dtype)
        if c.shape != aval.shape:
            raise _error("vjp", f, f"cotangent {k} has shape {c.shape}, the output has shape {aval.shape}",
                         ValueError)
        ct_values.append(value_of(c))
    leaves = pytree.tree_leaves((tuple(primals), {}))
    results = _wrap_all(_apply("vjp", traced, rtype, {"argnums": _i64s(range(n_in)), "num_aux": _i64(num_aux)},
                               _call_values(traced, leaves) + ct_values))
    it = iter(results[len(results) - n_in:])
    return tuple(pytree.unflatten(pytree.tree_structure(p), [next(it) for _ in pytree.tree_leaves(p)])
                 for p in primals)


def vjp(f: Callable, *primals, has_aux: bool = False):
    """`(output, vjp_fn)` (plus `aux` with has_aux); `vjp_fn(ct)` returns one cotangent per primal.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> out, vjp_fn = tfn.vjp(tnp.sin, np.array([0.0]))
        >>> vjp_fn(np.array([2.0]))
        (array([2.]),)
    """
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


def _eager_vjp(f, primals, has_aux):
    from tfn.api.jit import jit
    out = jit(f)(*primals)
    main, aux = (out if has_aux else (out, None))
    apply = _eager_cache(("vjp", f, has_aux), lambda: jit(
        lambda ps, ct: vjp(f, *ps, has_aux=has_aux)[1](ct)))

    def vjp_fn(cotangents):
        return apply(tuple(primals), cotangents)
    return (main, vjp_fn, aux) if has_aux else (main, vjp_fn)


_EAGER: dict = {}


def _eager_cache(key, make):
    try:
        hit = _EAGER.get(key)
    except TypeError:
        return make()
    if hit is None:
        hit = _EAGER[key] = make()
    return hit


def jvp(f: Callable, primals: Sequence, tangents: Sequence, has_aux: bool = False):
    """`(f(*primals), J·tangents)` (plus `aux` with has_aux): forward-mode derivative.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> tfn.jvp(tnp.exp, (np.array([0.0]),), (np.array([3.0]),))
        (array([1.]), array([3.]))
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if current_scope() is None:
        from tfn.api.jit import jit
        apply = _eager_cache(("jvp", f, has_aux), lambda: jit(lambda p, t: jvp(f, p, t, has_aux=has_aux)))
        return apply(primals, tangents)
    if pytree.tree_structure(primals) != pytree.tree_structure(tangents):
        raise _error("jvp", f, f"tangents structure {pytree.tree_structure(tangents)} does not match primals "
                               f"{pytree.tree_structure(primals)}", ValueError)
    traced = _trace_private(f, primals)
    main_tree, aux_tree, num_aux = _split_aux("jvp", f, traced, has_aux)
    n_in = len(traced.in_avals)
    _check_float_leaves("jvp", f, traced.in_avals, range(n_in))
    from tfn import numpy as tnp
    t_values = []
    for k, (t, aval) in enumerate(zip(pytree.tree_leaves(tangents), traced.in_avals)):
        t = tnp.asarray(t, aval.dtype)
        if t.shape != aval.shape:
            raise _error("jvp", f, f"tangent {k} has shape {t.shape}, the primal has shape {aval.shape}", ValueError)
        t_values.append(value_of(t))
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
    if current_scope() is None:
        from tfn.api.jit import jit
        out = jit(f)(*primals)
        apply = _eager_cache(("linearize", f), lambda: jit(lambda p, t: jvp(f, p, t)[1]))
        return out, lambda *tangents: apply(tuple(primals), tuple(tangents))
    out = _call(_trace_private(f, primals), primals)
    return out, lambda *tangents: jvp(f, primals, tangents)[1]
