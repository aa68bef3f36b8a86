"""Ahead-of-time compilation: a Python function or a tfn `.mlir` module -> an `Artifact`.

    >>> import numpy as np, tfn, tfn.numpy as tnp
    >>> art = tfn.aot.compile(lambda x: tnp.tanh(x) * 2, tfn.ShapeDtype((3,), np.float32), name="scaled_tanh")
    >>> print(art.header.split("int scaled_tanh(")[1].split(";")[0].strip())
    const float* in0,  /* f32[3] x */
        float* out0  /* f32[3] out */
    )
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np
from mlir import ir

from tfn.aot import capi
from tfn.aot import target as T
from tfn.aot.artifact import Artifact
from tfn.aot.capi import TensorSpec
from tfn.dialect.types import canonical_dtype, to_dtype
from tfn.frontend import pytree
from tfn.frontend.tracer import ShapeDtype, Tracer
from tfn.runtime.errors import describe_function


class AotError(Exception):
    """A compilation input that cannot be compiled; `location` (when set) is a file:line:col."""

    def __init__(self, message: str, location: tuple[str, int, int] | None = None):
        super().__init__(message)
        self.location = location


def _spec_leaf(x) -> ShapeDtype:
    if isinstance(x, ShapeDtype):
        return ShapeDtype(tuple(int(d) for d in x.shape), canonical_dtype(x.dtype), x.weak)
    if isinstance(x, Tracer):
        raise TypeError("tfn.aot.compile takes arrays or ShapeDtype specs, not traced values")
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (np.ndarray, np.generic)):
        return ShapeDtype(tuple(int(d) for d in x.shape), canonical_dtype(x.dtype))  # jax-style specs
    if not isinstance(x, (np.ndarray, np.generic, bool, int, float)):
        raise TypeError(f"an argument leaf is a {type(x).__name__}: pass arrays or tfn.ShapeDtype specs "
                        f"(mark other arguments static with static_argnums)")
    return ShapeDtype.of(x)


def _leaf_paths(fn: Callable, tree: pytree.TreeDef, positional: list[int]) -> list[str]:
    """A readable path per leaf: 'params[0][1]', 'x', ... from the parameter names."""
    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    paths: list[str] = []

    def walk(node: pytree.TreeDef, prefix: str) -> None:
        if node.kind == "leaf":
            paths.append(prefix)
        elif node.kind == "dict":
            for k, c in zip(node.data, node.children):
                walk(c, f"{prefix}[{k!r}]")
        elif node.kind == "namedtuple":
            for f, c in zip(node.data._fields, node.children):
                walk(c, f"{prefix}.{f}")
        else:
            for i, c in enumerate(node.children):
                walk(c, f"{prefix}[{i}]")

    args_tree = tree.children[0] if tree.kind == "tuple" and tree.children else tree
    for i, child in enumerate(args_tree.children):
        position = positional[i] if i < len(positional) else i
        walk(child, names[position] if position < len(names) else f"args[{position}]")
    return paths


def _out_paths(tree: pytree.TreeDef) -> list[str]:
    paths: list[str] = []

    def walk(node, prefix):
        if node.kind == "leaf":
            paths.append(prefix)
        elif node.kind == "dict":
            for k, c in zip(node.data, node.children):
                walk(c, f"{prefix}[{k!r}]")
        else:
            for i, c in enumerate(node.children):
                walk(c, f"{prefix}[{i}]")
    walk(tree, "out")
    return paths


def compile(fn: Callable, *example_args, name: str | None = None, static_argnums: int | Sequence[int] = (),
            cpu: str = T.HOST, opt_level: int = 3, use_blas: bool = False) -> Artifact:
    """Compiles `fn` for the argument shapes of `example_args` to native code with a C API.

    `example_args` are arrays, Python scalars or `tfn.ShapeDtype` specs (pytrees
    of them); arguments at `static_argnums` are passed to `fn` as they are.
    `cpu` is 'host' (this machine's CPU and features), 'generic' (any x86-64) or
    an LLVM CPU name such as 'x86-64-v3'. `use_blas` makes large contractions call
    `scipy_cblas_[sd]gemm64_`, which the final program must then link.
    The C function is `int name(const T* in0, ..., U* out0, ...)`; `.header` declares it.
    """
    target = T.check_target(cpu, opt_level)
    name = capi.check_c_name(name if name is not None else getattr(fn, "__name__", ""))
    statics = {static_argnums} if isinstance(static_argnums, int) else set(static_argnums)
    n = len(example_args)
    statics = {s % n if -n <= s < n else s for s in statics}
    bad = [s for s in statics if not 0 <= s < n]
    if bad:
        raise ValueError(f"static_argnums {bad[0]} is out of range for {n} arguments")
    positional = [i for i in range(n) if i not in statics]
    dynamic = tuple(example_args[i] for i in positional)
    leaves, tree = pytree.flatten((dynamic, {}))
    avals = [_spec_leaf(x) for x in leaves]

    def bound(*dyn):
        it = iter(dyn)
        return fn(*[example_args[i] if i in statics else next(it) for i in range(n)])

    from tfn.api.jit import trace_module
    from tfn.frontend.tracer import context
    with context(), ir.Location.unknown():
        module, traced = trace_module(bound, pytree.unflatten(tree, avals)[0], {}, avals, name)
        inputs = [TensorSpec(a.shape, a.dtype, p) for a, p in zip(avals, _leaf_paths(fn, tree, positional))]
        outs = _out_paths(traced.out_tree)
        outputs = [TensorSpec(a.shape, a.dtype, p if len(outs) > 1 else "out")
                   for a, p in zip(traced.out_avals, outs)]
        return _finish(module, "main", name, inputs, outputs, target, use_blas,
                       source=f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', name)}",
                       function=describe_function(getattr(fn, "__name__", name), fn))


def compile_module(module: ir.Module, entry: str, name: str | None = None, *, cpu: str = T.HOST,
                   opt_level: int = 3, use_blas: bool = False, source: str = "") -> Artifact:
    """Compiles function `entry` of a tfn module whose transform ops are already expanded.

    The module is lowered in place; run inside its context.
    """
    target = T.check_target(cpu, opt_level)
    name = capi.check_c_name(name if name is not None else entry)
    ftype = None
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == entry:
            ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
            if len(op.regions[0].blocks) == 0:
                raise AotError(f"function '{entry}' is only declared; it needs a body")
    if ftype is None:
        raise AotError(f"no function named '{entry}' in the module")
    _check_no_recursion(module, entry)

    def specs(types, prefix):
        out = []
        for i, t in enumerate(types):
            try:
                t = ir.RankedTensorType(t)
            except ValueError:
                raise AotError(f"'{entry}' {prefix} {i} has type {t}; only ranked tensors can cross the "
                               f"C API") from None
            if not t.has_static_shape:
                raise AotError(f"'{entry}' {prefix} {i} has type {t}; its shape must be static")
            try:
                dtype = to_dtype(t.element_type)
            except TypeError as e:
                raise AotError(f"'{entry}' {prefix} {i}: {e}") from None
            out.append(TensorSpec(tuple(t.shape), dtype, f"{prefix} {i}"))
        return out
    inputs, outputs = specs(ftype.inputs, "argument"), specs(ftype.results, "result")
    return _finish(module, entry, name, inputs, outputs, target, use_blas, source=source)


def _check_no_recursion(module: ir.Module, entry: str) -> None:
    """tfn has no control flow, so a recursive call never ends: refuse it, at the call."""
    from tfn.dialect.locations import file_position
    from tfn.passes import ir_utils
    from tfn.passes.expand_transforms import find_recursion
    cycle = find_recursion(ir_utils.functions(module.operation), entry)
    if cycle is not None:
        chain = " -> ".join(f"@{caller}" for caller, _ in cycle) + f" -> @{cycle[0][0]}"
        position = file_position(cycle[-1][1].location)
        at = f" at {position[0]}:{position[1]}:{position[2]}" if position else ""
        raise AotError(f"'{entry}' is recursive ({chain}, closed{at}); with no control flow in tfn "
                       f"the recursion would never end", position)


def _finish(module: ir.Module, entry: str, name: str, inputs, outputs, target: T.Target, use_blas: bool,
            source: str, function: str | None = None) -> Artifact:
    from mlir.dialects import llvm as llvm_dialect
    from tfn.lowering.driver import lower_for_cpu
    from tfn.runtime.errors import compile_errors
    with compile_errors(function or f"'{entry}'" + (f" of {source}" if source else ""), prefix="tfn.aot"):
        stages = dict(lower_for_cpu(module, entry, use_blas=use_blas))
        workspace = stages.pop("host_workspace_bytes")
        pipeline = stages.pop("pipeline")
        capi.add_c_wrapper(module, name, inputs, outputs, workspace_bytes=workspace)
        stages["llvm"] = str(module)
        stages["llvmir"] = llvm_dialect.translate_module_to_llvmir(module.operation)
    obj = T.object_code(stages["llvmir"], target)
    note = target.describe()
    if use_blas:
        note += "; calls scipy_cblas_sgemm64_/scipy_cblas_dgemm64_ (link numpy's OpenBLAS)"
    header = capi.header(name, inputs, outputs, source=source, target=note, workspace_bytes=workspace)
    return Artifact(name, inputs, outputs, stages, obj, header, target, source, pipeline)
