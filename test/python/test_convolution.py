"""Convolution (`tfn.conv_general_dilated`, `tfn.lax.conv_general_dilated`) and window
reductions (`tfn.lax.reduce_window`) against JAX in float64; the torch-style wrappers
(`tfn.nn`) against torch.nn.functional; every rule of the op (JVP against
finite differences, the dot-product test of both transposes, vmap against a loop,
jacfwd against jacrev); and torch.func's per-sample-gradients tutorial CNN."""
from __future__ import annotations

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import lax, nn
from tfn import nn as F

from conftest import loop_reference

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jlax = jax.lax

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.standard_normal(shape)


# (lhs shape, rhs shape, keyword arguments of conv_general_dilated): 1-3 spatial dims, strides,
# explicit / negative / SAME padding, both dilations, feature and batch groups, layouts.
CASES = {
    "1d": ((2, 3, 7), (4, 3, 3), dict(window_strides=(1,), padding=[(0, 0)])),
    "1d_strided_same": ((3, 2, 10), (5, 2, 4), dict(window_strides=(3,), padding="SAME")),
    "2d_groups_dilations": ((2, 4, 9, 8), (6, 2, 3, 2), dict(window_strides=(2, 1), padding=[(1, 2), (0, 1)],
                                                             lhs_dilation=(1, 2), rhs_dilation=(2, 1),
                                                             feature_group_count=2)),
    "2d_batch_groups": ((4, 3, 7, 6), (6, 3, 2, 3), dict(window_strides=(1, 2), padding=[(1, 0), (2, 1)],
                                                         batch_group_count=2)),
    "2d_negative_padding": ((2, 3, 8, 8), (4, 3, 3, 3), dict(window_strides=(2, 2), padding=[(-1, 1), (1, -1)])),
    "2d_lhs_dilation": ((1, 1, 5, 5), (2, 1, 2, 2), dict(window_strides=(1, 1), padding=[(0, 0), (1, 0)],
                                                         lhs_dilation=(2, 3))),
    "2d_nhwc_hwio": ((2, 7, 6, 4), (3, 2, 4, 5), dict(window_strides=(1, 2), padding="SAME", rhs_dilation=(1, 2),
                                                      dimension_numbers=("NHWC", "HWIO", "NHWC"))),
    "2d_depthwise": ((2, 3, 6, 5), (6, 1, 3, 3), dict(window_strides=(1, 1), padding="SAME_LOWER",
                                                      feature_group_count=3)),
    "3d": ((2, 2, 5, 4, 4), (3, 2, 2, 2, 3), dict(window_strides=(1, 2, 1), padding="SAME")),
    "3d_ints_dims": ((4, 2, 3, 5), (4, 2, 1, 2), dict(window_strides=(1, 2), padding=[(0, 1), (1, 1)],
                                                      dimension_numbers=jlax.ConvDimensionNumbers(
                                                          (3, 0, 1, 2), (1, 0, 2, 3), (3, 0, 2, 1)))),
    # 16 and more input channels per group, stride 1: one gemm per kernel tap (the shifted form)
    "2d_shifted_taps": ((2, 16, 12, 11), (5, 16, 3, 2), dict(window_strides=(1, 1), padding=[(1, -1), (2, 0)],
                                                           rhs_dilation=(2, 1))),
    "2d_shifted_groups": ((3, 32, 9, 9), (8, 16, 2, 2), dict(window_strides=(1, 1), padding="SAME",
                                                             feature_group_count=2)),
    "2d_shifted_batch_groups": ((4, 16, 7, 6), (6, 16, 3, 3), dict(window_strides=(1, 1), padding=[(1, 1), (0, 1)],
                                                                   lhs_dilation=(1, 2), batch_group_count=2)),
    "3d_shifted": ((2, 16, 5, 4, 6), (3, 16, 2, 1, 2), dict(window_strides=(1, 1, 1), padding="VALID")),
    # one input channel per group, a kernel larger than the output: one gemm per output position
    "2d_per_position_groups": ((16, 4, 9, 10), (8, 1, 7, 8), dict(window_strides=(1, 1), padding=[(1, 0), (0, -1)],
                                                                  rhs_dilation=(1, 1), feature_group_count=4)),
    "2d_per_position_batch_groups": ((32, 1, 9, 10), (8, 1, 4, 3), dict(window_strides=(1, 1), padding="VALID",
                                                                        rhs_dilation=(2, 3), batch_group_count=4)),
    "1d_per_position": ((8, 2, 30), (4, 1, 25), dict(window_strides=(1,), padding=[(1, 1)], feature_group_count=2)),
}


def _conv_fn(kw, conv=lax.conv_general_dilated):
    return lambda x, w: conv(x, w, **kw)


@pytest.mark.parametrize("name", sorted(CASES))
def test_conv_matches_jax(name):
    ls, rs, kw = CASES[name]
    x, w = normal(*ls), normal(*rs)
    np.testing.assert_allclose(tfn.jit(_conv_fn(kw))(x, w), _conv_fn(kw, jlax.conv_general_dilated)(x, w),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n in CASES if "shifted" in n or "per_position" in n))
def test_the_window_free_cases_take_the_window_free_forms(name):
    ls, rs, kw = CASES[name]
    linalg_text = tfn.jit(_conv_fn(kw)).lower(normal(*ls), normal(*rs)).as_text("linalg")
    # a gemm per tap or per output position; im2col would make one
    assert linalg_text.count("linalg.batch_matmul") + linalg_text.count("linalg.matmul") >= 2


@pytest.mark.parametrize("name", sorted(CASES))
def test_conv_vjp_matches_jax_and_passes_the_dot_product_test(name):
    ls, rs, kw = CASES[name]
    x, w = normal(*ls), normal(*rs)
    out, vjp_fn = tfn.vjp(_conv_fn(kw), x, w)
    ct = normal(*np.shape(out))
    gx, gw = vjp_fn(ct)
    _, jvp_ref = jax.vjp(_conv_fn(kw, jlax.conv_general_dilated), x, w)
    jx, jw = jvp_ref(ct)
    np.testing.assert_allclose(gx, jx, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(gw, jw, rtol=1e-11, atol=1e-11)
    # <J v, ct> = <v, J^T ct> with the JVP of the same op (forward rule vs both transposes)
    vx, vw = normal(*ls), normal(*rs)
    _, tout = tfn.jvp(_conv_fn(kw), (x, w), (vx, vw))
    assert float(np.sum(tout * ct)) == pytest.approx(float(np.sum(vx * gx) + np.sum(vw * gw)), rel=1e-10)


@pytest.mark.parametrize("name", ["1d_strided_same", "2d_groups_dilations", "2d_batch_groups", "3d"])
def test_conv_jvp_matches_finite_differences(name):
    ls, rs, kw = CASES[name]
    # A smooth nonlinearity after the (bilinear) conv, so the second order term is checked too.
    f = lambda x, w: tnp.tanh(lax.conv_general_dilated(x, w, **kw))
    x, w, vx, vw = normal(*ls), normal(*rs), normal(*ls), normal(*rs)
    _, tout = tfn.jvp(f, (x, w), (vx, vw))
    fj, eps = tfn.jit(f), 1e-6
    fd = (fj(x + eps * vx, w + eps * vw) - fj(x - eps * vx, w - eps * vw)) / (2 * eps)
    np.testing.assert_allclose(tout, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["1d", "2d_groups_dilations", "2d_batch_groups", "2d_nhwc_hwio"])
@pytest.mark.parametrize("in_dims", [(0, None), (None, 0), (0, 0), (2, 1)])
def test_conv_vmap_matches_a_loop(name, in_dims):
    ls, rs, kw = CASES[name]
    b = 3
    xs = normal(*ls[:in_dims[0]], b, *ls[in_dims[0]:]) if in_dims[0] is not None else normal(*ls)
    ws = normal(*rs[:in_dims[1]], b, *rs[in_dims[1]:]) if in_dims[1] is not None else normal(*rs)
    got = tfn.vmap(_conv_fn(kw), in_dims=in_dims)(xs, ws)
    ref = _conv_fn(kw, jlax.conv_general_dilated)
    want = loop_reference(ref, (xs, ws), in_dims)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_vmap_of_a_gradient_through_groups_is_one_program_and_matches_jax():
    # vmap(grad) batches the transposed convolutions: a grouped conv's rhs transpose has batch
    # groups, whose batching adds more batch groups; no loop anywhere (no scf / call per element).
    ls, rs, kw = CASES["2d_groups_dilations"]
    xs, ws = normal(3, *ls), normal(3, *rs)
    loss = lambda x, w: tnp.sum(tnp.sin(lax.conv_general_dilated(x, w, **kw)))
    jloss = lambda x, w: jax.numpy.sum(jax.numpy.sin(jlax.conv_general_dilated(x, w, **kw)))
    g = tfn.vmap(tfn.grad(loss, argnums=(0, 1)))
    got = g(xs, ws)
    want = jax.vmap(jax.grad(jloss, argnums=(0, 1)))(xs, ws)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)
    text = tfn.jit(g).lower(xs, ws).as_text("tfn")
    assert text.count('"tfn.conv_general_dilated"') >= 3 and "tfn.vmap" not in text and "scf." not in text
    assert '"tfn.concatenate"' not in text.split("tfn.conv_general_dilated")[0]   # no per-element results joined


def test_jacfwd_matches_jacrev_on_a_tiny_conv():
    ls, rs, kw = (1, 2, 4, 3), (2, 1, 2, 2), dict(window_strides=(2, 1), padding=[(1, 0), (0, 1)],
                                                  feature_group_count=2)
    x, w = normal(*ls), normal(*rs)
    f = lambda x, w: tnp.tanh(lax.conv_general_dilated(x, w, **kw))
    for argnums in (0, 1):
        np.testing.assert_allclose(tfn.jacfwd(f, argnums=argnums)(x, w), tfn.jacrev(f, argnums=argnums)(x, w),
                                   rtol=1e-12, atol=1e-12)


def test_second_derivatives_of_a_conv_net_match_jax():
    x, w = normal(2, 2, 6, 5), normal(3, 2, 3, 2)
    kw = dict(window_strides=(2, 1), padding="SAME")
    loss = lambda w, x: tnp.sum(tnp.tanh(lax.conv_general_dilated(x, w, **kw)) ** 2)
    jloss = lambda w, x: jax.numpy.sum(jax.numpy.tanh(jlax.conv_general_dilated(x, w, **kw)) ** 2)
    np.testing.assert_allclose(tfn.hessian(loss)(w, x), jax.hessian(jloss)(w, x), rtol=1e-10, atol=1e-10)


def test_conv_errors_name_the_op():
    with pytest.raises(tfn.ShapeError, match="conv_general_dilated"):
        tfn.jit(lambda x, w: lax.conv(x, w, (1, 1), "VALID"))(np.ones((1, 3, 4, 4)), np.ones((2, 2, 3, 3)))
    with pytest.raises(tfn.ShapeError, match="conv_general_dilated"):
        tfn.jit(lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "VALID", feature_group_count=2,
                                                      batch_group_count=2))(np.ones((2, 4, 4, 4)),
                                                                            np.ones((4, 2, 3, 3)))


def test_the_lowering_contracts_gathered_windows_with_a_gemm():
    lowered = tfn.jit(lambda x, w: lax.conv(x, w, (1, 1), "SAME")).lower(normal(4, 8, 10, 10), normal(16, 8, 3, 3))
    assert "linalg.matmul" in lowered.as_text("linalg")
    assert "gemm" in lowered.as_text("buffers")


def test_a_stride_1_conv_over_many_channels_is_a_gemm_per_tap_without_a_window_copy():
    x, w = normal(8, 32, 12, 12).astype(np.float32), normal(16, 32, 3, 3).astype(np.float32)
    lowered = tfn.jit(lambda x, w: lax.conv(x, w, (1, 1), "VALID")).lower(x, w)
    linalg_text = lowered.as_text("linalg")
    assert linalg_text.count("linalg.matmul") == 9 and "linalg.batch_matmul" not in linalg_text
    # the temporaries: the input channel-major, the taps' weights and the (O, N x plane)
    # accumulator; no (taps x input) windows
    workspace = int(lowered.as_text("llvm").split("tfn.workspace_bytes = ")[1].split(" ")[0])
    assert workspace < 4 * (8 * 32 * 144 + 9 * 16 * 32 + 16 * 8 * 144) + 4096


def test_a_per_sample_weight_gradient_is_a_gemm_per_output_position_without_a_window_copy():
    # vmap(grad) of a conv's weight: the input convolved with the cotangent, one group per sample
    x, ct = normal(32, 64, 14, 14).astype(np.float32), normal(64 * 16, 1, 12, 12).astype(np.float32)
    lowered = tfn.jit(lambda x, ct: lax.conv_general_dilated(x, ct, (1, 1), "VALID", feature_group_count=64)).lower(x, ct)
    assert lowered.as_text("linalg").count("linalg.batch_matmul") == 9
    workspace = int(lowered.as_text("llvm").split("tfn.workspace_bytes = ")[1].split(" ")[0])
    assert workspace < 4 * (64 * 144 * 32 * 9) // 2   # im2col's windows: 64 x (144 x 32 x 9)


# ---------------------------------------------------------------- reduce_window

POOLS = {
    "max_2x2": ("max", -np.inf, (2, 3, 6, 8), dict(window_dimensions=(1, 1, 2, 2), window_strides=(1, 1, 2, 2),
                                                   padding="VALID")),
    "max_same_strided": ("max", -np.inf, (2, 3, 7, 5), dict(window_dimensions=(1, 1, 3, 2),
                                                            window_strides=(1, 1, 2, 1), padding="SAME")),
    "add_padded": ("add", 0.0, (3, 7, 5), dict(window_dimensions=(2, 3, 2), window_strides=(1, 2, 2),
                                               padding=[(0, 1), (1, 1), (2, 0)])),
    "add_dilated": ("add", 0.0, (9, 8), dict(window_dimensions=(3, 2), window_strides=(2, 1), padding="VALID",
                                             base_dilation=(1, 2), window_dilation=(2, 1))),
    "max_init": ("max", 0.5, (10,), dict(window_dimensions=(3,), window_strides=(2,), padding=[(1, 1)])),
}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_reduce_window_and_its_gradient_match_jax(name):
    op, init, shape, kw = POOLS[name]
    # distinct values: the gradient of a window max is defined
    x = (RNG.permutation(int(np.prod(shape))) * 0.37 - 3.0).reshape(shape)
    jcomp = {"max": jlax.max, "add": jlax.add}[op]
    ref = lambda x: jlax.reduce_window(x, init, jcomp, **kw)
    got = tfn.jit(lambda x: lax.reduce_window(x, init, op, **kw))(x)
    np.testing.assert_allclose(got, ref(x), rtol=1e-12)
    ct = normal(*np.shape(got))
    f = lambda x: tnp.sum(lax.reduce_window(x, init, tnp.maximum if op == "max" else tnp.add, **kw) * ct)
    if op == "max" and init != -np.inf:   # JAX differentiates a window max only from -inf
        ref = lambda x: jax.numpy.maximum(jlax.reduce_window(x, -np.inf, jcomp, **kw), init)
    np.testing.assert_allclose(tfn.grad(f)(x), jax.grad(lambda x: jax.numpy.sum(ref(x) * ct))(x), rtol=1e-12)
    # vmap against a loop
    xs = np.stack([x, x[::-1].copy() if x.ndim == 1 else x * -1.0])
    np.testing.assert_allclose(tfn.vmap(lambda x: lax.reduce_window(x, init, op, **kw))(xs),
                               np.stack([ref(v) for v in xs]), rtol=1e-12)


# ---------------------------------------------------------------- torch.nn.functional wrappers

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _t(x):
    return torch.tensor(np.asarray(x))


def _close(got, want, rtol=1e-12):
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using padding='same'")   # torch's note on its own zero-padded copy
@pytest.mark.parametrize("n, x_shape, w_shape, kw", [
    (1, (2, 3, 11), (5, 3, 3), dict(stride=2, padding=1)),
    (1, (3, 9), (4, 3, 2), dict(padding="same", dilation=3)),  # unbatched input
    (2, (2, 4, 9, 8), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    (2, (2, 4, 9, 8), (6, 4, 4, 3), dict(padding="same", dilation=(2, 1))),
    (3, (1, 2, 5, 6, 4), (3, 2, 2, 3, 2), dict(padding="valid", stride=(1, 2, 1))),
])
def test_conv_wrappers_match_torch(n, x_shape, w_shape, kw):
    x, w, b = normal(*x_shape), normal(*w_shape), normal(w_shape[0])
    ours = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[n]
    theirs = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[n]
    _close(tfn.jit(lambda x, w, b: ours(x, w, b, **kw))(x, w, b), theirs(_t(x), _t(w), _t(b), **kw))


def test_conv_transpose2d_matches_torch():
    x, w, b = normal(2, 4, 5, 4), normal(4, 3, 3, 2), normal(6)
    kw = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2))
    _close(F.conv_transpose2d(x, w, b, **kw), TF.conv_transpose2d(_t(x), _t(w), _t(b), **kw))


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, dilation=2, stride=1),
])
def test_max_pool2d_and_its_gradient_match_torch(kw):
    x = (RNG.permutation(2 * 3 * 9 * 8) * 0.1).reshape(2, 3, 9, 8)
    tx = _t(x).requires_grad_()
    want = TF.max_pool2d(tx, **kw)
    ct = normal(*want.shape)
    (want * _t(ct)).sum().backward()
    _close(F.max_pool2d(x, **kw), want)
    np.testing.assert_allclose(tfn.grad(lambda x: tnp.sum(F.max_pool2d(x, **kw) * ct))(x), tx.grad.numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
])
def test_avg_pool2d_matches_torch(kw):
    x = normal(2, 3, 9, 8)
    _close(F.avg_pool2d(x, **kw), TF.avg_pool2d(_t(x), **kw))


def test_adaptive_avg_pool2d_matches_torch_where_sizes_divide():
    x = normal(2, 3, 9, 8)
    _close(F.adaptive_avg_pool2d(x, (3, 4)), TF.adaptive_avg_pool2d(_t(x), (3, 4)))
    _close(F.adaptive_avg_pool2d(x, 1), TF.adaptive_avg_pool2d(_t(x), 1))
    with pytest.raises(NotImplementedError, match="adaptive_avg_pool2d"):
        F.adaptive_avg_pool2d(x, (2, 3))


# ---------------------------------------------------------------- torch.func's per-sample-gradients tutorial

def _tutorial_params(rng):
    shapes = {"conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,), "conv2.weight": (64, 32, 3, 3),
              "conv2.bias": (64,), "fc1.weight": (128, 9216), "fc1.bias": (128,), "fc2.weight": (10, 128),
              "fc2.bias": (10,)}
    return {k: rng.standard_normal(s) * (1.0 / np.sqrt(np.prod(s[1:]) if len(s) > 1 else 30.0))
            for k, s in shapes.items()}


def _tutorial_loss(p, sample, target):
    """SimpleCNN of the tutorial on one sample (1, 28, 28) with an integer label, in torch's layout."""
    x = tnp.expand_dims(sample, 0)
    x = nn.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]))
    x = nn.relu(F.conv2d(x, p["conv2.weight"], p["conv2.bias"]))
    x = F.max_pool2d(x, 2)
    x = tnp.reshape(x, (1, -1))
    x = nn.relu(x @ p["fc1.weight"].T + p["fc1.bias"])
    x = x @ p["fc2.weight"].T + p["fc2.bias"]
    logp = nn.log_softmax(x, axis=1)
    return -tnp.sum(logp[0] * nn.one_hot(target, 10, dtype=logp.dtype))


def test_per_sample_gradients_of_the_tutorial_cnn_match_torch_func():
    from torch.func import functional_call, grad, vmap

    rng = np.random.default_rng(1)
    params = _tutorial_params(rng)
    data, targets = rng.standard_normal((8, 1, 28, 28)), rng.integers(0, 10, 8)

    class SimpleCNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 32, 3, 1)
            self.conv2 = torch.nn.Conv2d(32, 64, 3, 1)
            self.fc1 = torch.nn.Linear(9216, 128)
            self.fc2 = torch.nn.Linear(128, 10)

        def forward(self, x):
            x = TF.relu(self.conv2(TF.relu(self.conv1(x))))
            x = torch.flatten(TF.max_pool2d(x, 2), 1)
            return TF.log_softmax(self.fc2(TF.relu(self.fc1(x))), dim=1)

    model = SimpleCNN().double()
    tparams = {k: _t(v) for k, v in params.items()}

    def compute_loss(p, sample, target):
        return TF.nll_loss(functional_call(model, p, (sample.unsqueeze(0),)), target.unsqueeze(0))

    want = vmap(grad(compute_loss), in_dims=(None, 0, 0))(tparams, _t(data), torch.tensor(targets))
    got = tfn.vmap(tfn.grad(_tutorial_loss), in_dims=(None, 0, 0))(params, data, targets)
    for k in params:
        np.testing.assert_allclose(got[k], want[k].numpy(), rtol=1e-5, atol=1e-5 * np.abs(want[k].numpy()).max())


# ---------------------------------------------------------------- CUDA

def _small_cnn_loss(w, b, x):
    h = nn.relu(F.conv2d(x, w, b, stride=(1, 2), padding=1))
    return tnp.sum(F.max_pool2d(h, 2) ** 2) + tnp.sum(F.avg_pool2d(h, 2, padding=1))


def test_convolutions_compile_for_cuda_and_match_the_cpu_on_a_gpu():
    from mlir import ir

    from tfn.api.jit import trace_module
    from tfn.frontend.tracer import ShapeDtype, context
    from tfn.runtime.cuda import CudaUnavailable, device_chip, lower_for_cuda

    w, b, x = (normal(*s).astype(np.float32) for s in ((8, 3, 3, 3), (8,), (4, 3, 10, 9)))
    per_sample = tfn.vmap(tfn.grad(lambda w, b, x: _small_cnn_loss(w, b, x[None]), argnums=(0, 1)),
                          in_dims=(None, None, 0))
    with context(), ir.Location.unknown():
        module, _ = trace_module(per_sample, (w, b, x), {}, [ShapeDtype.of(a) for a in (w, b, x)])
        assert lower_for_cuda(module, "main", "sm_90")["llvm"].count("gpu.binary") >= 3
    try:
        device_chip()
    except CudaUnavailable as error:
        pytest.skip(f"no CUDA device: {error}")
    for f in (_small_cnn_loss, per_sample):
        args = (w, b, x)
        for a, c in zip(tfn.tree_leaves(tfn.jit(f, device="cuda")(*args)), tfn.tree_leaves(tfn.jit(f)(*args))):
            np.testing.assert_allclose(a, c, rtol=2e-4, atol=2e-4)
