"""The checks a case can ask for (`ORACLES`), run inside the worker process.

Each oracle takes a `Context` and returns the number of elements it compared, raises
`CheckFailed(kind, message)` or `Skip`. Reference values come from numpy (compare.py);
derivatives from central finite differences of the numpy program in higher precision;
transforms that must agree with each other (jacfwd and jacrev, vmap and a loop) are
compared with each other.
"""
from __future__ import annotations

import re

import numpy as np

import tfn
import tfn.numpy as tnp
from fuzz.compare import HI, CheckFailed, Skip, check_outputs, check_self, quiet, references, upcast
from fuzz.program import Case, diff_positions, load_function

# A clear rejection: one of tfn's error types, or a builtin one whose message starts with "tfn".
CLEAR_ERRORS = ("ShapeError", "TraceError", "TransformError", "BatchingError", "MissingRuleError", "AotError",
                "RandomnessError", "TransformExpansionError")
# Rejections of programs numpy accepts that tfn documents as unsupported (README, tfn.numpy).
DOCUMENTED_UNSUPPORTED = [r"negative slice steps are not supported", r"indexing with arrays is not supported",
                          r"ellipsis in subscripts is not supported", r"needs one or two operands",
                          r"repeats an index"]


JACOBIAN_MAX = 60_000    # elements: larger jacobians of whole programs cost seconds to compile and run


def is_clear(exc: BaseException) -> bool:
    name = type(exc).__name__
    if name in CLEAR_ERRORS:
        return True
    return type(exc) in (TypeError, ValueError, IndexError, NotImplementedError) and str(exc).startswith("tfn")


def describe(exc: BaseException) -> str:
    import traceback
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f"{f.filename.split('python/tfn/')[-1]}:{f.lineno}" for f in reversed(frames)
                  if "/tfn/" in f.filename), "")
    return f"{type(exc).__name__}: {str(exc).strip()[:600]}" + (f"\n  raised at tfn/{where}" if where else "")


class Context:
    """One case inside the worker: the program as a function of xp, inputs, and a seeded rng."""

    def __init__(self, case: Case):
        self.case = case
        self.f = load_function(case.source)
        self.inputs = list(case.inputs)
        self.rng = np.random.default_rng(case.seed)
        self.diff = diff_positions(self.inputs)
        self._refs = None
        # float32 somewhere: results carry float32 rounding whatever their dtype
        self.low = "float32" in case.source or any(getattr(x, "dtype", None) == np.float32 for x in self.inputs)

    def tnp_fn(self):
        f = self.f
        return lambda *a: f(tnp, *a)

    def refs(self) -> list[tuple]:
        """numpy's references, one (native, high, perturbed) triple per output."""
        if self._refs is None:
            self._refs = references(self.f, self.inputs, self.rng)
        return self._refs

    def run_tfn(self, thunk):
        """Runs a tfn call; a rejection becomes a failure unless documented as unsupported."""
        try:
            return thunk()
        except CheckFailed:
            raise
        except Exception as exc:
            if not is_clear(exc):
                raise CheckFailed("unclear-error", describe(exc)) from None
            if any(re.search(p, str(exc)) for p in DOCUMENTED_UNSUPPORTED):
                raise Skip("documented unsupported") from None
            raise CheckFailed("rejects-valid", describe(exc)) from None

    def random_like(self, x, dtype=None):
        x = np.asarray(x)
        return self.rng.standard_normal(x.shape).astype(dtype or x.dtype)

    def with_diff(self, args, values):
        """args with the differentiated positions replaced by values."""
        args = list(args)
        for i, v in zip(self.diff, values):
            args[i] = v
        return args


# ---------------------------------------------------------------- values

def oracle_jit(ctx: Context) -> int:
    if ctx.case.expect_error:
        return expect_rejection(ctx)
    got = ctx.run_tfn(lambda: tfn.jit(ctx.tnp_fn())(*ctx.inputs))
    return check_outputs(got, ctx.refs(), "jit", ctx.low)


def expect_rejection(ctx: Context) -> int:
    try:
        got = tfn.jit(ctx.tnp_fn())(*ctx.inputs)
    except Exception as exc:
        if is_clear(exc):
            return 0
        raise CheckFailed("unclear-error", describe(exc)) from None
    raise CheckFailed("accepts-invalid", f"numpy rejects the program, tfn returns {np.asarray(got)!r}")


def oracle_eager(ctx: Context) -> int:
    got = ctx.run_tfn(lambda: ctx.f(tnp, *ctx.inputs))
    return check_outputs(got, ctx.refs(), "eager", ctx.low)


def oracle_aot(ctx: Context) -> int:
    def run():
        art = tfn.aot.compile(ctx.tnp_fn(), *ctx.inputs, name="fuzz_case")
        outs = art.load()(*ctx.inputs)
        return outs[0] if len(ctx.refs()) == 1 else tuple(outs)
    got = ctx.run_tfn(run)
    return check_outputs(got, ctx.refs(), "aot", ctx.low)


# ---------------------------------------------------------------- vmap

def batch_plan(ctx: Context):
    """(batch size, in_dims, batched inputs): shuffled copies keep every input's value set (domains)."""
    size = int(ctx.rng.integers(1, 4))
    arrays = [i for i, x in enumerate(ctx.inputs) if isinstance(x, np.ndarray)]
    if not arrays:
        raise Skip("no array inputs")
    in_dims = [None] * len(ctx.inputs)
    for i in arrays:
        if ctx.rng.random() < 0.7:
            in_dims[i] = int(ctx.rng.integers(0, ctx.inputs[i].ndim + 1))
    if all(d is None for d in in_dims):
        in_dims[arrays[0]] = 0
    batched = []
    for x, d in zip(ctx.inputs, in_dims):
        if d is None:
            batched.append(x)
            continue
        copies = [x] + [ctx.rng.permutation(x.ravel()).reshape(x.shape) for _ in range(size - 1)]
        batched.append(np.stack(copies, axis=d))
    return size, in_dims, batched


def example(batched, in_dims, b):
    return [x if d is None else np.asarray(np.take(x, b, axis=d)) for x, d in zip(batched, in_dims)]


def oracle_vmap(ctx: Context) -> int:
    size, in_dims, batched = batch_plan(ctx)
    out_rank = min(np.ndim(r[0]) for r in ctx.refs())
    out_dim = int(ctx.rng.integers(-out_rank - 1, out_rank + 1))     # negative: counted from the end
    f = ctx.f

    def loop(xp, *xs):
        rows = [f(xp, *example(xs, in_dims, b)) for b in range(size)]
        if isinstance(rows[0], tuple):
            return tuple(np.stack([np.asarray(r[i]) for r in rows], axis=out_dim) for i in range(len(rows[0])))
        return np.stack([np.asarray(r) for r in rows], axis=out_dim)
    refs = references(loop, batched, ctx.rng)
    chunk = [None, None, 1, 2][int(ctx.rng.integers(0, 4))]
    how = f"in_dims={tuple(in_dims)}, out_dims={out_dim}" + (f", chunk_size={chunk}" if chunk else "")
    got = ctx.run_tfn(lambda: tfn.jit(tfn.vmap(ctx.tnp_fn(), in_dims=tuple(in_dims), out_dims=out_dim,
                                               chunk_size=chunk))(*batched))
    return check_outputs(got, refs, f"vmap({how}) with batch size {size}", ctx.low)


# ---------------------------------------------------------------- derivatives

def smooth_case(ctx: Context):
    if not ctx.diff:
        raise Skip("no float inputs")
    if len(ctx.refs()) != 1:
        raise Skip("several outputs")
    native = ctx.refs()[0][0]
    if native.dtype.kind != "f" or not np.isfinite(native).all():
        raise Skip("output not finite floats")
    return native


def partial(ctx: Context, args):
    """The program as a function of the differentiated inputs, other inputs fixed to args."""
    f = ctx.f
    return lambda *d: f(tnp, *ctx.with_diff(args, d))


def fd_directional(ctx: Context, v):
    """(central, left, right) differences of the numpy program along v, in higher precision."""
    xs = [upcast(x) for x in ctx.inputs]
    wide = [xs[i] for i in ctx.diff]
    dtype = wide[0].dtype
    h = 1e-7 if dtype == np.longdouble else 1e-5
    vs = [np.asarray(t).astype(dtype) for t in v]

    def at(t):
        moved = ctx.with_diff(xs, [x + t * d for x, d in zip(wide, vs)])
        return np.asarray(quiet(ctx.f, HI, *moved)).astype(dtype)
    f0, fp, fm = at(0.0), at(h), at(-h)
    return (fp - fm) / (2 * h), (f0 - fm) / h, (fp - f0) / h


def fd_or_skip(ctx: Context, v):
    central, left, right = fd_directional(ctx, v)
    if not (np.isfinite(central).all() and np.isfinite(left).all() and np.isfinite(right).all()):
        raise Skip("non-finite differences")
    scale = float(np.abs(central).max(initial=0.0)) + 1.0
    if np.abs(left - right).max(initial=0.0) > 1e-3 * scale:
        raise Skip("not smooth here")
    return central.astype(np.float64)


def compare_fd(got, want, low: bool, what: str) -> int:
    got = np.asarray(got, np.float64)
    if got.shape != want.shape:
        raise CheckFailed("shape", f"{what}: shape {got.shape}, expected {want.shape}")
    scale = float(np.abs(want).max(initial=0.0)) + float(np.abs(got).max(initial=0.0)) + 1e-3
    err = np.abs(got - want)
    bad = err > (2e-3 if low else 1e-6) * (np.abs(want) + scale)
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        raise CheckFailed("mismatch", f"{what}: {int(bad.sum())} of {want.size} elements differ from finite "
                                      f"differences; at {i}: got {got[i]!r}, finite differences {want[i]!r}\n"
                                      f"got:\n{got!r}\nfinite differences:\n{want!r}")
    return int(want.size)


def oracle_fd(ctx: Context) -> int:
    """jvp, linearize, vjp and grad against finite differences of the numpy program (one compiled function)."""
    native = smooth_case(ctx)
    v = [ctx.random_like(ctx.inputs[i]) for i in ctx.diff]
    w = ctx.random_like(native)
    fd = fd_or_skip(ctx, v)
    checked = 0

    n = len(ctx.inputs)

    def loss(*args):
        return tnp.sum(ctx.f(tnp, *args) * w)

    def run(w, *args):            # one compiled function for all three: derivatives fused together
        args, tangents = args[:n], list(args[n:])
        diff = [args[i] for i in ctx.diff]
        jv = tfn.jvp(partial(ctx, args), diff, tangents)[1]
        lin = tfn.linearize(partial(ctx, args), *diff)[1](*tangents)
        cts = tfn.vjp(partial(ctx, args), *diff)[1](w)
        grads = tfn.grad(loss, argnums=tuple(ctx.diff))(*args)
        return jv, lin, cts, grads
    jv, lin, cts, grads = ctx.run_tfn(lambda: tfn.jit(run)(w, *ctx.inputs, *v))
    checked += compare_fd(jv, fd, ctx.low, "jvp tangent")
    checked += check_self(lin, jv, "linearize vs jvp", ctx.low)
    lhs = sum(float(np.vdot(np.asarray(c, np.float64), t)) for c, t in zip(cts, v))
    checked += compare_fd(np.array(lhs), np.array(float(np.vdot(w, fd))), ctx.low, "vjp <cotangent, v>")
    for k, (g, c) in enumerate(zip(grads, cts)):
        checked += check_self(g, c, f"grad of sum(out * w) vs vjp, input {ctx.diff[k]}", ctx.low)
    return checked


def oracle_jac(ctx: Context) -> int:
    """jacfwd and jacrev agree, and jacrev · v matches finite differences."""
    native = smooth_case(ctx)
    k = ctx.diff[0]
    x = ctx.inputs[k]
    if native.size * x.size > JACOBIAN_MAX:
        raise Skip("jacobian too large")

    def run(*args):
        f = ctx.f
        g = lambda xk: f(tnp, *(args[:k] + (xk,) + args[k + 1:]))
        return tfn.jacrev(g, chunk_size=chunk)(args[k]), tfn.jacfwd(g)(args[k])
    chunk = [None, None, 2][int(ctx.rng.integers(0, 3))]
    jr, jf = ctx.run_tfn(lambda: tfn.jit(run)(*ctx.inputs))
    # As in JAX and torch.func, jacfwd has the output's dtype and jacrev the input's: values only.
    checked = check_self(jf, jr, f"jacfwd vs jacrev(chunk_size={chunk})", ctx.low, same_dtype=False)
    v = ctx.random_like(x)
    vs = [v if i == k else np.zeros_like(ctx.inputs[i]) for i in ctx.diff]
    fd = fd_or_skip(ctx, vs)
    jv = np.tensordot(np.asarray(jr, np.float64), v.astype(np.float64), axes=v.ndim) if v.ndim else \
        np.asarray(jr, np.float64) * float(v)
    return checked + compare_fd(jv, fd, ctx.low, "jacrev · v")


def oracle_hessian(ctx: Context) -> int:
    """hessian of sum(out * w) · v against central differences of tfn's gradient."""
    native = smooth_case(ctx)
    k = ctx.diff[0]
    if ctx.inputs[k].size ** 2 > JACOBIAN_MAX:
        raise Skip("hessian too large")
    w = ctx.random_like(native)

    def run(kind):
        def go(*args):
            f = ctx.f
            return kind(lambda xk: tnp.sum(f(tnp, *(args[:k] + (xk,) + args[k + 1:])) * w))(args[k])
        return tfn.jit(go)
    hess, grad = ctx.run_tfn(lambda: run(tfn.hessian)), ctx.run_tfn(lambda: run(tfn.grad))
    x = ctx.inputs[k]
    v = ctx.random_like(x)
    h = 1e-2 if ctx.low else 1e-5

    def g_at(t):
        args = list(ctx.inputs)
        args[k] = (x + t * v).astype(x.dtype)
        return np.asarray(ctx.run_tfn(lambda: grad(*args)), np.float64)
    g0, gp, gm = g_at(0.0), g_at(h), g_at(-h)
    scale = float(np.abs(gp - gm).max(initial=0.0)) / (2 * h) + 1.0
    if np.abs((gp - g0) - (g0 - gm)).max(initial=0.0) / h > 0.05 * scale:
        raise Skip("gradient not smooth here")
    H = np.asarray(ctx.run_tfn(lambda: hess(*ctx.inputs)), np.float64)
    hv = np.tensordot(H, v.astype(np.float64), axes=v.ndim) if v.ndim else H * float(v)
    fd = (gp - gm) / (2 * h)
    rtol = 2e-2 if ctx.low else 1e-5
    err = np.abs(hv - fd)
    if (err > rtol * (np.abs(fd) + float(np.abs(fd).max(initial=0.0)) + 1e-3)).any():
        raise CheckFailed("mismatch", f"hessian · v differs from differences of grad: max error {err.max():.3g}\n"
                                      f"hessian · v:\n{hv!r}\ndifferences of grad:\n{fd!r}")
    return int(H.size)


def oracle_vmap_grad(ctx: Context) -> int:
    """vmap(grad(sum(out * w))) against a loop of grad, and grad of the batched loss against both."""
    native = smooth_case(ctx)
    size, in_dims, batched = batch_plan(ctx)
    w = ctx.random_like(native)
    f = ctx.f

    def loss(*args):
        return tnp.sum(f(tnp, *args) * w)
    g = tfn.grad(loss, argnums=tuple(ctx.diff))
    got = ctx.run_tfn(lambda: tfn.jit(tfn.vmap(g, in_dims=tuple(in_dims)))(*batched))
    one = tfn.jit(g)
    rows = [ctx.run_tfn(lambda: one(*example(batched, in_dims, b))) for b in range(size)]
    checked = 0
    for j, got_j in enumerate(got):
        want = np.stack([np.asarray(r[j]) for r in rows])
        checked += check_self(got_j, want, f"vmap(grad)(in_dims={tuple(in_dims)}) input {ctx.diff[j]}", ctx.low)

    # grad of the summed batch: per-example gradients where the input is batched, their sum where not
    def batch_loss(*args):
        return tnp.sum(tfn.vmap(lambda *a: f(tnp, *a) * w, in_dims=tuple(in_dims))(*args))
    total = ctx.run_tfn(lambda: tfn.jit(tfn.grad(batch_loss, argnums=tuple(ctx.diff)))(*batched))
    for j, (got_j, i) in enumerate(zip(total, ctx.diff)):
        per_example = np.stack([np.asarray(r[j]) for r in rows])
        want = per_example.sum(axis=0) if in_dims[i] is None else np.moveaxis(per_example, 0, in_dims[i])
        checked += check_self(got_j, want.astype(per_example.dtype),
                              f"grad(sum(vmap(f)))(in_dims={tuple(in_dims)}) input {i}", ctx.low)
    return checked


ORACLES = {"jit": oracle_jit, "eager": oracle_eager, "aot": oracle_aot, "vmap": oracle_vmap, "fd": oracle_fd,
           "jac": oracle_jac, "hessian": oracle_hessian, "vmap_grad": oracle_vmap_grad}
