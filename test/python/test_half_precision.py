"""float16 and bfloat16 end to end: dtypes and promotion, ops against numpy computed in float32
and rounded, sums and contractions accumulated in float32, transforms, DLPack, tfn-compile and
the CUDA pipeline (compiled here, run where a GPU is)."""
from __future__ import annotations

import numpy as np
import pytest
from mlir import ir

import tfn
import tfn.numpy as tnp
from tfn import nn
from tfn.api.jit import trace_module
from tfn.frontend.tracer import ShapeDtype, context

F16, BF16 = np.dtype(np.float16), np.dtype(tfn.bfloat16)
HALF = [F16, BF16]
# relative tolerance per dtype: a few units of the last place (f16: 2**-11, bf16: 2**-8)
RTOL = {F16: 2e-3, BF16: 1.6e-2}
RNG = np.random.default_rng(7)
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


def ids(dtype) -> str:
    return np.dtype(dtype).name


def f32(x) -> np.ndarray:
    return np.asarray(x).astype(np.float32)


def close(got, want_f32, dtype, atol=0.0, scale=1.0):
    """got (of `dtype`) against a float32 reference rounded to `dtype`."""
    assert got.dtype == dtype, (got.dtype, dtype)
    want = f32(np.asarray(want_f32, np.float32).astype(dtype))
    np.testing.assert_allclose(f32(got), want, rtol=scale * RTOL[dtype], atol=atol)


# ---------------------------------------------------------------- dtypes

def test_dtypes_are_exported_and_stay_narrow():
    assert tfn.float16 is np.float16 and tnp.float16 is np.float16
    assert np.dtype(tfn.bfloat16).name == "bfloat16" and tnp.bfloat16 is tfn.bfloat16
    for dtype in HALF:
        x = np.ones(3, dtype)
        assert tfn.jit(lambda x: x * 2)(x).dtype == dtype
        assert tnp.zeros(2, dtype).dtype == dtype and tnp.asarray([1.5], dtype).dtype == dtype
    assert tfn.jit(lambda x: x)(np.ones(2, np.int8)).dtype == np.int32  # narrow ints still widen


PROMOTIONS = [  # (a, b, result): arrays of both dtypes
    (F16, np.float32, np.float32), (BF16, np.float32, np.float32), (F16, BF16, np.float32),
    (F16, np.float64, np.float64), (BF16, np.float64, np.float64), (F16, F16, F16), (BF16, BF16, BF16),
    (np.bool_, F16, F16), (np.bool_, BF16, BF16),
]


@pytest.mark.parametrize("a, b, result", PROMOTIONS)
def test_promotion_of_arrays(a, b, result):
    x, y = np.ones(2, a), np.ones(2, b)
    assert tfn.jit(lambda x, y: x + y)(x, y).dtype == result
    assert tnp.result_type(x, y) == result


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_python_scalars_are_weak(dtype):
    x = np.ones(2, dtype)
    for f in (lambda x: x + 1, lambda x: x * 2.5, lambda x: 3 - x, lambda x: x ** 2, lambda x: tnp.maximum(x, 0.5)):
        assert tfn.jit(f)(x).dtype == dtype
    assert tfn.jit(lambda x, s: x * s)(x, 2.0).dtype == dtype  # a Python float argument too


def test_promotion_matches_jax_for_floats():
    jnp = pytest.importorskip("jax.numpy")
    floats = [F16, BF16, np.dtype(np.float32), np.dtype(np.bool_)]  # no float64: JAX's default is 32-bit
    for a in floats:
        for b in floats:
            want = jnp.result_type(jnp.ones(1, a), jnp.ones(1, b))
            assert tnp.result_type(np.ones(1, a), np.ones(1, b)) == want, (a, b)
        if a != np.bool_:
            for s in (1, 2.5):
                assert tnp.result_type(np.ones(1, a), s) == jnp.result_type(jnp.ones(1, a), s), (a, s)


# ---------------------------------------------------------------- ops

UNARY = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sin": np.sin, "cos": np.cos, "sqrt": np.sqrt,
         "expm1": np.expm1, "log1p": np.log1p, "abs": np.abs, "negative": np.negative, "floor": np.floor}
POSITIVE = {"log", "sqrt", "log1p"}


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_elementwise_ops_match_float32_rounded(dtype):
    x = (RNG.standard_normal(257) * 2).astype(dtype)
    y = (RNG.standard_normal(257) + 3).astype(dtype)
    pos = np.abs(x) + np.asarray(0.1, dtype)

    def program(x, y, pos):
        outs = {name: getattr(tnp, name)(pos if name in POSITIVE else x) for name in UNARY}
        outs.update(add=x + y, mul=x * y, div=x / y, sub=x - y, pow=pos ** y, max=tnp.maximum(x, y),
                    erf=tnp.erf(x), sigmoid=nn.sigmoid(x), where=tnp.where(x > y, x, y))
        return outs
    got = tfn.jit(program)(x, y, pos)
    xf, yf, pf = f32(x), f32(y), f32(pos)
    for name, ref in UNARY.items():
        close(got[name], ref(pf if name in POSITIVE else xf), dtype, atol=1e-6)
    import math
    close(got["erf"], np.vectorize(math.erf)(xf), dtype, atol=1e-6)
    close(got["sigmoid"], 1 / (1 + np.exp(-xf)), dtype)
    for name, ref in {"add": xf + yf, "mul": xf * yf, "div": xf / yf, "sub": xf - yf, "pow": pf ** yf,
                      "max": np.maximum(xf, yf), "where": np.where(xf > yf, xf, yf)}.items():
        close(got[name], ref, dtype, atol=1e-6)


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_transcendentals_use_the_float32_approximations(dtype):
    """exp, tanh and erf of 16-bit floats reach tfn-approximate-math as f32: no libm call is left."""
    llvm = tfn.jit(lambda x: tnp.tanh(x) + tnp.exp(x) + tnp.erf(x)).lower(np.ones(8, dtype)).as_text("llvm")
    assert not any(f in llvm for f in ("@expf", "@tanhf", "@erff", "@exp(", "@tanh(", "@erf("))


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_arithmetic_rounds_like_numpy_bit_for_bit(dtype):
    """One rounding per op, subnormals kept (ml_dtypes' and numpy's rounding, on any CPU)."""
    x = (RNG.standard_normal(4096) * 10.0 ** RNG.integers(-8, 5, 4096)).astype(dtype)
    x = np.concatenate([x, np.array([1e-40, -1e-39, 6e-8, 1e30], np.float64).astype(dtype)])
    got = tfn.jit(lambda a: a * a + a / np.asarray(3, a.dtype))(x)
    want = x * x + x / np.asarray(3, dtype)
    assert np.array_equal(got.view(np.uint16), want.view(np.uint16))
    wide = np.array([1 + 2 ** -8 + 2 ** -30, 1 + 2 ** -11 + 2 ** -40, 3.3e38, 1e-40, 70000.0])
    assert np.array_equal(tfn.jit(lambda w: w.astype(dtype))(wide).view(np.uint16), wide.astype(dtype).view(np.uint16))


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_remainder_and_floor_divide_are_numpys(dtype):
    """Computed in float32 and rounded back, as numpy's float16 loops: the remainder is exact."""
    x, y = (RNG.standard_normal(500) * 100).astype(dtype), (RNG.standard_normal(500) * 3).astype(dtype)
    r, q = tfn.jit(lambda x, y: (x % y, x // y))(x, y)
    assert r.dtype == dtype and q.dtype == dtype
    np.testing.assert_array_equal(f32(r), f32(x % y))
    np.testing.assert_array_equal(f32(q), f32(x // y))


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_reductions_accumulate_in_float32(dtype):
    x = RNG.uniform(0, 1, (64, 300)).astype(dtype)
    got = tfn.jit(lambda x: (tnp.sum(x), tnp.mean(x, axis=1), tnp.max(x, axis=0), tnp.sum(tnp.ones(4096, x.dtype))))(x)
    close(got[0], f32(x).sum(), dtype)
    close(got[1], f32(x).mean(axis=1), dtype)
    assert np.array_equal(f32(got[2]), f32(x).max(axis=0))
    assert float(got[3]) == 4096.0  # summed in the narrow type it would stall at 256 (bf16) or 2048 (f16)


@pytest.mark.parametrize("dtype", HALF, ids=ids)
@pytest.mark.parametrize("shape", [(4, 5, 3), (96, 128, 80)], ids=["small", "blas-sized"])
def test_matmul_accumulates_in_float32(dtype, shape):
    m, k, n = shape
    a, b = RNG.standard_normal((m, k)).astype(dtype), RNG.standard_normal((k, n)).astype(dtype)
    got = tfn.jit(lambda a, b: a @ b)(a, b)
    close(got, f32(a) @ f32(b), dtype, atol=1e-2 * np.sqrt(k) * RTOL[dtype])


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_convolution(dtype):
    x, w = RNG.standard_normal((2, 3, 9, 9)).astype(dtype), RNG.standard_normal((4, 3, 3, 3)).astype(dtype)
    got = tfn.jit(lambda x, w: nn.conv2d(x, w, padding=1))(x, w)
    want = tfn.jit(lambda x, w: nn.conv2d(x, w, padding=1))(f32(x), f32(w))
    close(got, want, dtype, atol=0.05)


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_random_draws_in_the_dtype(dtype):
    key = tfn.random.key(0)
    u = tfn.random.uniform(key, (4000,), dtype=dtype)
    z = tfn.random.normal(key, (4000,), dtype=dtype)
    assert u.dtype == dtype and z.dtype == dtype
    assert 0 <= f32(u).min() and f32(u).max() < 1
    assert abs(f32(z).mean()) < 0.1 and abs(f32(z).std() - 1) < 0.1


# ---------------------------------------------------------------- transforms

def _mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = tnp.tanh(x @ w1 + b1)
    return tnp.mean(tnp.sum((h @ w2 + b2 - y) ** 2, axis=-1))


def test_mlp_grad_in_bfloat16_follows_float32():
    params = ((RNG.standard_normal((8, 16)) * 0.3, np.zeros(16)), (RNG.standard_normal((16, 4)) * 0.3, np.zeros(4)))
    x, y = RNG.standard_normal((32, 8)), RNG.standard_normal((32, 4))
    cast = lambda t, d: tfn.tree_map(lambda a: np.asarray(a, d), t)  # noqa: E731
    want = tfn.jit(tfn.grad(_mlp_loss))(cast(params, np.float32), *cast((x, y), np.float32))
    for dtype in HALF:
        got = tfn.jit(tfn.grad(_mlp_loss))(cast(params, dtype), *cast((x, y), dtype))
        for g, w in zip(tfn.tree_leaves(got), tfn.tree_leaves(want)):
            assert g.dtype == dtype
            np.testing.assert_allclose(f32(g), w, rtol=0.1, atol=0.05 * np.abs(w).max())


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_jvp_tangents_have_the_primal_dtype(dtype):
    x, t = np.linspace(-1, 1, 7).astype(dtype), np.ones(7, dtype)
    y, dy = tfn.jvp(lambda x: tnp.sin(x) * x, (x,), (t,))
    assert y.dtype == dtype and dy.dtype == dtype
    xf = f32(x)
    close(dy, np.cos(xf) * xf + np.sin(xf), dtype, atol=1e-2)


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_vmap_matches_a_loop(dtype):
    w, xs = RNG.standard_normal((5, 3)).astype(dtype), RNG.standard_normal((6, 5)).astype(dtype)
    f = lambda w, x: tnp.tanh(x @ w)  # noqa: E731
    got = tfn.jit(tfn.vmap(f, in_dims=(None, 0)))(w, xs)
    assert got.dtype == dtype
    loop = np.stack([tfn.jit(f)(w, x) for x in xs])
    np.testing.assert_array_equal(f32(got), f32(loop))


# ---------------------------------------------------------------- runtime, DLPack, AOT, CUDA

@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_dlpack_round_trip_with_torch(name):
    torch = pytest.importorskip("torch")
    tdtype = getattr(torch, name)
    t = torch.linspace(-2, 2, 9, dtype=tdtype)
    a = tfn.from_dlpack(t)
    assert a.dtype.name == name and a.ctypes.data == t.data_ptr()  # shared, not copied
    r = tfn.jit(lambda x: tnp.tanh(x) * 2)(t)
    assert r.dtype.name == name
    back = torch.from_dlpack(r) if name == "float16" else torch.from_numpy(r.view(np.uint16)).view(tdtype)
    torch.testing.assert_close(back, torch.tanh(t.float()).to(tdtype) * 2, rtol=RTOL[np.dtype(r.dtype)], atol=0)


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_aot_takes_the_bits_as_uint16(dtype):
    from tfn import aot
    x = np.linspace(-2, 2, 6).astype(dtype)
    art = aot.compile(lambda x: tnp.exp(x) * x, ShapeDtype((6,), dtype), name="half_fn")
    short = "f16" if dtype == F16 else "bf16"
    assert f"const uint16_t* in0,  /* {short}[6] x */" in art.header
    (out,) = art.load()(x)
    close(out.view(dtype), np.exp(f32(x)) * f32(x), dtype)
    from tfn.aot.shapes import parse_shapes   # tfn-compile --shapes
    assert parse_shapes(f"{short}[2,3], {np.dtype(dtype).name}[]") == [ShapeDtype((2, 3), dtype), ShapeDtype((), dtype)]


def test_cuda_pipeline_compiles_half_precision():
    from tfn.runtime.cuda import lower_for_cuda
    args = (np.ones((8, 16), np.float16), np.ones((16, 4), np.float16), np.ones((8, 4), tfn.bfloat16))

    def f(x, w, b):
        return tnp.sum(tnp.tanh(x @ w), axis=1) + tnp.exp(b).astype(np.float16).sum(axis=1)
    with context(), ir.Location.unknown():
        module, _ = trace_module(f, args, {}, [ShapeDtype.of(a) for a in args])
        stages = lower_for_cuda(module, "main", "sm_90")
    assert ".target sm_90" in stages["llvm"] and stages["llvm"].count("gpu.binary") >= 1


# ---------------------------------------------------------------- the tfn.numpy surface

UNARY_SWEEP = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "square", "reciprocal", "sin",
               "cos", "tan", "tanh", "sinh", "cosh", "abs", "sign", "floor", "ceil", "rint", "trunc", "negative",
               "isnan", "isfinite", "cumsum", "sort", "argmax", "var", "std", "prod"]
BINARY_SWEEP = ["add", "subtract", "multiply", "divide", "floor_divide", "remainder", "power", "maximum", "minimum",
                "logaddexp", "equal", "less", "greater_equal"]


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_numpy_functions_keep_numpys_dtype_and_values(dtype):
    """Each function's result dtype is numpy's (ml_dtypes' loops for bfloat16), its values those
    of numpy in float32 rounded to the dtype, to a few units of the last place."""
    x = np.linspace(0.3, 2.7, 12).reshape(3, 4).astype(dtype)
    y = np.linspace(2.1, 0.6, 12).reshape(3, 4).astype(dtype)
    got = tfn.jit(lambda x, y: ([getattr(tnp, n)(x) for n in UNARY_SWEEP],
                                [getattr(tnp, n)(x, y) for n in BINARY_SWEEP]))(x, y)
    for name, out in zip(UNARY_SWEEP + BINARY_SWEEP, got[0] + got[1]):
        args = (x,) if name in UNARY_SWEEP else (x, y)
        want = getattr(np, name)(*args)
        assert out.dtype == want.dtype, (name, out.dtype, want.dtype)
        ref = getattr(np, name)(*[f32(a) for a in args])
        if out.dtype == dtype:
            close(out, ref, dtype, atol=1e-3 if name in ("sin", "log", "log2", "log10", "tan") else 0.0,
                  scale=4.0 if name in ("var", "std", "prod", "cumsum", "floor_divide", "remainder") else 1.0)
        else:
            np.testing.assert_array_equal(out, ref.astype(out.dtype))


def test_bfloat16_contractions_stay_bfloat16_as_in_jax():
    """numpy has no bfloat16 matmul loop (it computes in float32, and einsum refuses): tfn keeps
    bfloat16, as jax.numpy does."""
    a = np.ones((2, 3), tfn.bfloat16)
    assert tfn.jit(lambda a: (a @ a.T, tnp.einsum("ij,kj->ik", a, a), tnp.clip(a, 0, 1)))(a)[0].dtype == BF16


@pytest.mark.parametrize("dtype", HALF, ids=ids)
def test_loops_conditionals_and_custom_rules(dtype):
    from tfn import lax
    x = np.linspace(0.1, 1, 5).astype(dtype)

    def loop(x):
        return tnp.sum(lax.fori_loop(0, 3, lambda i, c: c * 1.5 + tnp.sin(c), x))

    @tfn.custom_jvp
    def sin(x):
        return tnp.sin(x)
    sin.defjvp(lambda p, t: (tnp.sin(p[0]), tnp.cos(p[0]) * t[0]))

    def branch(x):
        return tnp.sum(tfn.cond(x[0] > 0, lambda x: sin(x) * 2, lambda x: tnp.exp(x), (x,)))
    for f in (loop, branch):
        got, want = tfn.jit(tfn.grad(f))(x), tfn.jit(tfn.grad(f))(f32(x))
        assert got.dtype == dtype
        np.testing.assert_allclose(f32(got), want, rtol=4 * RTOL[dtype])


def test_gpu_results_match_the_cpu():
    """On a GPU (skipped without one): f16 and bf16 arithmetic native there, transcendentals,
    sums and contractions in f32 as on the CPU."""
    from tfn.runtime.cuda import CudaUnavailable, device_chip
    try:
        device_chip()
    except CudaUnavailable as e:
        pytest.skip(f"no CUDA device: {e}")
    for dtype in HALF:
        x, w = RNG.standard_normal((64, 256)).astype(dtype), (RNG.standard_normal((256, 32)) * 0.1).astype(dtype)

        def f(x, w):
            h = tnp.tanh(x @ w)
            return tnp.sum(h * h, axis=0), tnp.exp(x[:4]) / 3, tnp.mean(x)
        for on_gpu, on_cpu in zip(tfn.jit(f, device="cuda")(x, w), tfn.jit(f)(x, w)):
            got = np.asarray(on_gpu)
            assert got.dtype == dtype
            np.testing.assert_allclose(f32(got), f32(on_cpu), rtol=2 * RTOL[dtype], atol=1e-3)
        grads = tfn.jit(tfn.grad(lambda w, x: tnp.sum(f(x, w)[0])), device="cuda")(w, x)
        np.testing.assert_allclose(f32(np.asarray(grads)), f32(tfn.jit(tfn.grad(lambda w, x: tnp.sum(f(x, w)[0])))(w, x)),
                                   rtol=4 * RTOL[dtype], atol=0.05)
