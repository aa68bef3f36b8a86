"""jacrev, jacfwd and hessian: vjp (or jvp) mapped over the standard basis.

torch.func builds them the same way: jacrev = vmap(vjp_fn)(basis of the output),
jacfwd = vmap(jvp at basis of the input). The basis is built in the IR (iota +
compare), never as a dense constant.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from tfn import numpy as tnp
from tfn.api.transforms import _Args, _error, _check_argnums, _is_int, _normalize_argnums, _Transformed, jvp, vjp
from tfn.api.vmap import vmap
from tfn import ops
from tfn.dialect.types import is_float_dtype
from tfn.frontend import pytree
from tfn.frontend.tracer import ShapeDtype, Tracer, wrap


def _eye(n: int, dtype) -> Tracer:
    rows, cols = ops.iota((n, n), 0, np.int64), ops.iota((n, n), 1, np.int64)
    return wrap(ops.convert(ops.compare("eq", rows, cols), dtype))


def _size(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _with_args(f, args, argnums, kwargs):
    """f as a function of the arguments at `argnums` only (the others, and keywords, fixed)."""
    def partial(*selected):
        full = list(args)
        for a, v in zip(argnums, selected):
            full[a] = v
        return f(*full, **kwargs)
    partial.__name__ = getattr(f, "__name__", "f")
    return partial


def _split_basis(eye: Tracer, shapes: Sequence[tuple]) -> list[Tracer]:
    """Rows of an identity cut into one [n, *shape] block per leaf."""
    blocks, start = [], 0
    for shape in shapes:
        size = _size(shape)
        blocks.append(tnp.reshape(eye[:, start:start + size], (eye.shape[0],) + tuple(shape)))
        start += size
    return blocks


def _assemble(out_tree, out_shapes, arg_trees, per_arg_leaf_jacobians, single_arg):
    """Nest Jacobian blocks: output structure outside, argument structure inside."""
    result_leaves = []
    for o in range(len(out_shapes)):
        per_arg = [pytree.unflatten(tree, blocks[o]) for tree, blocks in zip(arg_trees, per_arg_leaf_jacobians)]
        result_leaves.append(per_arg[0] if single_arg else tuple(per_arg))
    return pytree.unflatten(out_tree, result_leaves)


def _zero_blocks(out_leaves, selected, dtype):
    """Jacobian blocks of zeros, [argument][output leaf][argument leaf], for zero-size inputs or outputs."""
    blocks = []
    for arg in selected:
        arg_leaves = [tnp.asarray(x) for x in pytree.tree_leaves(arg)]
        blocks.append([[tnp.zeros(tuple(o.shape) + tuple(x.shape), dtype(o, x)) for x in arg_leaves]
                       for o in out_leaves])
    return blocks


class _Jacobian(_Transformed):
    def __init__(self, f, argnums, has_aux):
        super().__init__(f)
        self.argnums, self.has_aux = _check_argnums(argnums, self.kind, f), has_aux

    def _options(self):
        return (self.argnums, bool(self.has_aux), getattr(self, "chunk_size", None))

    def _traced_args(self, args):
        return _normalize_argnums(self.argnums, len(args), self.kind, self.f)

    def _selected(self, args, kwargs):
        """(requested argnums, distinct argnums): a repeated argnum gets the same full Jacobian."""
        argnums = _normalize_argnums(self.argnums, len(args), self.kind, self.f)
        unique = tuple(dict.fromkeys(argnums))
        a = _Args(self.kind, self.f, args, kwargs, unique)  # every differentiated leaf is an array or a number
        for k in unique:
            for n in a.arg_dynamic[k]:
                dtype = ShapeDtype.of(a.dynamic_leaves[n]).dtype
                if not is_float_dtype(dtype):
                    raise _error(self.kind, self.f, f"{a.describe_dynamic(n)} has dtype {dtype.name}; only "
                                                    f"floating-point inputs can be differentiated")
        return argnums, unique

    def _result(self, out_tree, out_shapes, args, argnums, unique, per_unique_blocks, aux):
        arg_trees = [pytree.tree_structure(args[a]) for a in argnums]
        blocks = [per_unique_blocks[unique.index(a)] for a in argnums]
        jac = _assemble(out_tree, out_shapes, arg_trees, blocks, _is_int(self.argnums))
        return (jac, aux) if self.has_aux else jac


class _JacRev(_Jacobian):
    kind = "jacrev"

    def __init__(self, f, argnums, has_aux, chunk_size):
        super().__init__(f, argnums, has_aux)
        if chunk_size is not None and (not _is_int(chunk_size) or chunk_size < 1):
            raise _error("jacrev", f, f"chunk_size must be a positive int or None, got {chunk_size!r}",
                         ValueError if _is_int(chunk_size) else TypeError)
        self.chunk_size = None if chunk_size is None else int(chunk_size)

    def _traced_call(self, *args, **kwargs):
        argnums, unique = self._selected(args, kwargs)
        selected = [args[a] for a in unique]
        res = vjp(_with_args(self.f, args, unique, kwargs), *selected, has_aux=self.has_aux)
        out, vjp_fn = res[0], res[1]
        aux = res[2] if self.has_aux else None
        out_leaves, out_tree = pytree.flatten(out)
        out_leaves = [tnp.asarray(o) for o in out_leaves]
        shapes = [o.shape for o in out_leaves]
        total = sum(_size(s) for s in shapes)
        if total == 0:  # no output element (or no output): zero-size blocks, or the empty structure
            return self._result(out_tree, shapes, args, argnums, unique,
                                _zero_blocks(out_leaves, selected, lambda o, x: x.dtype), aux)
        basis = [tnp.asarray(b, o.dtype) for b, o in
                 zip(_split_basis(_eye(total, tnp.result_type(*out_leaves)), shapes), out_leaves)]
        cts = vmap(lambda ct: vjp_fn(pytree.unflatten(out_tree, list(ct))), chunk_size=self.chunk_size)(
            tuple(basis))
        # cts: one pytree per selected arg, each leaf [total, *arg_leaf_shape]
        per_unique = []
        for ct in cts:
            blocks = []
            for leaf in pytree.tree_leaves(ct):
                rows, start = [], 0
                for s in shapes:
                    size = _size(s)
                    rows.append(tnp.reshape(leaf[start:start + size], tuple(s) + leaf.shape[1:]))
                    start += size
                blocks.append(rows)
            # blocks[leaf][out] -> [out][leaf]
            per_unique.append([[blocks[l][o] for l in range(len(blocks))] for o in range(len(shapes))])
        return self._result(out_tree, shapes, args, argnums, unique, per_unique, aux)


class _JacFwd(_Jacobian):
    kind = "jacfwd"

    def _traced_call(self, *args, **kwargs):
        argnums, unique = self._selected(args, kwargs)
        selected = tuple(tnp.asarray(args[a]) if pytree.children_of(args[a]) is None else args[a]
                         for a in unique)
        g = _with_args(self.f, args, unique, kwargs)
        in_leaves, in_tree = pytree.flatten(selected)
        in_leaves = [tnp.asarray(x) for x in in_leaves]
        shapes = [x.shape for x in in_leaves]
        total = sum(_size(s) for s in shapes)
        aux = g(*selected)[1] if self.has_aux else None
        if total == 0:  # no input element: zero-size blocks, or the empty argument structure
            out = g(*selected)
            out_leaves, out_tree = pytree.flatten(out[0] if self.has_aux else out)
            out_leaves = [tnp.asarray(o) for o in out_leaves]
            return self._result(out_tree, [o.shape for o in out_leaves], args, argnums, unique,
                                _zero_blocks(out_leaves, selected, lambda o, x: o.dtype), aux)
        basis = [tnp.asarray(b, x.dtype) for b, x in
                 zip(_split_basis(_eye(total, tnp.result_type(*in_leaves)), shapes), in_leaves)]

        def push(tangent_leaves):
            tangents = pytree.unflatten(in_tree, list(tangent_leaves))
            return jvp(g, selected, tangents, has_aux=self.has_aux)[1]
        touts = vmap(push)(tuple(basis))   # output pytree, leaves [total, *out_shape]
        out_leaves, out_tree = pytree.flatten(touts)
        per_unique = []
        start_leaf = 0
        for tree in (pytree.tree_structure(s) for s in selected):
            n_leaves = tree.num_leaves
            per_out = []
            for t in out_leaves:
                blocks, start = [], sum(_size(s) for s in shapes[:start_leaf])
                for s in shapes[start_leaf:start_leaf + n_leaves]:
                    size = _size(s)
                    block = t[start:start + size]                      # [size, *out_shape]
                    out_rank = t.ndim - 1
                    moved = tnp.transpose(block, tuple(range(1, out_rank + 1)) + (0,))
                    blocks.append(tnp.reshape(moved, t.shape[1:] + tuple(s)))
                    start += size
                per_out.append(blocks)
            per_unique.append(per_out)
            start_leaf += n_leaves
        return self._result(out_tree, [t.shape[1:] for t in out_leaves], args, argnums, unique, per_unique, aux)


class _Hessian(_Jacobian):
    kind = "hessian"

    def _traced_call(self, *args, **kwargs):
        self._selected(args, kwargs)
        return jacfwd(jacrev(self.f, self.argnums), self.argnums)(*args, **kwargs)


def jacrev(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False, chunk_size: int | None = None):
    """Jacobian by reverse mode: one vjp per output element, batched with vmap.

    The result has shape `out.shape + arg.shape` per (output leaf, argument leaf).

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> tfn.jacrev(lambda x: x ** 2)(np.array([1.0, 3.0]))
        array([[2., 0.],
               [0., 6.]])
    """
    return _JacRev(f, argnums, has_aux, chunk_size)


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """Jacobian by forward mode: one jvp per input element, batched with vmap.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> tfn.jacfwd(lambda x: tnp.sin(x))(np.array([0.0, 0.0]))
        array([[1., 0.],
               [0., 1.]])
    """
    return _JacFwd(f, argnums, has_aux)


def hessian(f: Callable, argnums: int | Sequence[int] = 0):
    """Hessian of a scalar function: jacfwd(jacrev(f)).

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> tfn.hessian(lambda x: tnp.sum(x ** 3))(np.array([1.0, 2.0]))
        array([[ 6.,  0.],
               [ 0., 12.]])
    """
    return _Hessian(f, argnums, False)
