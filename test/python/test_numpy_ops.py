"""Every tfn.numpy and tfn.nn op against numpy: values, dtypes (numpy 2 / NEP 50), shapes.

One table of `Case`s drives the checks. A case is a function of `xp` (numpy or
tfn.numpy) and its arguments, run under `tfn.jit` with `xp = tfn.numpy` and
directly with `xp = numpy`; arguments are drawn per dtype from a domain.
"""
from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import nn
from conftest import assert_close, magnitude, make_array

F32, F64, I32, I64, B = (np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64, np.bool_))
FLOATS = (F32, F64)
NUMERIC = (I32, I64, F32, F64)
ALL = (B,) + NUMERIC


@dataclass(frozen=True)
class A:
    """An array argument: `shape`, with the case's dtype and domain unless given."""
    shape: tuple
    dtype: object = None
    domain: str | None = None


@dataclass(frozen=True)
class V:
    """Fixed values, in the case's dtype unless given."""
    values: object
    dtype: object = None


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable                  # fn(xp, *args) for xp in (numpy, tfn.numpy)
    args: tuple                   # shapes (tuples), A, V, or Python/numpy scalars passed as they are
    dtypes: tuple = FLOATS        # one run per dtype; (None,) when every argument names its dtype
    domain: str = "real"
    reduces: bool = False         # a reduction or contraction: tolerance scales with the inputs
    relative: bool = True         # elementwise results match numpy to relative precision
    ref: Callable | None = None   # numpy reference, when it is not fn(numpy, ...)


def _erf(x):
    """erf in float64 from the standard library (numpy has none)."""
    return np.vectorize(math.erf, otypes=[np.float64])(np.asarray(x, np.float64))


def _nn_ref():
    """numpy references of tfn.nn, written stably (as a careful user would)."""
    class R:
        @staticmethod
        def relu(x): return np.maximum(x, 0)
        @staticmethod
        def sigmoid(x):
            with np.errstate(over="ignore"):
                return 1 / (1 + np.exp(-x))
        @staticmethod
        def softplus(x): return np.logaddexp(np.zeros((), x.dtype), x)
        @staticmethod
        def gelu(x, approximate=False):
            if approximate:
                return 0.5 * x * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
            return (0.5 * x * (1 + _erf(x.astype(np.float64) * 0.7071067811865476))).astype(x.dtype)
        @staticmethod
        def logsumexp(x, axis=None, keepdims=False):
            m = np.max(x, axis=axis, keepdims=True)
            out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
            return out if keepdims else np.squeeze(out, axis=axis)
        @staticmethod
        def log_softmax(x, axis=-1):
            s = x - np.max(x, axis=axis, keepdims=True)
            return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
        @staticmethod
        def softmax(x, axis=-1):
            e = np.exp(x - np.max(x, axis=axis, keepdims=True))
            return e / np.sum(e, axis=axis, keepdims=True)
        @staticmethod
        def one_hot(labels, n, dtype=np.float32):
            return (labels[..., None] == np.arange(n)).astype(dtype)
    return R


NN = {np: _nn_ref(), tnp: nn}


def C(name, fn, *args, **kw) -> Case:
    return Case(name, fn, args, **kw)


def _unary(name, dtypes=FLOATS + (I32,), domain="real", shapes=((2, 3), ())):
    return [C(f"{name}{list(s)}", lambda xp, x, n=name: getattr(xp, n)(x), s, dtypes=dtypes, domain=domain)
            for s in shapes]


def _binary(name, dtypes=NUMERIC, domain="real"):
    f = lambda xp, a, b, n=name: getattr(xp, n)(a, b)  # noqa: E731
    return [C(f"{name}{list(sa)}{list(sb)}", f, sa, sb, dtypes=dtypes, domain=domain)
            for sa, sb in [((2, 3), (2, 3)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (3,)), ((), ())]]


def _reductions(name, dtypes, domain="real"):
    cases = []
    for axis in (None, 0, -1, (0, 2), (-1, -3), (), 1):
        for keepdims in (False, True):
            cases.append(C(f"{name}(axis={axis},keepdims={keepdims})",
                           lambda xp, x, a=axis, k=keepdims, n=name: getattr(xp, n)(x, axis=a, keepdims=k),
                           (3, 4, 5), dtypes=dtypes, domain=domain, reduces=True))
    cases.append(C(f"{name}(0-d)", lambda xp, x, n=name: getattr(xp, n)(x), (), dtypes=dtypes, domain=domain))
    cases.append(C(f"{name}(size-1 axis)", lambda xp, x, n=name: getattr(xp, n)(x, axis=1), (3, 1, 2),
                   dtypes=dtypes, domain=domain))
    return cases


CREATION = [
    C("zeros", lambda xp: xp.zeros((2, 3)), dtypes=(None,)),
    C("zeros(int, f32)", lambda xp: xp.zeros(4, xp.float32), dtypes=(None,)),
    C("ones", lambda xp: xp.ones((3,)), dtypes=(None,)),
    C("ones(i32)", lambda xp: xp.ones((2, 2), dtype=xp.int32), dtypes=(None,)),
    C("full(float)", lambda xp: xp.full((2, 3), 3.5), dtypes=(None,)),
    C("full(int)", lambda xp: xp.full((2,), 7), dtypes=(None,)),
    C("full(bool)", lambda xp: xp.full((2,), True), dtypes=(None,)),
    C("full(dtype)", lambda xp: xp.full((2, 1), 2, dtype=xp.float32), dtypes=(None,)),
    C("full(0-d)", lambda xp: xp.full((), -1.25), dtypes=(None,)),
    C("arange(n)", lambda xp: xp.arange(5), dtypes=(None,)),
    C("arange(float)", lambda xp: xp.arange(1.0, 2.0, 0.25), dtypes=(None,)),
    C("arange(dtype)", lambda xp: xp.arange(2, 11, 3, dtype=xp.float32), dtypes=(None,)),
    C("eye", lambda xp: xp.eye(3), dtypes=(None,)),
    C("eye(n,m,k)", lambda xp: xp.eye(3, 4, k=1, dtype=xp.int32), dtypes=(None,)),
    C("linspace", lambda xp: xp.linspace(0.0, 1.0, 5), dtypes=(None,)),
    C("zeros_like", lambda xp, x: xp.zeros_like(x), (2, 3), dtypes=ALL),
    C("ones_like", lambda xp, x: xp.ones_like(x), (2, 3), dtypes=ALL),
    C("ones_like(dtype)", lambda xp, x: xp.ones_like(x, dtype=xp.float32), (2,), dtypes=(I32, F64)),
    C("full_like", lambda xp, x: xp.full_like(x, 3), (3,), dtypes=NUMERIC),
    C("full_like(0-d)", lambda xp, x: xp.full_like(x, 0.5), (), dtypes=FLOATS),
    C("asarray(list)", lambda xp: xp.asarray([[1.0, 2.0], [3.0, 4.0]]), dtypes=(None,)),
    C("asarray(int list)", lambda xp: xp.asarray([1, 2, 3]), dtypes=(None,)),
    C("asarray(dtype)", lambda xp, x: xp.asarray(x, dtype=xp.float32), (2, 2), dtypes=(I32, F64, B)),
    C("astype(i32)", lambda xp, x: x.astype(xp.int32), (2, 3), dtypes=FLOATS),
    C("astype(bool)", lambda xp, x: x.astype(xp.bool_), V([0.0, -0.5, 2.0, 0.0])),
    C("array+const", lambda xp, x: x + xp.array([1.0, 2.0, 3.0]), (2, 3), dtypes=FLOATS),
]

ELEMENTWISE = [
    *_binary("add", ALL), *_binary("subtract"), *_binary("multiply", ALL), *_binary("maximum", ALL),
    *_binary("minimum", ALL),
    *_binary("divide", FLOATS + (I32,), domain="pos"),
    *_binary("power", FLOATS, domain="pos"),
    C("power(int)", lambda xp, a, b: xp.power(a, b), (2, 3), A((2, 3), domain="nonneg"), dtypes=(I32, I64)),
    C("power(x, 3.0)", lambda xp, x: xp.power(x, 3.0), (2, 3)),
    C("power(x, 0.5)", lambda xp, x: x ** 0.5, (2, 3), domain="pos"),
    C("x ** 2", lambda xp, x: x ** 2, (2, 3), dtypes=NUMERIC),
    C("x ** 2.0", lambda xp, x: x ** 2.0, (2, 3), dtypes=NUMERIC),
    C("2.0 ** x", lambda xp, x: 2.0 ** x, (2, 3)),
    *_unary("negative", NUMERIC), *_unary("square", NUMERIC), *_unary("reciprocal", FLOATS, domain="pos"),
    *_unary("abs", ALL), *_unary("sign", NUMERIC),
    *_unary("exp"), *_unary("log", domain="pos"), *_unary("log1p", domain="pos"), *_unary("expm1"),
    *_unary("sin"), *_unary("cos"), *_unary("tan", domain="unit"), *_unary("tanh"),
    *_unary("sqrt", domain="pos"), *_unary("sinh"), *_unary("cosh"),
    C("sinh(small)", lambda xp, x: xp.sinh(x), V([1e-6, -3e-4, 2e-3, 0.0, 0.04])),
    C("tanh(large)", lambda xp, x: xp.tanh(x), (3, 3), domain="large"),
    C("erf", lambda xp, x: xp.erf(x), (3, 4), ref=lambda np_, x: _erf(x).astype(x.dtype)),
    *[C(f"{n}", lambda xp, x, n=n: getattr(xp, n)(x * 3.0), (3, 4)) for n in ("floor", "ceil", "rint", "trunc")],
    C("round(halves)", lambda xp, x: (xp.round(x * 0 + xp.asarray([0.5, 1.5, 2.5, -0.5], x.dtype)),
                                      xp.round(x, 2), xp.around(x * 10)), (4,)),
    *[C(f"{n}", lambda xp, x, n=n: getattr(xp, n)(x), (3, 4), domain="pos") for n in ("log2", "log10")],
    C("exp2", lambda xp, x: xp.exp2(x), (3, 4)),
    C("floor_divide/mod", lambda xp, a, b: (a // b, a % b, xp.floor_divide(a, b), xp.mod(a, b), xp.remainder(b, a)),
      V([7.5, -7.5, 3.0, -2.0]), V([2.0, 2.0, -4.0, 3.0])),
    C("floor_divide/mod(int)", lambda xp, a, b: (a // b, a % b), V([7, -7, 3, -2], np.int64),
      V([2, 2, -4, 3], np.int64), dtypes=(None,)),
    C("isnan/isinf/isfinite", lambda xp, x: (xp.isnan(x * xp.asarray([np.nan, 1.0, np.inf], x.dtype)),
                                             xp.isinf(x * xp.asarray([np.nan, 1.0, -np.inf], x.dtype)),
                                             xp.isfinite(x * xp.asarray([np.nan, 1.0, np.inf], x.dtype))),
      (3,), domain="pos"),
    C("erf(large)", lambda xp, x: xp.erf(x), (3, 3), domain="large", ref=lambda np_, x: _erf(x).astype(x.dtype)),
    C("nn.gelu(approximate)", lambda xp, x: NN[xp].gelu(x, approximate=True), (3, 4)),
    C("exp(large)", lambda xp, x: xp.exp(x), V([-1e3, -80.0, 0.0, 80.0, 1e3])),
    C("log(0, inf)", lambda xp, x: xp.log(x), V([0.0, np.inf, 1.0])),
    *_binary("logaddexp", FLOATS),
    C("logaddexp(large)", lambda xp, a, b: xp.logaddexp(a, b), (4, 4), A((4, 4), domain="large"), domain="large"),
    C("nan propagates", lambda xp, x: (xp.maximum(x, 0.0), xp.minimum(x, 0.0), xp.sum(x), xp.max(x)),
      V([1.0, np.nan, -2.0])),
    *[C(f"{n}", lambda xp, a, b, n=n: getattr(xp, n)(a, b), (3, 4), A((4,)), dtypes=NUMERIC + (B,))
      for n in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")],
    C("compare(ties)", lambda xp, a: (a == 1, a != 1, a < 1, a <= 1, a > 1, a >= 1), V([0, 1, 2]),
      dtypes=NUMERIC),
    C("compare(nan)", lambda xp, a: (a == a, a != a, a < 1, a >= 1), V([np.nan, 1.0])),
    *[C(f"{n}", lambda xp, a, b, n=n: getattr(xp, n)(a, b), (3, 4), A((4,)), dtypes=(B, I32, F32))
      for n in ("logical_and", "logical_or")],
    C("logical_not", lambda xp, a: xp.logical_not(a), (3, 4), dtypes=(B, I32, F64)),
    C("bool operators", lambda xp, a, b: (a & b, a | b, ~a), (3, 4), A((4,)), dtypes=(B,)),
    C("where", lambda xp, c, x, y: xp.where(c, x, y), A((3, 4), B), (3, 4), (4,), dtypes=ALL),
    C("where(scalars)", lambda xp, x: xp.where(x > 0, x, 0.0), (2, 3), dtypes=NUMERIC),
    C("where(int cond)", lambda xp, c, x: xp.where(c, x, -x), A((3,), I32, "unit"), (3,)),
    C("clip", lambda xp, x: xp.clip(x, -1, 1), (3, 4), dtypes=NUMERIC),
    C("clip(float bounds on int)", lambda xp, x: xp.clip(x, -1.5, 2.5), (3, 4), dtypes=(I32,)),
    C("clip(one side)", lambda xp, x: (xp.clip(x, None, 0.5), xp.clip(x, -0.5, None)), (5,)),
    C("clip(array bounds)", lambda xp, x, lo: xp.clip(x, lo, 2.0), (3, 4), (4,)),
]

PROMOTION = [
    C(name, fn, *args, dtypes=(None,)) for name, fn, *args in [
        ("f32 * python float", lambda xp, a: a * 2.5, A((3,), F32)),
        ("python float * f32", lambda xp, a: 2.5 * a, A((3,), F32)),
        ("f32 + python int", lambda xp, a: a + 3, A((3,), F32)),
        ("i32 * python int", lambda xp, a: a * 3, A((3,), I32)),
        ("i32 + python float", lambda xp, a: a + 1.5, A((3,), I32)),
        ("i32 + f32", lambda xp, a, b: a + b, A((3,), I32), A((3,), F32)),
        ("i64 + f32", lambda xp, a, b: a + b, A((3,), I64), A((3,), F32)),
        ("i32 + i64", lambda xp, a, b: a + b, A((3,), I32), A((3,), I64)),
        ("f32 + f64", lambda xp, a, b: a + b, A((3,), F32), A((3,), F64)),
        ("bool + bool", lambda xp, a, b: a + b, A((4,), B), A((4,), B)),
        ("bool * bool", lambda xp, a, b: a * b, A((4,), B), A((4,), B)),
        ("bool + python int", lambda xp, a: a + 1, A((4,), B)),
        ("bool + i32", lambda xp, a, b: a + b, A((4,), B), A((4,), I32)),
        ("bool * f32", lambda xp, a, b: a * b, A((4,), B), A((4,), F32)),
        ("f32 + np.float64", lambda xp, a: a + np.float64(1.5), A((3,), F32)),
        ("f32 + np.float32", lambda xp, a: a + np.float32(1.5), A((3,), F32)),
        ("i32 / python int", lambda xp, a: a / 2, A((3,), I32)),
        ("i32 / i32", lambda xp, a, b: a / b, A((3,), I32), A((3,), I32, "pos")),
        ("f32 / python int", lambda xp, a: a / 3, A((3,), F32)),
        ("i32 ** python float", lambda xp, a: a ** 2.0, A((3,), I32)),
        ("where f32 / python float", lambda xp, a: xp.where(a > 0, a, -1.0), A((3,), F32)),
        ("where i32 / f32", lambda xp, a, b: xp.where(a > 0, a, b), A((3,), I32), A((3,), F32)),
        ("maximum i32 / python float", lambda xp, a: xp.maximum(a, 0.5), A((3,), I32)),
        ("f32 == python float", lambda xp, a: a == 1.5, V([1.5, 2.0], F32)),
        ("i32 < python float", lambda xp, a: a < 1.5, V([1, 2], I32)),
        ("exp(i32)", lambda xp, a: xp.exp(a), A((3,), I32)),
        ("exp(i64)", lambda xp, a: xp.exp(a), A((3,), I64)),
        ("sqrt(i64)", lambda xp, a: xp.sqrt(a), A((3,), I64, "pos")),
        ("sum(bool)", lambda xp, a: xp.sum(a), A((5, 3), B)),
        ("sum(bool, axis)", lambda xp, a: xp.sum(a, axis=0), A((5, 3), B)),
        ("sum(i32)", lambda xp, a: xp.sum(a, axis=1), A((5, 3), I32)),
        ("sum(dtype)", lambda xp, a: xp.sum(a, axis=1, dtype=xp.float32), A((5, 3), I32)),
        ("prod(i32)", lambda xp, a: xp.prod(a, axis=1), A((5, 3), I32)),
        ("prod(bool)", lambda xp, a: xp.prod(a, axis=0), A((5, 3), B)),
        ("max(i32)", lambda xp, a: xp.max(a, axis=1), A((5, 3), I32)),
        ("max(bool)", lambda xp, a: (xp.max(a, axis=1), xp.min(a, axis=1)), A((5, 3), B)),
        ("mean(i32)", lambda xp, a: xp.mean(a, axis=0), A((5, 3), I32)),
        ("mean(bool)", lambda xp, a: xp.mean(a), A((5, 3), B)),
        ("var(i32)", lambda xp, a: (xp.var(a), xp.std(a, axis=1)), A((5, 3), I32)),
        ("matmul f32 @ f64", lambda xp, a, b: a @ b, A((2, 3), F32), A((3, 2), F64)),
        ("matmul i32 @ i32", lambda xp, a, b: a @ b, A((2, 3), I32), A((3, 2), I32)),
        ("concatenate i32, f32", lambda xp, a, b: xp.concatenate([a, b]), A((2,), I32), A((3,), F32)),
        ("stack bool, i64", lambda xp, a, b: xp.stack([a, b]), A((2,), B), A((2,), I64)),
        ("one_hot default f32", lambda xp, a: NN[xp].one_hot(a, 4), V([0, 3, 1, 5], I32)),
        ("one_hot(2-d, i32)", lambda xp, a: NN[xp].one_hot(a, 3, dtype=xp.int32), V([[0, 2], [1, 1]], I64)),
        ("relu(i32)", lambda xp, a: NN[xp].relu(a), A((4,), I32)),
        ("sigmoid(i32)", lambda xp, a: NN[xp].sigmoid(a), A((4,), I32)),
    ]
]

REDUCTIONS = [
    *_reductions("sum", ALL), *_reductions("mean", (F32, F64, I32)), *_reductions("max", ALL),
    *_reductions("min", NUMERIC), *_reductions("prod", (F32, F64, I64), domain="pos"),
    *_reductions("var", FLOATS), *_reductions("std", FLOATS),
    C("var(ddof=1)", lambda xp, x: (xp.var(x, axis=0, ddof=1), xp.std(x, ddof=1)), (4, 3), reduces=True),
    C("amax/amin", lambda xp, x: (xp.amax(x, axis=0), xp.amin(x)), (4, 3), reduces=True),
    *[C(f"{name}(axis={axis},keepdims={keep})",
        lambda xp, x, n=name, a=axis, k=keep: getattr(xp, n)(x, axis=a, keepdims=k) if a is not None
        else getattr(xp, n)(x), (3, 4, 5), dtypes=NUMERIC)
      for name in ("argmax", "argmin") for axis, keep in ((None, False), (0, False), (-1, True), (1, False))],
    C("take_along_axis(axis=1)", lambda xp, x: xp.take_along_axis(x, np.array([[0, 3], [-1, 2], [1, 1]]), 1),
      (3, 4), dtypes=NUMERIC),
    C("take_along_axis(axis=0)", lambda xp, x: xp.take_along_axis(x, np.array([[2, 0, 1, -3]]), 0), (3, 4),
      dtypes=FLOATS),
    C("take(axis=1)", lambda xp, x: xp.take(x, np.array([[3, 0], [-1, 1]]), axis=1), (2, 4, 3), dtypes=NUMERIC),
    C("take(flat)", lambda xp, x: xp.take(x, np.array([0, 7, -1])), (2, 4), dtypes=FLOATS),
    C("argmax(ties, nan)", lambda xp, x: (xp.argmax(xp.where(x > 0.5, 0.5, x), axis=1),
                                          xp.argmin(xp.where(x > 1.0, xp.nan, x), axis=0)), (6, 7),
      dtypes=FLOATS),
    C("sum(large f32)", lambda xp, x: (xp.sum(x), xp.mean(x, axis=0)), (64, 8), dtypes=(F32,), reduces=True),
]

CONTRACTIONS = [
    *[C(f"matmul{list(sa)}@{list(sb)}", lambda xp, a, b: xp.matmul(a, b), sa, sb, dtypes=FLOATS + (I32,),
        reduces=True)
      for sa, sb in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)),
                     ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((1, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)),
                     ((5, 2, 3), (3,)), ((2, 1, 2, 3), (4, 3, 2)), ((1, 1), (1, 1))]],
    C("@ operator", lambda xp, a, b: (a @ b, b.T @ a.T), (2, 3), (3, 4), reduces=True),
    *[C(f"dot{list(sa)}.{list(sb)}", lambda xp, a, b: xp.dot(a, b), sa, sb, reduces=True)
      for sa, sb in [((3,), (3,)), ((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3, 4), (5, 4, 6)),
                     ((), (2, 3)), ((2, 3), ())]],
    *[C(f"inner{list(sa)}.{list(sb)}", lambda xp, a, b: xp.inner(a, b), sa, sb, reduces=True)
      for sa, sb in [((3,), (3,)), ((2, 3), (4, 3)), ((2, 5, 3), (3,)), ((), (3,))]],
    *[C(f"outer{list(sa)}.{list(sb)}", lambda xp, a, b: xp.outer(a, b), sa, sb)
      for sa, sb in [((3,), (4,)), ((2, 2), (3,)), ((), (2,))]],
    *[C(f"tensordot(axes={ax})", lambda xp, a, b, ax=ax: xp.tensordot(a, b, axes=ax), sa, sb, reduces=True)
      for sa, sb, ax in [((3, 4, 5), (4, 5, 2), 2), ((3, 4), (4, 2), 1), ((2, 3), (4,), 0),
                         ((3, 4, 5), (5, 3, 2), ([0, 2], [1, 0])), ((3, 4), (2, 4), (1, 1)),
                         ((3, 4), (2, 4), ([-1], [-1]))]],
    *[C(f"einsum({spec})", lambda xp, *ops, s=spec: xp.einsum(s, *ops), *shapes, reduces=True)
      for spec, *shapes in [("ij,jk->ik", (2, 3), (3, 4)), ("bij,bjk->bik", (2, 2, 3), (2, 3, 4)),
                            ("ij,kj->ik", (2, 3), (4, 3)), ("ij,kj", (2, 3), (4, 3)), ("i,i->", (3,), (3,)),
                            ("i,j->ij", (2,), (3,)), ("ij,jk->ki", (2, 3), (3, 4)), ("bij,bkj->bki", (2, 2, 3), (2, 4, 3)),
                            ("ij,j->i", (2, 3), (3,)), ("ijk,jl->ilk", (2, 3, 4), (3, 5)),
                            ("ij,jk", (2, 3), (3, 4)), ("ij->ji", (2, 3)), ("ijk->kij", (2, 3, 4)),
                            ("ij->", (2, 3)), ("ij->j", (2, 3)), ("ijk->j", (2, 3, 4)), ("ij", (2, 3)),
                            ("ji", (2, 3)), ("i j , j k -> i k", (2, 3), (3, 4)), ("ij,kl->ijkl", (2, 1), (3, 2)),
                            ("ij,jk->i", (2, 3), (3, 4))]],
]

SHAPES = [
    C("transpose", lambda xp, x: (xp.transpose(x), xp.transpose(x, (1, 0, 2)), xp.transpose(x, (-1, 0, 1))),
      (2, 3, 4), dtypes=ALL),
    C("transpose(0-d, 1-d)", lambda xp, a, b: (xp.transpose(a), xp.transpose(b)), (), (3,)),
    C("reshape", lambda xp, x: (xp.reshape(x, (4, 6)), xp.reshape(x, (-1,)), xp.reshape(x, (2, -1, 3)),
                                xp.reshape(x, (1, 24, 1)), xp.reshape(x, -1)), (2, 3, 4), dtypes=ALL),
    C("reshape(0-d)", lambda xp, x: (xp.reshape(x, (1, 1)), xp.reshape(x, ()), xp.reshape(x, (-1,))), ()),
    C("reshape(to 0-d)", lambda xp, x: xp.reshape(x, ()), (1, 1)),
    C("expand_dims", lambda xp, x: (xp.expand_dims(x, 0), xp.expand_dims(x, -1), xp.expand_dims(x, (0, 2)),
                                    xp.expand_dims(x, 1)), (2, 3)),
    C("squeeze", lambda xp, x: (xp.squeeze(x), xp.squeeze(x, 0), xp.squeeze(x, (0, -1)), xp.squeeze(x, axis=-1)),
      (1, 3, 1)),
    C("squeeze(0-d)", lambda xp, x: xp.squeeze(x), ()),
    C("concatenate(2)", lambda xp, a, b: (xp.concatenate([a, b]), xp.concatenate((a, b), axis=-1)), (2, 3), (2, 3),
      dtypes=ALL),
    C("concatenate(3)", lambda xp, a, b, c: xp.concatenate([a, b, c], axis=1), (2, 1), (2, 3), (2, 2)),
    C("concatenate(size-1)", lambda xp, a: xp.concatenate([a]), (2, 3)),
    C("stack", lambda xp, a, b: (xp.stack([a, b]), xp.stack([a, b], axis=1), xp.stack([a, b, a], axis=-1)),
      (2, 3), (2, 3), dtypes=ALL),
    C("stack(0-d)", lambda xp, a, b: xp.stack([a, b]), (), ()),
    C("broadcast_to", lambda xp, x, y: (xp.broadcast_to(x, (2, 3, 4)), xp.broadcast_to(y, (5, 3)),
                                        xp.broadcast_to(x, (3, 1))), (3, 1), (), dtypes=ALL),
    C("pad", lambda xp, x: (xp.pad(x, ((1, 2), (0, 1))), xp.pad(x, 1), xp.pad(x, ((2, 0), (1, 1)), constant_values=2.5),
                            xp.pad(x, (1, 2))), (2, 3)),
    C("pad(int)", lambda xp, x: xp.pad(x, 1, constant_values=7), (2, 3), dtypes=(I32, I64)),
    C("swapaxes", lambda xp, x: (xp.swapaxes(x, 0, 2), xp.swapaxes(x, 0, -1), xp.swapaxes(x, 1, 1)), (2, 3, 4)),
    C("moveaxis", lambda xp, x: (xp.moveaxis(x, 0, -1), xp.moveaxis(x, -1, 0), xp.moveaxis(x, 1, 2)), (2, 3, 4)),
    C("ravel", lambda xp, x: xp.ravel(x), (2, 3)),
    C("zero-size", lambda xp, x: (x[2:1], xp.sum(x[:, 3:]), xp.concatenate([x, x[:0]])), (3, 3)),
]

INDEXING = [
    C(f"x[{text}]", fn, (4, 5, 6), dtypes=(F32, I32, B)) for text, fn in [
        ("1", lambda xp, x: x[1]), ("-1", lambda xp, x: x[-1]), ("1:3", lambda xp, x: x[1:3]),
        ("::2", lambda xp, x: x[::2]), ("1:, None", lambda xp, x: x[1:, None]), ("..., 0", lambda xp, x: x[..., 0]),
        ("None", lambda xp, x: x[None]), (":, -2:", lambda xp, x: x[:, -2:]), ("0, ..., 1:", lambda xp, x: x[0, ..., 1:]),
        ("..., None", lambda xp, x: x[..., None]), ("1:3, ::2, -3", lambda xp, x: x[1:3, ::2, -3]),
        ("0, 0, 0", lambda xp, x: x[0, 0, 0]), (":, 1:5:2", lambda xp, x: x[:, 1:5:2]), ("...", lambda xp, x: x[...]),
        ("-3:-1, None, ..., None", lambda xp, x: x[-3:-1, None, ..., None]), (":", lambda xp, x: x[:]),
        ("10:", lambda xp, x: x[10:]), ("-100:2", lambda xp, x: x[-100:2]), ("1, :, 5", lambda xp, x: x[1, :, 5]),
        ("np.int64(2)", lambda xp, x: x[np.int64(2)]),
        ("int array", lambda xp, x: x[np.array([3, -1, 0, 3])]), ("::-1", lambda xp, x: x[::-1, :, ::-2]),
        (":, list, 2", lambda xp, x: x[:, [1, -1], 2]), ("0, :, list", lambda xp, x: x[0, :, [1, 2]]),
        ("mask", lambda xp, x: x[np.array([True, False, True, True])]),
    ]
] + [C("x[None] 0-d", lambda xp, x: (x[None], x[...], x[()]), ())]

METHODS = [
    C("methods", lambda xp, x: (x.T, x.reshape(x.shape[0], -1), x.reshape((-1, 2)), x.sum(), x.sum(axis=0),
                                x.mean(-1), x.max(axis=1, keepdims=True), x.min(), x.prod(axis=0), x.var(),
                                x.std(axis=0), x.squeeze(), x.flatten(), x.ravel(), x.transpose(), x.transpose(1, 0),
                                x.transpose((1, 0)), x.clip(-1, 1), abs(x), -x, +x, x.astype(xp.float64), x.dot(x.T),
                                x.sum(keepdims=True), x.T.T), (3, 4), reduces=True),
    C("attributes", lambda xp, x: xp.full(x.shape, x.ndim + x.size + len(x), dtype=x.dtype), (3, 4)),
    C("iteration", lambda xp, x: xp.stack(list(x)[::-1]), (3, 2)),
    C("operators", lambda xp, a, b: (a + b, a - b, a * b, a / b, a ** b, 1 - a, 2 / b, a @ b.T,
                                     a == b, a != b, a < b, a <= b, a > b, a >= b), (2, 3), A((2, 3), domain="pos"),
      domain="pos"),
    C(".T 3-d", lambda xp, x: x.T, (2, 3, 4)),
]

NN_CASES = [
    *[C(f"nn.{n}", lambda xp, x, n=n: getattr(NN[xp], n)(x), (3, 4)) for n in ("relu", "sigmoid", "softplus", "gelu")],
    *[C(f"nn.{n}(large)", lambda xp, x, n=n: getattr(NN[xp], n)(x), (3, 3), domain="large")
      for n in ("relu", "sigmoid", "softplus", "gelu", "softmax", "log_softmax", "logsumexp")],
    C("nn.softmax", lambda xp, x: (NN[xp].softmax(x), NN[xp].softmax(x, axis=0)), (3, 4)),
    C("nn.log_softmax", lambda xp, x: (NN[xp].log_softmax(x), NN[xp].log_softmax(x, axis=0)), (3, 4)),
    C("nn.logsumexp", lambda xp, x: (NN[xp].logsumexp(x), NN[xp].logsumexp(x, axis=1),
                                     NN[xp].logsumexp(x, axis=(0, 2), keepdims=True), NN[xp].logsumexp(x, axis=-1)),
      (2, 3, 4), reduces=True),
    C("nn.softmax([0, 1000])", lambda xp, x: (NN[xp].softmax(x), NN[xp].log_softmax(x), NN[xp].logsumexp(x)),
      V([0.0, 1000.0])),
    C("nn.softmax(-inf)", lambda xp, x: NN[xp].softmax(x), V([-np.inf, 0.0, 1.0])),
    C("nn(0-d)", lambda xp, x: (NN[xp].relu(x), NN[xp].sigmoid(x), NN[xp].softplus(x), NN[xp].logsumexp(x)), ()),
    C("nn.one_hot", lambda xp, a: NN[xp].one_hot(a, 5), V([[0, 4, 2], [1, 7, -1]], I32), dtypes=(None,)),
]

EXTRAS = [
    C("bitwise", lambda xp, a, b: (xp.bitwise_and(a, b), xp.bitwise_or(a, b), xp.bitwise_xor(a, b), xp.invert(a),
                                   xp.bitwise_not(b), a & b, a | 3, 5 ^ b, ~a, xp.left_shift(a, 2), a >> 1),
      (2, 3), (2, 3), dtypes=(I32, I64, B)),
    C("shifts", lambda xp, a, b: (xp.left_shift(a, b), xp.right_shift(a, b), a << b, a >> b,
                                  xp.bitwise_left_shift(a, 1), xp.bitwise_right_shift(a, 2), xp.bitwise_invert(a)),
      A((2, 5), domain="real"), V([[0, 1, 31, 32, 40], [-1, 63, 64, 2, 5]]), dtypes=(I32, I64)),
    C("any/all", lambda xp, x: (xp.any(x > 0), xp.all(x > -2, axis=0), xp.any(x, axis=1, keepdims=True),
                                xp.all(x[:0], axis=0), xp.any(x[:0]), (x > 0).any(), x.all(axis=-1)), (3, 4),
      dtypes=ALL),
    C("flip/roll", lambda xp, x: (xp.flip(x), xp.flip(x, 1), xp.flip(x, (0, 2)), xp.roll(x, 2), xp.roll(x, -1, 1),
                                  xp.roll(x, (1, 5), (0, 2)), xp.roll(x, 3, axis=(1, 1))), (2, 3, 4), dtypes=ALL),
    C("tile/repeat", lambda xp, x: (xp.tile(x, 2), xp.tile(x, (2, 1, 3)), xp.tile(x, (0, 1)), xp.repeat(x, 2),
                                    xp.repeat(x, 3, axis=1), xp.repeat(x, [1, 0, 2], axis=0), x.repeat(2, -1),
                                    xp.repeat(x, 0, 1)), (3, 4), dtypes=ALL),
    C("tril/triu", lambda xp, x, v: (xp.tril(x), xp.triu(x, 1), xp.tril(x, -1), xp.triu(x, -2), xp.tril(v)),
      (2, 3, 4), (3,), dtypes=ALL),
    C("diagonal/trace", lambda xp, x: (xp.diagonal(x), xp.diagonal(x, 1), xp.diagonal(x, -1, 2, 0),
                                       xp.diagonal(x, 9), xp.trace(x), xp.trace(x, 1, 1, 2), x.trace(-1),
                                       x.diagonal(0, 0, 2), xp.trace(x[:0])), (3, 4, 5), dtypes=NUMERIC,
      reduces=True),
    C("diag", lambda xp, v, m: (xp.diag(v), xp.diag(v, 2), xp.diag(v, -1), xp.diag(m), xp.diag(m, 1),
                                xp.diag(m, -3), xp.diag(v[:0])), (3,), (3, 4), dtypes=ALL),
    C("meshgrid", lambda xp, a, b, c: (xp.meshgrid(a, b), xp.meshgrid(a, b, indexing="ij"),
                                       xp.meshgrid(a, b, c, sparse=True), xp.meshgrid(a, b, c), xp.meshgrid(a)),
      (3,), (2,), (4,), dtypes=ALL),
    C("cumsum/cumprod", lambda xp, x: (xp.cumsum(x), xp.cumsum(x, 0), xp.cumprod(x, axis=-1), x.cumsum(1),
                                       xp.cumprod(x[:, :1], 1), xp.cumsum(x[:0], 0)), (5, 7), dtypes=NUMERIC,
      reduces=True),
    C("cumsum(bool, dtype)", lambda xp, x: (xp.cumsum(x > 0, 1), xp.cumsum(x, dtype=xp.float32),
                                            xp.cumprod(x, 0, dtype=xp.float64)), (3, 4), dtypes=(I32, F64),
      reduces=True),
    C("cumprod(zeros)", lambda xp, x: xp.cumprod(x, 0), V([[1.5, 0.0], [2.0, 3.0], [0.0, -1.0], [2.0, 2.0]])),
    C("sort/argsort", lambda xp, x: (xp.sort(x), xp.sort(x, 0), xp.argsort(x), xp.argsort(x, axis=0),
                                     xp.sort(x, axis=None), xp.argsort(x, axis=None), x.argsort()), (5, 6),
      dtypes=ALL,
      ref=lambda xp, x: (np.sort(x, kind="stable"), np.sort(x, 0, kind="stable"), np.argsort(x, kind="stable"),
                         np.argsort(x, axis=0, kind="stable"), np.sort(x, axis=None, kind="stable"),
                         np.argsort(x, axis=None, kind="stable"), x.argsort(kind="stable"))),
    C("argsort(ties, nan)", lambda xp, x: (xp.argsort(x), xp.sort(x), xp.argsort(x, 0)),
      V([[2.0, np.nan, 1.0, 2.0, 1.0, -np.inf, np.nan], [0.0, -0.0, 0.0, np.inf, 1.0, 1.0, 1.0]]),
      ref=lambda xp, x: (np.argsort(x, kind="stable"), np.sort(x), np.argsort(x, 0, kind="stable"))),
    *[C(f"einsum({spec})", lambda xp, *ops, s=spec: xp.einsum(s, *ops), *shapes, reduces=True)
      for spec, *shapes in [("ii->i", (3, 3)), ("ii->", (3, 3)), ("iij->j", (2, 2, 4)), ("ii", (3, 3)),
                            ("iji->j", (2, 3, 2)), ("...ij,...jk->...ik", (2, 1, 2, 3), (5, 3, 4)),
                            ("i,i...", (3,), (3, 2, 4)), ("...ii->...i", (2, 3, 3)),
                            ("ij...,jk...->ik...", (2, 3, 4), (3, 5, 4)), ("...,...", (2, 3), (3,)),
                            ("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)), ("i,i,i->", (3,), (3,), (3,)),
                            ("a,b,c", (2,), (3,), (4,)), ("bij,bjk,bkl->bil", (2, 2, 3), (2, 3, 4), (2, 4, 2)),
                            ("ijk,ikj->i", (2, 3, 3), (2, 3, 3)), ("...->...", ()), ("jj->j", (0, 0))]],
]

TABLE = CREATION + ELEMENTWISE + PROMOTION + REDUCTIONS + CONTRACTIONS + SHAPES + INDEXING + METHODS + NN_CASES + EXTRAS


def _inputs(case: Case, dtype) -> list:
    out = []
    for i, a in enumerate(case.args):
        if isinstance(a, tuple):
            a = A(a)
        if isinstance(a, A):
            out.append(make_array(a.shape, a.dtype or dtype, a.domain or case.domain, seed=i))
        elif isinstance(a, V):
            out.append(np.asarray(a.values, dtype=a.dtype or dtype))
        else:
            out.append(a)
    return out


def _params():
    seen = set()
    for case in TABLE:
        for dtype in case.dtypes:
            pid = case.name if dtype is None else f"{case.name}-{dtype}"
            assert pid not in seen, f"duplicate case {pid}"
            seen.add(pid)
            yield pytest.param(case, dtype, id=pid)


def _check(case: Case, dtype, run) -> None:
    args = _inputs(case, dtype)
    with np.errstate(all="ignore"):
        ref = (case.ref or case.fn)(np, *args)
    out = run(args)
    refs, outs = tfn.tree_leaves(ref), tfn.tree_leaves(out)
    assert len(outs) == len(refs)
    scale = (max(1.0, magnitude(*args)) * np.sqrt(max([np.size(a) for a in args] + [1])) if case.reduces
             else 0.0 if case.relative else 1.0)
    for o, r in zip(outs, refs):
        assert_close(o, r, scale=scale)


@pytest.mark.parametrize("case,dtype", list(_params()))
def test_op_matches_numpy(case: Case, dtype):
    _check(case, dtype, lambda args: tfn.jit(lambda *xs: case.fn(tnp, *xs))(*args))


@pytest.mark.parametrize("name", ["add[2, 3][2, 3]-float32", "add[3, 1][1, 4]-int32", "sum(axis=-1,keepdims=True)-float64", "matmul[5, 2, 3]@[3, 4]-float32",
                                  "nn.softmax-float64", "x[1:3, ::2, -3]-int32", "where-int32"])
def test_eager_matches_numpy(name):
    """tfn.numpy called on numpy arrays outside a trace compiles and runs at once."""
    case, dtype = next(p.values for p in _params() if p.id == name)
    _check(case, dtype, lambda args: case.fn(tnp, *args))


def test_eager_static_scalars_keep_their_type():
    """Eager calls cache per static argument: 1, 1.0 and True must not share a compiled function."""
    x = np.arange(3, dtype=np.int32)
    for scalar in (1, 1.0, True, 2, 2.5):
        assert_close(tnp.add(x, scalar), np.add(x, scalar))
        assert_close(tnp.multiply(scalar, x), np.multiply(scalar, x))


def test_eager_creation_and_lists():
    assert_close(tnp.zeros((2, 3), tnp.float32), np.zeros((2, 3), np.float32))
    assert_close(tnp.arange(4), np.arange(4))
    a, b = np.ones((2, 2), np.float32), np.zeros((1, 2), np.float32)
    assert_close(tnp.concatenate([a, b]), np.concatenate([a, b]))
    assert_close(tnp.stack((a, a), axis=-1), np.stack((a, a), axis=-1))


def test_table_covers_the_api():
    """Every public tfn.numpy and tfn.nn function appears in some case (by name)."""
    names = " ".join(c.name for c in TABLE) + " " + " ".join(
        getattr(c.fn, "__code__", None) and " ".join(c.fn.__code__.co_names) or "" for c in TABLE)
    exempt = {"result_type", "broadcast_shapes", "getitem", "stop_gradient", "rsqrt", "true_divide", "absolute",
              "vdot", "array", "ndarray"}
    public = [n for n in dir(tnp) if not n.startswith("_") and callable(getattr(tnp, n))
              and getattr(getattr(tnp, n), "__module__", "") == "tfn.numpy"]
    public += [n for n in dir(nn) if not n.startswith("_") and callable(getattr(nn, n))
               and getattr(getattr(nn, n), "__module__", "") == "tfn.nn"]
    # tfn.nn's functions with torch.nn.functional's conventions are checked against torch in test_nn.py.
    exempt |= set(nn.__all__) - {"relu", "sigmoid", "softplus", "gelu", "logsumexp", "log_softmax", "softmax",
                                 "one_hot"}
    missing = [n for n in public if n not in exempt and n not in names]
    assert not missing, f"ops without a numpy test case: {missing}"


def test_rsqrt_vdot_true_divide_absolute_stop_gradient():
    x = make_array((2, 3), np.float64, "pos")
    y = make_array((3, 2), np.float64, seed=1)
    out = tfn.jit(lambda x, y: (tnp.rsqrt(x), tnp.vdot(x, y), tnp.true_divide(x, 3), tnp.absolute(-x),
                                tnp.stop_gradient(x), tnp.array([1, 2])))(x, y)
    for o, r in zip(out, (1 / np.sqrt(x), np.vdot(x, y), np.true_divide(x, 3), np.absolute(-x), x, np.array([1, 2]))):
        assert_close(o, r)
