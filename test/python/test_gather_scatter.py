"""tfn.gather and tfn.scatter, and the numpy indexing built on them.

The ops against numpy (all five dtypes, 0-d rows, zero-size, negative, repeated and
out-of-bounds indices, every scatter mode); `x[...]` with array indices against numpy;
`x.at[...]` against JAX; JVPs against finite differences, transposes by the dot-product
test, vmap against a loop, jacfwd against jacrev, an embedding's gradient; and the
allocation bound: 10^5 indices into a 10^5-row table cost O(indices x row).
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp
from tfn import ops
from tfn.frontend.tracer import value_of, wrap

from conftest import check_dot_product, loop_reference, small_ints_or_normals

RNG = np.random.default_rng(0)
# Tables run one jitted function over many signatures.
pytestmark = pytest.mark.filterwarnings("ignore::tfn.RecompileWarning")
DTYPES = (np.float32, np.float64, np.int32, np.int64, np.bool_)


_array = small_ints_or_normals


def same(out, ref):
    ref = np.asarray(ref)
    assert isinstance(out, np.ndarray), type(out)
    assert out.dtype == ref.dtype and out.shape == ref.shape, (out.dtype, out.shape, ref.dtype, ref.shape)
    np.testing.assert_array_equal(out, ref)


def gather(x, i):
    return wrap(ops.gather(value_of(tnp.asarray(x)), value_of(tnp.asarray(i))))


def scatter(x, i, u, mode):
    return wrap(ops.scatter(value_of(tnp.asarray(x)), value_of(tnp.asarray(i)), value_of(tnp.asarray(u)), mode))


def np_positions(x_shape, idx):
    """(clamped positions per indexed dim, in-bounds mask) of indices B... x k (numpy's reference)."""
    k = idx.shape[-1]
    sizes = np.array(x_shape[:k])
    wrapped = np.where(idx < 0, idx + sizes, idx)
    inside = np.all((wrapped >= 0) & (wrapped < sizes), axis=-1)
    clamped = np.clip(wrapped, 0, np.maximum(sizes - 1, 0))
    return tuple(clamped[..., j] for j in range(k)), inside


def np_gather(x, idx):
    at, inside = np_positions(x.shape, idx)
    if 0 in x.shape[:idx.shape[-1]]:
        return np.zeros(idx.shape[:-1] + x.shape[idx.shape[-1]:], x.dtype)
    if idx.shape[-1] == 0:
        return np.broadcast_to(x, idx.shape[:-1] + x.shape).copy()
    out = np.array(x[at])
    out[np.asarray(~inside)] = 0
    return out


def np_scatter(x, idx, u, mode):
    out = x.copy()
    at, inside = np_positions(x.shape, idx)
    k = idx.shape[-1]
    flat_at = [a.reshape(-1) for a in at]
    flat_u = u.reshape((-1,) + x.shape[k:])
    for b, ok in enumerate(inside.reshape(-1)):
        if not ok:
            continue
        p = tuple(a[b] for a in flat_at)
        if mode == "set":
            out[p] = flat_u[b]
        elif mode == "add":
            out[p] = out[p] + flat_u[b] if x.dtype != np.bool_ else out[p] | flat_u[b]
        elif mode == "mul":
            out[p] = out[p] * flat_u[b] if x.dtype != np.bool_ else out[p] & flat_u[b]
        elif mode == "min":
            out[p] = np.minimum(out[p], flat_u[b])
        else:
            out[p] = np.maximum(out[p], flat_u[b])
    return out


# ---------------------------------------------------------------- the ops against numpy

GATHERS = [  # (operand shape, indices)
    ((5, 3), np.array([[0], [4], [-1], [2], [2]])),
    ((5,), np.array([[3], [-5], [0]])),                       # 0-d rows
    ((4, 3, 2), np.array([[[1, 2], [-1, 0]], [[3, -3], [0, 0]]])),   # k = 2, B = 2 x 2
    ((5, 3), np.zeros((0, 1), np.int64)),                      # no index
    ((5, 0), np.array([[1], [2]])),                            # zero-size rows
    ((3, 2), np.array([[7], [-4], [1], [-1]])),                # out of bounds: 0
    ((0, 2), np.array([[0], [-1]])),                           # every index out of bounds
    ((2, 3), np.zeros((3, 0), np.int32)),                      # k = 0: the whole operand per index
    ((), np.zeros((2, 0), np.int64)),                          # a 0-d operand
    ((4, 2), np.array([2, -1])),                               # no batch dims: a 1-d result
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, idx", GATHERS)
def test_gather_op_against_numpy(dtype, shape, idx):
    x = _array(shape, dtype)
    for index_dtype in (np.int32, np.int64):
        i = idx.astype(index_dtype)
        same(tfn.jit(lambda x, i: gather(x, i))(x, i), np_gather(x, i))


SCATTERS = [  # (operand shape, indices, updates shape)
    ((5, 3), np.array([[0], [4], [-1], [2], [2], [0]]), (6, 3)),     # repeated indices
    ((5,), np.array([[3], [-2], [3], [3]]), (4,)),
    ((4, 3, 2), np.array([[[1, 2], [-1, 0]], [[1, 2], [0, 0]]]), (2, 2, 2)),
    ((5, 3), np.zeros((0, 1), np.int64), (0, 3)),
    ((3, 2), np.array([[7], [-4], [1], [-1]]), (4, 2)),               # out of bounds: dropped
]


@pytest.mark.parametrize("mode", ["add", "set", "mul", "min", "max"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, idx, ushape", SCATTERS)
def test_scatter_op_against_numpy(mode, dtype, shape, idx, ushape):
    x, u = _array(shape, dtype, 1), _array(ushape, dtype, 2)
    same(tfn.jit(lambda x, i, u: scatter(x, i, u, mode))(x, idx, u), np_scatter(x, idx, u, mode))


def test_scatter_nan_and_inf_follow_numpy():
    x = np.array([1.0, np.nan, 3.0, -np.inf])
    idx, u = np.array([[0], [1], [2], [2], [3]]), np.array([np.nan, 2.0, np.inf, 1.0, 5.0])
    for mode in ("add", "mul", "min", "max", "set"):
        same(tfn.jit(lambda x, i, u: scatter(x, i, u, mode))(x, idx, u), np_scatter(x, idx, u, mode))


def test_bad_operands_are_shape_errors():
    x, i = np.ones((3, 2)), np.array([[0]])
    with pytest.raises(ops.ShapeError, match="tfn.gather: indices must be integers"):
        tfn.jit(gather)(x, np.array([[0.0]]))
    with pytest.raises(ops.ShapeError, match="tfn.scatter: updates must have shape"):
        tfn.jit(lambda x, i, u: scatter(x, i, u, "add"))(x, i, np.ones((1, 3)))
    with pytest.raises(ops.ShapeError, match="tfn.scatter: unknown mode 'sub'"):
        tfn.jit(lambda x, i, u: scatter(x, i, u, "sub"))(x, i, np.ones((1, 2)))


# ---------------------------------------------------------------- x[...] against numpy

X = np.arange(4 * 5 * 6, dtype=np.float64).reshape(4, 5, 6)
MASK = X[:, 0, 0] > 50
GETITEMS = {
    "x[int array]": lambda x: x[np.array([0, 3, -1, 3])],
    "x[list]": lambda x: x[[0, 2]],
    "x[:, list, int]": lambda x: x[:, [1, -1], 2],
    "x[int, :, list] (apart: first)": lambda x: x[0, :, [1, 2]],
    "x[2-d, slice, ::-2]": lambda x: x[np.array([[0, 1], [2, 3]]), 1:4, ::-2],
    "x[..., array]": lambda x: x[..., np.array([5, 0])],
    "x[::-1]": lambda x: x[::-1],
    "x[1:3, ::-1, None, 2]": lambda x: x[1:3, ::-1, None, 2],
    "x[mask]": lambda x: x[MASK],
    "x[bool array]": lambda x: x[np.array([True, False, True, True])],
    "x[2-d mask]": lambda x: x[X[:, :, 0] > 40],
    "x[None, list, :, list]": lambda x: x[None, [1, 2], :, [3, 4]],
    "x[broadcast arrays]": lambda x: x[np.array([1, 2])[:, None], np.array([0, 4])],
    "x[0-d array, list]": lambda x: x[np.array(1), [0, 0, 1]],
    "x[empty list]": lambda x: x[[]],
    "x[-1::-2, :, [0]]": lambda x: x[-1::-2, :, [0]],
}


@pytest.mark.parametrize("name", sorted(GETITEMS))
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_getitem_against_numpy(name, dtype):
    f = GETITEMS[name]
    x = X.astype(dtype) if dtype != np.bool_ else X % 3 == 0
    same(tfn.jit(f)(x), f(x))


def test_traced_indices_and_embedding_lookups():
    w = _array((10, 4), np.float32)
    ids = np.array([[1, 9, -1], [0, 0, 4]])
    same(tfn.jit(lambda w, i: w[i])(w, ids), w[ids])
    same(tfn.jit(lambda x, i, j: x[i, :, j])(X, np.array([0, 3]), np.array([5, -6])),
         X[np.array([0, 3]), :, np.array([5, -6])])
    same(tfn.jit(lambda x, i: x[1:, i])(X, np.int32(2)), X[1:, 2])    # a traced 0-d index drops its dim
    # traced indices out of bounds read 0 (documented): numpy would raise
    same(tfn.jit(lambda w, i: w[i])(w, np.array([10, -11, 2])), np.stack([np.zeros(4, np.float32),
                                                                          np.zeros(4, np.float32), w[2]]))


def test_index_errors():
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 0 with size 4"):
        tfn.jit(lambda x: x[np.array([0, 4])])(X)
    with pytest.raises(IndexError, match="arrays used as indices must be of integer"):
        tfn.jit(lambda x: x[np.array([0.5])])(X)
    with pytest.raises(ValueError, match="boolean mask known only at run time"):
        tfn.jit(lambda x, m: x[m])(X, MASK)
    with pytest.raises(IndexError, match="too many indices"):
        tfn.jit(lambda x: x[[0], [0], [0], [0]])(X)
    with pytest.raises(IndexError, match="boolean index of shape"):
        tfn.jit(lambda x: x[np.array([True, False])])(X)


# ---------------------------------------------------------------- x.at[...] against JAX

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

UPDATES = {
    "add repeated": lambda x: x.at[np.array([0, 0, 3, -4])].add(1),
    "add rows of a slice": lambda x: x.at[np.array([0, 0, 3]), 1:4].add(2 * np.ones((3, 3, 6), x.dtype)),
    "set repeated (last wins)": lambda x: x.at[np.array([1, 2, 1])].set(np.arange(3, dtype=x.dtype)[:, None, None]),
    "set reversed slice": lambda x: x.at[:, [1, 3], ::-2].set(np.arange(3, dtype=x.dtype)),
    "mul": lambda x: x.at[[2, 0, 2], 3].mul(2),
    "min": lambda x: x.at[[2, 2], ..., [0, 0]].min(-1),
    "max with slice": lambda x: x.at[[2, 2], 1:3].max(100),
    "set ::-1": lambda x: x.at[::-1, 0].set(np.arange(6, dtype=x.dtype)),
    "get": lambda x: x.at[[1], None, [2]].get(),
    "add mask": lambda x: x.at[MASK].add(1),
    "apart": lambda x: x.at[0, :, [1, 2]].add(np.ones((2, 5), x.dtype)),
}


@pytest.mark.parametrize("name", sorted(UPDATES))
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.float32])
def test_at_against_jax(name, dtype):
    f = UPDATES[name]
    x = X.astype(dtype)
    same(tfn.jit(f)(x), np.asarray(f(jnp.asarray(x))))


def test_at_traced_indices_and_values_against_jax():
    x = _array((6, 3), np.float64)
    idx, v = np.array([5, 0, 5, -1, 2]), _array((5, 3), np.float64, 1)
    for kind in ("set", "add", "multiply", "min", "max"):
        f = lambda x, i, v: getattr(x.at[i], kind)(v)   # noqa: E731
        np.testing.assert_array_equal(tfn.jit(f)(x, idx, v), np.asarray(f(jnp.asarray(x), idx, jnp.asarray(v))))
    b = x > 0   # bools
    np.testing.assert_array_equal(tfn.jit(lambda b, i: b.at[i].set(True))(b, idx),
                                  np.asarray(jnp.asarray(b).at[idx].set(True)))
    # traced out-of-bounds updates are dropped (JAX's default for scatters)
    bad = np.array([6, -7, 1])
    np.testing.assert_array_equal(tfn.jit(lambda x, i: x.at[i].add(1.0))(x, bad),
                                  np.asarray(jnp.asarray(x).at[bad].add(1.0)))


# ---------------------------------------------------------------- derivatives

def _fd(f, args, tangents, eps=1e-6):
    fj = tfn.jit(f)
    plus = fj(*[a + eps * t for a, t in zip(args, tangents)])
    minus = fj(*[a - eps * t for a, t in zip(args, tangents)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


IDX = np.array([[0], [3], [3], [-1], [1]])
DISTINCT = np.array([[2], [0], [4]])
DERIVATIVES = {  # name -> (f, argument shapes); float64 arguments, index constants in the closure
    "gather": (lambda x: tnp.sin(gather(x, IDX)), [(5, 3)]),
    "gather k=2": (lambda x: gather(x, np.array([[0, 1], [2, -1], [0, 1]])) ** 2, [(3, 4, 2)]),
    "scatter add": (lambda x, u: scatter(x, IDX, u * u, "add"), [(5, 3), (5, 3)]),
    "scatter set": (lambda x, u: scatter(x * x, IDX, tnp.sin(u), "set"), [(5, 3), (5, 3)]),
    "scatter mul": (lambda x, u: scatter(x, IDX, u, "mul"), [(5, 3), (5, 3)]),
    "scatter mul unique": (lambda x, u: scatter(tnp.exp(x), DISTINCT, u, "mul"), [(5, 3), (3, 3)]),
    "scatter min": (lambda x, u: scatter(x, IDX, u, "min"), [(5, 3), (5, 3)]),
    "scatter max": (lambda x, u: scatter(x, DISTINCT, u * 2, "max"), [(5, 3), (3, 3)]),
    "take": (lambda x: tnp.take(x, np.array([[2, -1], [0, 0]]), axis=1) ** 3, [(2, 3, 4)]),
    "take_along_axis": (lambda x: tnp.take_along_axis(x, np.array([[2, 0], [1, 1]]), 1), [(2, 3)]),
    "getitem mixed": (lambda x: tnp.tanh(x[[1, 0, 1], ::-1, 2]), [(3, 4, 5)]),
    "at set": (lambda x, v: x.at[[1, 3, 1], 1:].set(v * 3), [(4, 3), (3, 2)]),
    "at add": (lambda x, v: x.at[[1, 3, 1]].add(v * v), [(4, 3), (3, 3)]),
    "at mul": (lambda x, v: x.at[[1, 3, 1]].multiply(v), [(4, 3), (3, 3)]),
    "at max": (lambda x, v: x.at[[1, 3, 1]].max(v), [(4, 3), (3, 3)]),
}


def _args(shapes, seed=0):
    rng = np.random.default_rng(seed)
    # distinct values far apart: min/max have no ties near the point
    return [(rng.permutation(int(np.prod(s))) * 0.37 - 2.0 + rng.random()).reshape(s) * 0.5 for s in shapes]


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_jvp_matches_finite_differences(name):
    f, shapes = DERIVATIVES[name]
    args = _args(shapes)
    tangents = [RNG.standard_normal(s) for s in shapes]
    out, tout = tfn.jvp(f, tuple(args), tuple(tangents))
    np.testing.assert_allclose(out, tfn.jit(f)(*args), rtol=1e-12)
    np.testing.assert_allclose(tout, _fd(f, args, tangents), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_vjp_dot_product_test(name):
    f, shapes = DERIVATIVES[name]
    check_dot_product(f, _args(shapes, seed=1), RNG)


def test_scatter_mul_gradient_with_zero_factors():
    # Each update's derivative is the product of the other factors of its position, zeros included.
    x = np.array([2.0, 3.0, 5.0])
    idx = np.array([[0], [0], [1], [1], [1]])
    u = np.array([0.0, 4.0, 0.0, 0.0, 7.0])
    g = tfn.grad(lambda u: tnp.sum(scatter(x, idx, u, "mul")))(u)
    np.testing.assert_allclose(g, [2.0 * 4.0, 0.0, 0.0, 0.0, 0.0])
    g = tfn.grad(lambda u: tnp.sum(scatter(x, idx, u, "mul")))(np.array([0.0, 4.0, 0.5, 2.0, 7.0]))
    np.testing.assert_allclose(g, [8.0, 0.0, 3 * 14.0, 3 * 3.5, 3 * 1.0])


def test_jacfwd_equals_jacrev():
    def f(x, v):
        y = x.at[np.array([2, 0, 2])].add(v)
        return tnp.sum(tnp.sin(y[np.array([[1, 2], [2, 2]])]), axis=(1, 2)) * tnp.take(x, np.array([3]), axis=None)
    x, v = _args([(3, 2), (3, 2)], seed=2)
    for argnums in (0, 1):
        np.testing.assert_allclose(tfn.jacfwd(f, argnums=argnums)(x, v), tfn.jacrev(f, argnums=argnums)(x, v),
                                   rtol=1e-12, atol=1e-14)


def test_grad_of_an_embedding_and_mean_loss():
    vocab, dim = 50, 8
    w = RNG.standard_normal((vocab, dim))
    ids = RNG.integers(0, vocab, (16, 5))
    ids[0, :3] = 7   # repeated
    target = RNG.standard_normal((16, dim))

    def loss(w, ids):
        h = tnp.mean(w[ids], axis=1)
        return tnp.mean((h - target) ** 2)
    g = tfn.grad(loss)(w, ids)
    h = w[ids].mean(1)
    dh = 2 * (h - target) / h.size
    ref = np.zeros_like(w)
    np.add.at(ref, ids, np.repeat(dh[:, None, :] / ids.shape[1], ids.shape[1], axis=1))
    np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-15)
    text = tfn.jit(tfn.grad(loss)).lower(w, ids).as_text("tfn")
    assert '"tfn.gather"' in text and '"tfn.scatter"' in text and 'mode = "add"' in text
    assert "tfn.dot_general" not in text    # no one-hot contraction


# ---------------------------------------------------------------- vmap against a loop

VMAPS = {  # name -> (f, in_dims, args)
    "gather batched table": (lambda x, i: gather(x, i), (0, None), (_array((3, 5, 2), np.float64), IDX)),
    "gather batched indices": (lambda x, i: gather(x, i), (None, 0),
                               (_array((5, 2), np.float64), np.array([[[0], [4]], [[-1], [2]], [[3], [3]]]))),
    "gather both": (lambda x, i: gather(x, i), (1, 0),
                    (_array((5, 3, 2), np.float64), np.array([[[0], [4]], [[-1], [9]], [[3], [3]]]))),
    "scatter add batched operand": (lambda x, i, u: scatter(x, i, u, "add"), (0, None, None),
                                    (_array((3, 5, 2), np.float64), IDX, _array((5, 2), np.float64))),
    "scatter set batched updates": (lambda x, i, u: scatter(x, i, u, "set"), (None, None, 1),
                                    (_array((5, 2), np.float64), IDX, _array((5, 3, 2), np.float64))),
    "scatter max batched indices": (lambda x, i, u: scatter(x, i, u, "max"), (None, 0, None),
                                    (_array((5, 2), np.float64), np.array([[[0], [4]], [[1], [1]], [[3], [-3]]]),
                                     _array((2, 2), np.float64))),
    "scatter mul all": (lambda x, i, u: scatter(x, i, u, "mul"), (0, 0, 0),
                        (_array((3, 5, 2), np.float64), np.array([[[0], [4]], [[1], [1]], [[3], [-3]]]),
                         _array((3, 2, 2), np.float64))),
    "take indices": (lambda x, i: tnp.take(x, i, axis=1), (None, 0), (_array((2, 6), np.float64),
                                                                       np.array([[0, 5], [-1, 2], [3, 3]]))),
    "embedding": (lambda w, i: w[i], (None, 0), (_array((7, 3), np.float32), np.array([[0, 6, 1], [2, 2, 2]]))),
    "at add both": (lambda x, i, v: x.at[i].add(v), (0, 0, None), (_array((2, 4, 3), np.float64),
                                                                   np.array([[0, 0], [3, 1]]), np.ones(3))),
}


@pytest.mark.parametrize("name", sorted(VMAPS))
def test_vmap_against_loop(name):
    f, in_dims, args = VMAPS[name]
    ref = loop_reference(tfn.jit(f), args, in_dims)
    out = tfn.vmap(f, in_dims=in_dims)(*args)
    same(out, ref)


def test_vmap_of_grad_of_gather():
    x = _array((3, 5), np.float64)
    idx = np.array([[1, 1, 4], [0, -1, 2], [3, 3, 3]])
    g = tfn.vmap(tfn.grad(lambda x, i: tnp.sum(x[i] ** 2), argnums=0))(x, idx)
    ref = np.zeros_like(x)
    for b in range(3):
        np.add.at(ref[b], idx[b], 2 * x[b][idx[b]])
    np.testing.assert_allclose(g, ref, rtol=1e-14)


# ---------------------------------------------------------------- allocation and time bound

N, ROW = 100_000, 16


def _table_case():
    table = RNG.standard_normal((N, ROW)).astype(np.float32)
    idx = RNG.integers(-N, N, N)
    return table, idx


@pytest.mark.parametrize("name", ["x[idx]", "x.at[idx].add(v)", "take", "grad of x[idx]"])
def test_indices_into_a_large_table_cost_indices_times_row(name):
    table, idx = _table_case()
    v = RNG.standard_normal((N, ROW)).astype(np.float32)
    fns = {
        "x[idx]": (lambda x, i: x[i], (table, idx)),
        "x.at[idx].add(v)": (lambda x, i, v: x.at[i].add(v), (table, idx, v)),
        "take": (lambda x, i: tnp.take(x, i, axis=0), (table, idx)),
        "grad of x[idx]": (tfn.grad(lambda x, i, v: tnp.sum(x[i] * v)), (table, idx, v)),
    }
    f, args = fns[name]
    start = time.perf_counter()
    lowered = tfn.jit(f).lower(*args)
    workspace = lowered.stages["host_workspace_bytes"]
    # One-hot selection needed N x N = 10^10 mask entries; rows of indices x row floats are 6.4 MB.
    assert workspace <= 2 * N * ROW * 4 + N * 8, workspace
    for kind in ("linalg", "buffers"):
        assert f"{N}x{N}" not in lowered.as_text(kind)
    out = tfn.jit(f)(*args)
    elapsed = time.perf_counter() - start
    at = np.where(idx < 0, idx + N, idx)
    if name in ("x[idx]", "take"):
        same(out, table[at])
    elif name == "x.at[idx].add(v)":
        ref = table.copy()
        np.add.at(ref, at, v)
        np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    else:
        ref = np.zeros_like(table)
        np.add.at(ref, at, v)
        np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    assert elapsed < 30, elapsed    # seconds, not minutes (compile included, on a shared machine)
