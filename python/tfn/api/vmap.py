"""`tfn.vmap`: torch.func.vmap on tfn, emitted as a `tfn.vmap` transform op.

`vmap(f)(x)` traces `f` on one example (the batch dim removed) into a private
function, then emits `func.constant @f`, `tfn.vmap` and a call; the `tfn-batch`
pass rewrites the op into a batched function (no loop over the batch). Outside a
trace the call is jitted and runs on numpy arrays.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from mlir import ir

from tfn.api.transforms import _error as transform_error
from tfn.api.transforms import _Args, _is_int, _trace_args, _Transformed, _apply, _i64, _i64s, _wrap_all
from tfn import ops
from tfn.frontend import pytree
from tfn.frontend.tracer import ShapeDtype, Tracer, trace, value_of
from tfn.passes.batch import RANDOMNESS_MODES, vmap_type


def _error(f, message: str, exc=ValueError):
    return transform_error("vmap", f, message, exc)


def _is_dim(d) -> bool:
    return d is None or _is_int(d)


def _check_dims(f, dims, what: str):
    """`dims` with numpy ints made ints; TypeError unless every entry is an int or None."""
    leaves, tree = pytree.flatten(dims, is_leaf=lambda x: x is None)
    for d in leaves:
        if not _is_dim(d):
            raise _error(f, f"{what} entries must be ints or None, got {d!r} ({type(d).__name__}) in "
                            f"{what}={dims!r}", TypeError)
    return pytree.unflatten(tree, [None if d is None else int(d) for d in leaves])


def _match(f, dims, value, out, what, where):
    """Appends one dim per leaf of `value`: `dims` is an int or None for a whole subtree, or a
    container of the same kind and keys as `value` (tuple and list are interchangeable)."""
    if dims is None or isinstance(dims, int):
        out.extend([dims] * len(pytree.tree_leaves(value)))
        return
    dkids, vkids = pytree.children_of(dims), pytree.children_of(value)
    same_kind = (isinstance(dims, (tuple, list)) and isinstance(value, (tuple, list))) or \
        (isinstance(dims, dict) and isinstance(value, dict)) or type(dims) is type(value)
    if dkids is not None and vkids is not None and same_kind and len(dkids) == len(vkids):
        by_key = dict(dkids)
        if set(by_key) == {k for k, _ in vkids}:
            for k, v in vkids:
                _match(f, by_key[k], v, out, what, f"{where}[{k!r}]")
            return
    raise _error(f, f"{what} {dims!r} does not match the structure {pytree.tree_structure(value)} of {where}")


def _shape(x) -> tuple:
    if isinstance(x, (Tracer, ShapeDtype)):
        return tuple(x.shape)
    return tuple(np.shape(x))


class _Vmap(_Transformed):
    kind = "vmap"

    def __init__(self, f, in_dims, out_dims, randomness, chunk_size):
        super().__init__(f)
        if randomness not in RANDOMNESS_MODES:
            raise _error(f, f"randomness must be one of {', '.join(map(repr, RANDOMNESS_MODES))}, "
                            f"got {randomness!r}")
        if chunk_size is not None and (not _is_int(chunk_size) or chunk_size < 1):
            raise _error(f, f"chunk_size must be a positive int or None, got {chunk_size!r}",
                         ValueError if _is_int(chunk_size) else TypeError)
        if not (in_dims is None or _is_int(in_dims) or isinstance(in_dims, (tuple, list))):
            raise _error(f, f"in_dims must be an int, None or a tuple with one entry per positional argument, "
                            f"got {in_dims!r} ({type(in_dims).__name__})", TypeError)
        self.in_dims = _check_dims(f, in_dims, "in_dims")
        self.out_dims = _check_dims(f, out_dims, "out_dims")
        self.randomness, self.chunk_size = randomness, None if chunk_size is None else int(chunk_size)

    def _options(self):
        return (self.in_dims, self.out_dims, self.randomness, self.chunk_size)

    # ---- in_dims
    def _leaf_dims(self, args) -> list[list]:
        f, in_dims = self.f, self.in_dims
        if isinstance(in_dims, (tuple, list)):
            if len(in_dims) != len(args):
                raise _error(f, f"in_dims has {len(in_dims)} entries but {len(args)} positional arguments "
                                f"were given (in_dims={in_dims!r})")
            per_arg = in_dims
        else:
            per_arg = [in_dims] * len(args)
        return [self._arg_dims(a, d, k) for k, (a, d) in enumerate(zip(args, per_arg))]

    def _arg_dims(self, arg, dims, k):
        out: list = []
        _match(self.f, dims, arg, out, "in_dims entry", f"argument {k}")
        leaves = pytree.tree_leaves(arg)
        result = []
        for j, (leaf, d) in enumerate(zip(leaves, out)):
            if d is None:
                result.append(None)
                continue
            if not isinstance(d, int):
                raise _error(self.f, f"in_dims for argument {k} must be ints or None, got {d!r}", TypeError)
            if not isinstance(leaf, (np.ndarray, np.generic, Tracer)):
                raise _error(self.f, f"argument {k} (leaf {j}) is a {type(leaf).__name__} with in_dim {d}; "
                                     f"only arrays can be mapped over (use in_dim None)")
            rank = len(_shape(leaf))
            if rank == 0:
                raise _error(self.f, f"argument {k} (leaf {j}) is 0-d with in_dim {d}; a scalar has no dim "
                                     f"to map over, so only arrays can be mapped (use in_dim None)")
            if not -rank <= d < rank:
                raise _error(self.f, f"in_dim {d} is out of range for argument {k} (leaf {j}) of shape "
                                     f"{_shape(leaf)} (rank {rank})")
            result.append(d % rank)
        return result

    def _batch_size(self, args, dims) -> int:
        sizes = []
        for k, (a, ds) in enumerate(zip(args, dims)):
            for j, (leaf, d) in enumerate(zip(pytree.tree_leaves(a), ds)):
                if d is not None:
                    sizes.append((k, j, d, _shape(leaf)[d]))
        if not sizes:
            raise _error(self.f, f"no input is batched (in_dims={self.in_dims!r}); at least one argument "
                                 f"must be an array with an in_dim that is not None")
        if len({s for *_, s in sizes}) > 1:
            described = ", ".join(f"argument {k}{'' if len(pytree.tree_leaves(args[k])) == 1 else f' leaf {j}'}"
                                  f" has size {s} at dim {d}" for k, j, d, s in sizes)
            raise _error(self.f, f"expected all mapped inputs to have the same size in the mapped dimension, "
                                 f"but {described}")
        return sizes[0][3]

    # ---- out_dims
    def _out_leaf_dims(self, out_tree, out_avals):
        f, out_dims = self.f, self.out_dims
        if out_tree.kind == "leaf" and isinstance(out_dims, (tuple, list)) and len(out_dims) == 1:
            out_dims = out_dims[0]  # torch.func: a 1-tuple of out_dims for a single output
        if out_dims is None or isinstance(out_dims, int):
            dims = [out_dims] * len(out_avals)
        else:
            value = pytree.unflatten(out_tree, list(range(len(out_avals))))
            dims = []
            _match(f, out_dims, value, dims, "out_dims", "the output")
        result = []
        for j, (d, aval) in enumerate(zip(dims, out_avals)):
            if d is None:
                result.append(-1)
                continue
            rank = len(aval.shape) + 1
            if not isinstance(d, int) or not -rank <= d < rank:
                raise _error(f, f"out_dim {d!r} is out of range for output {j} of (per-example) shape "
                                f"{aval.shape}")
            result.append(d % rank)
        return result

    def _traced_call(self, *args, **kwargs):
        f = self.f
        dims = self._leaf_dims(args)
        size = self._batch_size(args, dims)
        # Arrays are traced; other leaves (in_dim None: _leaf_dims checked) reach f unchanged.
        # Keyword arguments are not mapped.
        a = _Args("vmap", f, args, kwargs)
        leaf_dims = [d for ds in dims for d in ds] + [None] * (len(a.leaves) - sum(map(len, dims)))
        flat_dims = [leaf_dims[i] for i in a.dynamic]
        leaves = a.dynamic_leaves
        avals = []
        for leaf, d in zip(leaves, flat_dims):
            v = ShapeDtype.of(leaf)
            if d is not None:
                v = ShapeDtype(v.shape[:d] + v.shape[d + 1:], v.dtype, False)
            avals.append(v)
        traced = _trace_args(f, a, leaf_avals=avals)
        self._retrace = lambda: _trace_args(f, a, leaf_avals=avals)
        out_dims = self._out_leaf_dims(traced.out_tree, traced.out_avals)
        in_dims = [-1 if d is None else d for d in flat_dims] + [-1] * len(traced.captured)
        values = [value_of(x) for x in leaves] + [value_of(c) for c in traced.captured]
        chunk = self.chunk_size
        if chunk is not None and chunk < size and self.randomness == "different":
            raise _error(f, "chunk_size with randomness='different' would repeat the draws of each chunk; "
                            "map over explicit keys (tfn.random.split(key, n) with in_dim 0) instead")
        if size == 0:
            outs = self._emit_empty(traced, in_dims, out_dims, avals, values)
        elif chunk is None or chunk >= size:
            outs = self._emit(traced, in_dims, out_dims, size, values)
        else:
            outs = self._emit_chunked(traced, in_dims, out_dims, size, values, chunk)
        return pytree.unflatten(traced.out_tree, _wrap_all(outs))

    def _emit_empty(self, traced, in_dims, out_dims, avals, values):
        """A batch of zero examples: batched results are empty; unbatched ones come from one call
        on zeros in place of the (absent) examples, on which they do not depend."""
        from mlir.dialects import func

        from tfn import numpy as tnp
        from tfn.frontend.source import user_location
        with user_location():
            example = [value_of(tnp.zeros(avals[k].shape, avals[k].dtype)) if k < len(avals) and d >= 0 else v
                       for k, (v, d) in enumerate(zip(values, in_dims))]
            call = func.CallOp(list(traced.function_type.results), ir.FlatSymbolRefAttr.get(traced.name), example)
            outs = []
            for r, d, aval in zip(call.results, out_dims, traced.out_avals):
                shape = list(aval.shape)
                outs.append(r if d < 0 else value_of(tnp.zeros(tuple(shape[:d] + [0] + shape[d:]), aval.dtype)))
        return outs

    def _emit(self, traced, in_dims, out_dims, size, values):
        rtype = vmap_type(traced.function_type, in_dims, out_dims, size)
        return _apply("vmap", traced, rtype, {
            "in_dims": _i64s(in_dims), "out_dims": _i64s(out_dims), "batch_size": _i64(size),
            "randomness": ir.StringAttr.get(self.randomness)}, values)

    def _emit_chunked(self, traced, in_dims, out_dims, size, values, chunk):
        """Slices of `chunk` examples, one vmapped call each, results joined along out_dims."""
        from tfn.frontend.source import user_location
        pieces = []
        for start in range(0, size, chunk):
            stop = min(start + chunk, size)
            with user_location():
                part = [v if d < 0 else _slice_dim(v, d, start, stop) for v, d in zip(values, in_dims)]
            if stop - start != chunk:
                # The remainder is mapped over its own copy of f: one function per batch size.
                retraced = self._retrace()
                part = part[:len(part) - len(traced.captured)] + [value_of(c) for c in retraced.captured]
                pieces.append(self._emit(retraced, in_dims, out_dims, stop - start, part))
                continue
            pieces.append(self._emit(traced, in_dims, out_dims, stop - start, part))
        outs = []
        with user_location():
            for j, d in enumerate(out_dims):
                outs.append(_join([p[j] for p in pieces], d) if d >= 0 else pieces[0][j])
        return outs


def _join(parts: list, dim: int) -> ir.Value:
    """The parts concatenated along `dim`, pairwise in rounds: each element is copied
    log2(len(parts)) times, where a left-to-right chain copies the growing prefix again
    for every part (quadratic in the number of chunks)."""
    while len(parts) > 1:
        parts = [ops.concatenate(parts[i], parts[i + 1], dim) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


def _slice_dim(v: ir.Value, dim: int, start: int, stop: int) -> ir.Value:
    from tfn.dialect.types import shape_of
    shape = shape_of(v)
    lo, hi = [0] * len(shape), list(shape)
    lo[dim], hi[dim] = start, stop
    return ops.slice(v, lo, hi)


def vmap(f: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """Vectorizing map: `f` written for one example runs on a batch, with torch.func's semantics.

    `in_dims` is an int (every positional argument mapped at that dim), None, or a
    tuple with one entry per positional argument, each an int, None or a pytree
    matching that argument; `out_dims` is an int or a pytree matching the output.
    Keyword arguments are not mapped. `randomness` ('error', 'different', 'same')
    says what tfn.random does inside: raise, draw per example, or draw once.
    `chunk_size` computes `chunk_size` examples at a time.

        >>> import numpy as np, tfn, tfn.numpy as tnp
        >>> tfn.vmap(lambda x, y: tnp.dot(x, y), in_dims=(0, None))(np.eye(2), np.array([1.0, 2.0]))
        array([1., 2.])
    """
    return _Vmap(f, in_dims, out_dims, randomness, chunk_size)
