"""The lowering table (op name -> `(op, *operands) -> ir.Value`) and the elementwise helpers.

Each family module of `tfn.ops` registers the lowering of its ops here, beside their
other rules; `tfn.lowering.to_linalg` (the `tfn-lower-to-linalg` pass) walks a module
and calls them. Elementwise ops share the scalar-body tables `SCALAR_BODIES[kind][name]`
(kind: "float", "int", "bool"), which reductions read too (sum is add, ...).

The family modules are imported with `tfn`, the upstream dialect modules are not:
`mlir.dialects.linalg` alone builds every opdsl named op when imported (~0.1 s), and
arith, math and tensor cost ~13 ms more. So rules reach them (and
`tfn.lowering.builders`, which imports them) through `LazyModule`s: module-level code
only names a function (`float=math.erf` in a table row; it is imported when first
called), and rule bodies, which run after the pass imported the real modules
(`import_modules`), read them as usual (`arith.CmpFPredicate.OGT`).
"""
from __future__ import annotations

import contextvars
import importlib
import sys
from typing import Callable

from mlir import ir

LOWERINGS: dict[str, Callable[..., ir.Value]] = {}

# Calls of function-valued ops (control flow, custom derivatives): the op's name ->
# `(call, callee_op, arguments) -> results`, emitted in place of the `func.call_indirect`.
CALL_LOWERINGS: dict[str, Callable[..., list]] = {}

# The target the module is lowered for ("cpu" or "cuda"), for the few lowerings that differ
# (scatter: a sequential loop on the CPU, a parallel form on the GPU). Set by tfn-lower-to-linalg{target=...}.
TARGET: contextvars.ContextVar[str] = contextvars.ContextVar("tfn_lowering_target", default="cpu")

# kind ("float", "int", "bool") -> op name ("add") -> scalar body `(*scalars) -> scalar`.
SCALAR_BODIES: dict[str, dict[str, Callable]] = {"float": {}, "int": {}, "bool": {}}


class _OnFirstCall:
    """`module.name` named before `module` is imported: imports it when called or read."""

    def __init__(self, module: str, name: str):
        self._module, self._name, self._target = module, name, None

    def resolve(self):
        if self._target is None:
            self._target = getattr(importlib.import_module(self._module), self._name)
        return self._target

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.resolve(), name)


class LazyModule:
    """A module imported on first use: `lazy.f` is the real `f` once the module is imported,
    and before that a stand-in that imports it when called."""

    def __init__(self, name: str):
        self._module_name = name

    def __getattr__(self, name):
        module = sys.modules.get(self._module_name)
        if module is None:
            return _OnFirstCall(self._module_name, name)
        value = getattr(module, name)
        setattr(self, name, value)   # later reads find it in the instance, as fast as a module's
        return value


arith = LazyModule("mlir.dialects.arith")
math = LazyModule("mlir.dialects.math")
tensor = LazyModule("mlir.dialects.tensor")
linalg = LazyModule("mlir.dialects.linalg")
builders = LazyModule("tfn.lowering.builders")


def import_modules() -> None:
    """Imports the modules that the `LazyModule`s of the rules stand for (done by the
    lowering pass when it is imported, so rule bodies read the real modules)."""
    for name in ("mlir.dialects.arith", "mlir.dialects.math", "mlir.dialects.tensor", "mlir.dialects.linalg",
                 "tfn.lowering.builders", "tfn.lowering.contraction"):
        importlib.import_module(name)


# ---------------------------------------------------------------- element kinds and casts

def width(t: ir.Type) -> int:
    if isinstance(t, (ir.F16Type, ir.BF16Type)):
        return 16
    return 64 if isinstance(t, ir.F64Type) else 32 if isinstance(t, ir.F32Type) else ir.IntegerType(t).width


def is_half_type(t: ir.Type) -> bool:
    """f16 or bf16: element types that compute transcendentals, sums and contractions in f32."""
    return isinstance(t, (ir.F16Type, ir.BF16Type))


# Float ops that a 16-bit float computes in f32, rounding the result back once, as JAX does:
# libm and tfn-approximate-math have f32 code only, and f32 (24 significand bits, more than
# twice 11 + 2) makes one rounding of sqrt's exact result correct. The arith ops (add, mul,
# div, max, neg, ...) stay in the narrow type, which LLVM computes natively where the target
# can (CUDA) and through f32 with the same rounding where it cannot.
WIDE_FOR_HALF = frozenset({"exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "erf", "logistic",
                           "sqrt", "rsqrt", "pow", "floor", "ceil", "round"})


def _in_f32(body: Callable) -> Callable:
    """`body` computed on its operands extended to f32, its result rounded back to theirs."""
    def wide(*xs):
        f32 = ir.F32Type.get()
        return round_f32(body(*[extend(x, f32) for x in xs]), xs[0].type)
    return wide


def _bf16_on_cpu(t: ir.Type) -> bool:
    return isinstance(t, ir.BF16Type) and TARGET.get() == "cpu"


def extend(x: ir.Value, to: ir.Type) -> ir.Value:
    """The 16-bit float x as the wider float type `to` (exact). bf16 on the CPU moves its bits
    up by 16 in integer code, which LLVM vectorizes (its own bf16 extension did not: a row sum
    of bf16 took 3.5x a f32 one)."""
    if not _bf16_on_cpu(x.type):
        return arith.extf(to, x)
    i16, i32 = ir.IntegerType.get_signless(16), ir.IntegerType.get_signless(32)
    bits = arith.shli(arith.extui(i32, arith.bitcast(i16, x)), builders.scalar_constant(i32, 16))
    wide = arith.bitcast(ir.F32Type.get(), bits)
    return wide if isinstance(to, ir.F32Type) else arith.extf(to, wide)


def round_f32(x: ir.Value, to: ir.Type) -> ir.Value:
    """The f32 scalar x rounded to the 16-bit float type `to`, to nearest even.

    bf16 on the CPU rounds in integer code: the x86 instruction LLVM picks for it where it
    exists (vcvtneps2bf16) flushes subnormals to zero, so results would differ from ml_dtypes'
    and from one machine to the next. Every bf16 body computes so on the CPU (`scalar_body`)."""
    if not _bf16_on_cpu(to):
        return arith.truncf(to, x)
    i32, i16 = ir.IntegerType.get_signless(32), ir.IntegerType.get_signless(16)
    c = lambda v: builders.scalar_constant(i32, v)  # noqa: E731
    bits = arith.bitcast(i32, x)
    high = arith.shrui(bits, c(16))
    # adding 0x7fff plus the kept part's last bit rounds to nearest, ties to even; a carry
    # into the exponent is the next binade (or inf), as it should be
    rounded = arith.shrui(arith.addi(bits, arith.addi(c(0x7FFF), arith.andi(high, c(1)))), c(16))
    quiet_nan = arith.ori(high, c(0x40))
    is_nan = arith.cmpf(arith.CmpFPredicate.UNO, x, x)
    return arith.bitcast(to, arith.trunci(i16, arith.select(is_nan, quiet_nan, rounded)))


def element_kind(t: ir.Type) -> str:
    """"float", "bool" or "int": which scalar-body table an element type reads."""
    return "float" if builders.is_float_type(t) else "bool" if width(t) == 1 else "int"


def identity_element(combiner: str, t: ir.Type):
    """The value that `combiner` ("add"/"sum", "mul"/"prod", "max", "min") leaves any element of
    type `t` unchanged with: what a reduction starts from, what a masked-out update contributes."""
    kind = {"sum": "add", "prod": "mul"}.get(combiner, combiner)
    if builders.is_float_type(t):
        return {"add": 0.0, "mul": 1.0, "max": float("-inf"), "min": float("inf")}[kind]
    bits = width(t)
    if bits == 1:
        return {"add": 0, "mul": 1, "max": 0, "min": 1}[kind]
    return {"add": 0, "mul": 1, "max": -(1 << (bits - 1)), "min": (1 << (bits - 1)) - 1}[kind]


def scalar_body(name: str, t: ir.Type) -> Callable:
    """The scalar body of elementwise op `name` ("add") on element type `t`."""
    table = SCALAR_BODIES[element_kind(t)]
    body = table.get(name)
    if body is None:
        raise NotImplementedError(f"lowering of 'tfn.{name}' on element type {t} not implemented")
    if isinstance(body, _OnFirstCall):   # named before its module was imported: now it is
        body = table[name] = body.resolve()
    if (name in WIDE_FOR_HALF and is_half_type(t)) or _bf16_on_cpu(t):
        return _in_f32(body)
    return body


def _f64_to_f32_round_to_odd(x: ir.Value) -> ir.Value:
    """x rounded to f32 toward zero, the last bit set where that was inexact ("round to odd"):
    rounding this to a 16-bit float then rounds x correctly, as numpy and ml_dtypes do (24 bits
    hold the 16-bit float's 11 and two more). Rounding to f32 to nearest first could land on a
    tie the 16-bit rounding breaks the wrong way, and LLVM has no f64 -> bf16 of its own on the
    CPU (it calls `__truncdfbf2`, which the JIT's process lacks)."""
    f32, i32 = ir.F32Type.get(), ir.IntegerType.get_signless(32)
    nearest = arith.truncf(f32, x)
    back = arith.extf(x.type, nearest)
    bits = arith.bitcast(i32, nearest)
    one = builders.scalar_constant(i32, 1)
    # sign and magnitude: one less in the bits is one ulp nearer zero (inf becomes the largest float)
    rounded_up = arith.cmpf(arith.CmpFPredicate.OGT, math.absf(back), math.absf(x))
    bits = arith.select(rounded_up, arith.subi(bits, one), bits)
    inexact = arith.cmpf(arith.CmpFPredicate.ONE, back, x)
    return arith.bitcast(f32, arith.select(inexact, arith.ori(bits, one), bits))


def cast_scalar(x: ir.Value, to: ir.Type) -> ir.Value:
    """numpy astype on one scalar: floats truncate toward zero, bools are x != 0."""
    src = x.type
    if src == to:
        return x
    is_float_type, constant = builders.is_float_type, builders.scalar_constant
    if is_float_type(to):
        if is_float_type(src):
            if width(to) > width(src):
                return extend(x, to)
            if width(to) == width(src):   # f16 <-> bf16: through f32, which holds both exactly
                return round_f32(extend(x, ir.F32Type.get()), to)
            if width(to) == 16:
                return round_f32(x if width(src) == 32 else _f64_to_f32_round_to_odd(x), to)
            return arith.truncf(to, x)
        if _bf16_on_cpu(to):   # through f32 (exact for 16-bit floats: below 2**24 every integer is one)
            return round_f32(cast_scalar(x, ir.F32Type.get()), to)
        return arith.uitofp(to, x) if width(src) == 1 else arith.sitofp(to, x)
    if width(to) == 1:
        if is_float_type(src):
            return arith.cmpf(arith.CmpFPredicate.UNE, x, constant(src, 0.0))
        return arith.cmpi(arith.CmpIPredicate.ne, x, constant(src, 0))
    if is_float_type(src):
        return arith.fptosi(to, x)
    if width(src) == 1:
        return arith.extui(to, x)
    return arith.extsi(to, x) if width(to) > width(src) else arith.trunci(to, x)


def accumulator_type(t: ir.Type) -> ir.Type:
    """The element type that sums and contractions of `t` accumulate in: f32 for the 16-bit
    floats (JAX's preferred_element_type; a sum of 4096 ones stalls at 256 in bf16), else t."""
    return ir.F32Type.get() if is_half_type(t) else t


def convert_elements(value: ir.Value, to: ir.Type) -> ir.Value:
    """The tensor `value` with each element cast to `to` (`cast_scalar`): value itself when it is of `to`."""
    if builders.element_type(value) == to:
        return value
    return builders.elementwise([value], to, lambda x: cast_scalar(x, to))


# ---------------------------------------------------------------- elementwise family

def defelementwise(name: str, *, module: str, float: Callable | None = None, int: Callable | None = None,
                   bool: Callable | None = None) -> None:
    """Lowers elementwise op `tfn.<name>` to one linalg.generic whose body is the scalar body
    of the operands' element kind (`float`, `int`, `bool`; None: not defined on that kind)."""
    for kind, body in (("float", float), ("int", int), ("bool", bool)):
        if body is not None:
            SCALAR_BODIES[kind][name] = body

    def lower(op, *operands):
        elem = builders.element_type(operands[0])
        return builders.elementwise(list(operands), elem, scalar_body(name, elem))
    lower.__module__ = module
    LOWERINGS[f"tfn.{name}"] = lower
