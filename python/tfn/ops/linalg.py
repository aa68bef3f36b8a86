"""Dense linear algebra: `cholesky`, `triangular_solve`, `lu`, `qr` and `eigh` on (batches of) matrices.

Every op takes matrices in its two trailing dims and is batched over the leading ones
(B... x n x n), float32 or float64:

    cholesky(a)                                  -> L, lower, a = L L^T (reads a's lower triangle)
    triangular_solve(a, b, lower, transpose_a, unit_diagonal)
                                                 -> x with op(a) x = b, b: B... x n x m, op(a) = a or a^T;
                                                    reads only a's triangle (without the diagonal if unit)
    lu(a, part)                                  -> partial pivoting, P a = L U (L unit lower):
        part "factors": L and U packed in one n x n matrix; "pivots": int32 B... x n, row k was
        swapped with row pivots[k] (LAPACK's ipiv, from 0); "permutation": int32 B... x n,
        (P a)[i] = a[permutation[i]]

`lu` is one op with three parts, so each result is one value; every part computes the whole
factorization (a composite asking for two parts does the O(n^3) work twice). A zero pivot is
not divided by (the column below it is zero anyway, LAPACK's getrf), so an exactly singular
matrix factors with a zero on U's diagonal; cholesky of a matrix that is not positive definite
gives NaN (sqrt of a negative), as JAX's; numpy raises `LinAlgError` in both cases.

Rules (JAX's derivations). cholesky: S = the symmetric matrix of a's lower triangle's tangent,
Phi = lower half of L^-1 S L^-T with a halved diagonal, dL = L Phi. triangular_solve is
linear in b (transpose: the solve with transpose_a flipped); for a, dx = -op(a)^-1 op(da) x,
da restricted to the triangle the op reads. lu (JAX's lu_jvp_rule): with X = L^-1 P da U^-1,
d(LU) = L tril(X, -1) + triu(X) U; the pivots and the permutation have no tangent. Batching:
the ops are batched over leading dims by definition, so a batched operand moves its batch dim
to the front (an unbatched one is broadcast), never a loop.

Lowering: scf.for loops over static sizes per matrix inside an scf.for nest over the batch,
carrying the result tensors (tensor.extract / tensor.insert, bufferized in place), O(n^3) per
matrix. On CUDA (`TARGET`) that nest would run on the host, reading device memory, so the batch
is one scf.forall instead, each iteration (a GPU thread) running the same loops on its matrix
(`_per_matrix`).
"""
from __future__ import annotations

import numpy as np
from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import TRANSPOSE_RULES, add_any, defjvp
from tfn.batching.rules import BATCH_RULES, batch_size, bdim_at
from tfn.dialect.core import BUILDERS, create, fail, int_attr, result_type_like, str_attr
from tfn.dialect.types import dtype_of, shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import LOWERINGS, TARGET, LazyModule, arith, builders, linalg, tensor

scf = LazyModule("mlir.dialects.scf")
math = LazyModule("mlir.dialects.math")
bufferization = LazyModule("mlir.dialects.bufferization")

LU_PARTS = ("factors", "pivots", "permutation")
QR_PARTS = ("q", "r")
EIGH_PARTS = ("eigenvalues", "eigenvectors")


def _check_square(name: str, a: ir.Value) -> tuple[tuple[int, ...], int]:
    """(batch shape, n) of a B... x n x n float32/float64 operand."""
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        fail(name, f"expects square matrices in the two trailing dims (B... x n x n), got shape {list(s)}", a)
    if dtype_of(a) not in (np.float32, np.float64):
        fail(name, f"expects float32 or float64 matrices, got {dtype_of(a).name}", a)
    return tuple(s[:-2]), s[-1]


# ---------------------------------------------------------------- helpers of the rules

def _mask(shape, dtype, k: int, upper: bool, diagonal=None) -> ir.Value:
    """A constant of `shape` (B... x n x n): 1 on tril(k) (triu(k) if upper), `diagonal` on the diagonal."""
    n = shape[-1]
    m = np.triu(np.ones((n, n)), k) if upper else np.tril(np.ones((n, n)), k)
    if diagonal is not None:
        np.fill_diagonal(m, diagonal)
    return _constant(m, shape, dtype)


def _constant(m: np.ndarray, shape, dtype) -> ir.Value:
    """The n x n matrix m broadcast to `shape` (B... x n x n)."""
    c = ops.constant(m.astype(dtype))
    return c if len(shape) == 2 else ops.broadcast_in_dim(c, list(shape), [len(shape) - 2, len(shape) - 1])


def _mT(x: ir.Value) -> ir.Value:
    r = len(shape_of(x))
    return ops.transpose(x, list(range(r - 2)) + [r - 1, r - 2])


def _matmul(a: ir.Value, b: ir.Value) -> ir.Value:
    """Batched a @ b over the leading dims (equal in a and b)."""
    r = len(shape_of(a))
    batch = list(range(r - 2))
    return ops.dot_general(a, b, (batch, batch), ([r - 1], [r - 2]))


def _zeros(shape, dtype) -> ir.Value:
    return ops.full(list(shape), 0, dtype)


# ---------------------------------------------------------------- loops of the lowerings

def _index(value: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), value).result


def _for(lo, hi, carried: list, body) -> list:
    """scf.for lo <= iv < hi carrying `carried`; body(iv, values) -> the new values."""
    lo = _index(lo) if isinstance(lo, int) else lo
    hi = _index(hi) if isinstance(hi, int) else hi
    loop = scf.ForOp(lo, hi, _index(1), carried)
    with ir.InsertionPoint(loop.body):
        scf.YieldOp(list(body(loop.induction_variable, list(loop.inner_iter_args))))
    return list(loop.results)


def _batch_loops(batch, carried: list, body) -> list:
    """scf.for nest over the batch indices carrying tensors; body(ivs, values) -> values."""
    def level(d, ivs, values):
        if d == len(batch):
            return body(ivs, values)
        return _for(0, batch[d], values, lambda iv, vs: level(d + 1, ivs + [iv], vs))
    return level(0, [], carried)


def _per_matrix(batch, inputs: list, carried: list, body, result: int) -> ir.Value:
    """Runs `body(b, inputs, values) -> values` once per matrix of the batch and returns the
    carried tensor numbered `result` (the others are the body's workspace). Every tensor of
    `inputs` and `carried` is `batch` + its own dims; the body indexes one matrix's elements
    as `b + [i, j]`.

    On the CPU an scf.for nest over the batch (b: its induction variables, the tensors whole).
    On CUDA (`TARGET`) that nest would run on the host, so the batch, flattened, is one
    scf.forall whose iterations the GPU pipeline maps to threads (scf-forall-to-parallel, then
    the mapping of every parallel loop). Each iteration runs the body on its own matrices,
    slices of the tensors (b = []), and writes its slice of the result back in parallel
    (tensor.parallel_insert_slice, in place after bufferization); a workspace starts as a slice
    of its initial value, which bufferization copies into a buffer of the iteration's own
    (`tfn-gpu-thread-buffers` keeps it out of the other threads' way).
    """
    if TARGET.get() != "cuda":
        return _batch_loops(batch, carried, lambda ivs, values: body(ivs, inputs, values))[result]
    count = builders.product(batch)
    rank = len(batch)
    flat_inputs, flat_carried = ([builders.reshape(t, [count] + builders.shape(t)[rank:]) for t in ts]
                                 for ts in (inputs, carried))
    # The result starts as a buffer of its own: CSE may have merged its initial value with
    # another op's (the same zeros), which bufferization would then copy per iteration.
    out = bufferization.AllocTensorOp(flat_carried[result].type, [], copy=flat_carried[result]).result
    # Mapped to GPU threads: a loop of one iteration (a single matrix) stays a loop, not
    # host code (canonicalization inlines unmapped ones).
    loop = scf.ForallOp([0], [count], [1], [out], mapping=ir.Attribute.parse("[#gpu.thread<x>]"))
    with ir.InsertionPoint(loop.body):
        iv = loop.induction_variables[0]
        shared = loop.inner_iter_args[0]
        matrices = [_matrix_of(t, iv) for t in flat_inputs]
        values = body([], matrices, [_matrix_of(shared if k == result else t, iv) for k, t in enumerate(flat_carried)])
        with ir.InsertionPoint(loop.terminator().block):
            tensor.ParallelInsertSliceOp(values[result], shared, [iv], [], [],
                                         *_slice_at(builders.shape(shared)[1:]))
    return builders.reshape(loop.results[0], list(batch) + builders.shape(loop.results[0])[1:])


def _slice_at(dims) -> tuple[list, list, list]:
    """Static offsets, sizes and strides of the slice `[iv, 0...][1, dims...]` (iv dynamic)."""
    return [ir.ShapedType.get_dynamic_size()] + [0] * len(dims), [1] + list(dims), [1] * (len(dims) + 1)


def _matrix_of(t: ir.Value, iv: ir.Value) -> ir.Value:
    """t[iv] of a tensor N x dims..., as a tensor of dims (rank-reduced)."""
    dims = builders.shape(t)[1:]
    result = ir.RankedTensorType.get(dims, builders.element_type(t))
    return tensor.ExtractSliceOp(result, t, [iv], [], [], *_slice_at(dims)).result


def _get(t, at):
    return tensor.ExtractOp(t, at).result


def _put(value, t, at):
    return tensor.InsertOp(value, t, at).result


def _plus1(iv):
    return arith.addi(iv, _index(1))


# ---------------------------------------------------------------- cholesky

def cholesky(a: ir.Value) -> ir.Value:
    """L lower with a = L L^T, read from a's lower triangle (NaN where a is not positive definite)."""
    _check_square("cholesky", a)
    return create("cholesky", [a], a.type)


def _jvp_cholesky(op, primals, tangents):
    (a,), (ta,) = primals, tangents
    if ta is None:
        return None
    L, shape, dt = op.result, shape_of(a), dtype_of(a)
    low = ops.mul(ta, _mask(shape, dt, 0, upper=False))
    sym = ops.add(low, _mT(ops.mul(ta, _mask(shape, dt, -1, upper=False))))     # S from a's lower triangle
    y = triangular_solve(L, sym, True, False, False)                              # L^-1 S
    x = triangular_solve(L, _mT(y), True, False, False)                           # L^-1 S L^-T (S symmetric)
    phi = ops.mul(x, _mask(shape, dt, 0, upper=False, diagonal=0.5))
    return _matmul(L, phi)


def _batch_cholesky(op, operands, bdims):
    return cholesky(bdim_at(operands[0], bdims[0], 0, batch_size(operands, bdims))), 0


def _lower_cholesky(op, a):
    s = builders.shape(a)
    batch, n = s[:-2], s[-1]
    elem = builders.element_type(a)
    zero = builders.scalar_constant(elem, 0)
    out = builders.fill(s, zero)

    def one(b, inputs, values):
        (a,) = inputs

        def column(j, vs):
            def dot_row(i, t, upto):   # sum_{k<upto} L[i,k] L[j,k]
                return _for(_index(0), upto, [zero], lambda k, acc: [arith.addf(acc[0], arith.mulf(
                    _get(t, b + [i, k]), _get(t, b + [j, k])))])[0]
            t = vs[0]
            d = math.sqrt(arith.subf(_get(a, b + [j, j]), dot_row(j, t, j)))
            t = _put(d, t, b + [j, j])

            def below(i, ws):
                v = arith.divf(arith.subf(_get(a, b + [i, j]), dot_row(i, ws[0], j)), d)
                return [_put(v, ws[0], b + [i, j])]
            return _for(_plus1(j), n, [t], below)
        return _for(0, n, values, column)
    return _per_matrix(batch, [a], [out], one, result=0)


BUILDERS["tfn.cholesky"] = cholesky
SHAPE_RULES["tfn.cholesky"] = lambda op, a: cholesky(a)
defjvp("tfn.cholesky", _jvp_cholesky, emits=["tfn.mul", "tfn.add", "tfn.transpose", "tfn.triangular_solve",
                                              "tfn.dot_general"])
BATCH_RULES["tfn.cholesky"] = _batch_cholesky
LOWERINGS["tfn.cholesky"] = _lower_cholesky


# ---------------------------------------------------------------- triangular_solve

def triangular_solve(a: ir.Value, b: ir.Value, lower: bool, transpose_a: bool, unit_diagonal: bool) -> ir.Value:
    """x with op(a) x = b (op(a) = a^T if transpose_a), a B... x n x n triangular, b B... x n x m."""
    batch, n = _check_square("triangular_solve", a)
    sb = shape_of(b)
    if tuple(sb[:-2]) != batch or len(sb) != len(batch) + 2 or sb[-2] != n or dtype_of(b) != dtype_of(a):
        fail("triangular_solve", f"b must have shape B... x n x m = {list(batch)} + [{n}, m] and a's dtype", a, b)
    flags = {k: ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(bool(v)))
             for k, v in (("lower", lower), ("transpose_a", transpose_a), ("unit_diagonal", unit_diagonal))}
    return create("triangular_solve", [a, b], b.type, flags)


def _flags(op) -> tuple[bool, bool, bool]:
    return tuple(bool(int_attr(op, k)) for k in ("lower", "transpose_a", "unit_diagonal"))


def _jvp_triangular_solve(op, primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    lower, trans, unit = _flags(op)
    x = op.result
    rhs = tb
    if ta is not None:       # -op(da) x, da restricted to the triangle the op reads
        strict = 1 if unit else 0          # a unit diagonal is not read
        da = ops.mul(ta, _mask(shape_of(a), dtype_of(a), -strict if lower else strict, upper=not lower))
        da = _mT(da) if trans else da
        rhs = add_any(rhs, ops.neg(_matmul(da, x)))
    return None if rhs is None else triangular_solve(a, rhs, lower, trans, unit)


def _t_triangular_solve(op, ct, operands, linear):
    assert not linear[0], "triangular_solve is linear in b only"
    lower, trans, unit = _flags(op)
    return [None, triangular_solve(operands[0], ct, lower, not trans, unit)]


def _batch_triangular_solve(op, operands, bdims):
    size = batch_size(operands, bdims)
    a, b = (bdim_at(v, d, 0, size) for v, d in zip(operands, bdims))
    return triangular_solve(a, b, *_flags(op)), 0


def _lower_triangular_solve(op, a, b):
    lower, trans, unit = _flags(op)
    sb = builders.shape(b)
    batch, n, m = sb[:-2], sb[-2], sb[-1]
    elem = builders.element_type(b)
    zero = builders.scalar_constant(elem, 0)
    forward = lower != trans        # op(a) lower: rows solved first to last

    def one(bi, inputs, values):
        a, b = inputs

        def A(i, k):                # op(a)[i, k]
            return _get(a, bi + ([k, i] if trans else [i, k]))

        def row(step, vs):
            i = step if forward else arith.subi(_index(n - 1), step)
            lo, hi = (_index(0), i) if forward else (_plus1(i), _index(n))

            def col(c, ws):
                acc = _for(lo, hi, [_get(b, bi + [i, c])], lambda k, s: [arith.subf(s[0], arith.mulf(
                    A(i, k), _get(ws[0], bi + [k, c])))])[0]
                v = acc if unit else arith.divf(acc, A(i, i))
                return [_put(v, ws[0], bi + [i, c])]
            return _for(0, m, vs, col)
        return _for(0, n, values, row)
    out = builders.fill(sb, zero)
    return _per_matrix(batch, [a, b], [out], one, result=0)


BUILDERS["tfn.triangular_solve"] = triangular_solve
SHAPE_RULES["tfn.triangular_solve"] = lambda op, a, b: triangular_solve(a, b, *_flags(op))
defjvp("tfn.triangular_solve", _jvp_triangular_solve,
       emits=["tfn.mul", "tfn.transpose", "tfn.dot_general", "tfn.neg", "tfn.add", "tfn.triangular_solve"])
TRANSPOSE_RULES["tfn.triangular_solve"] = _t_triangular_solve
BATCH_RULES["tfn.triangular_solve"] = _batch_triangular_solve
LOWERINGS["tfn.triangular_solve"] = _lower_triangular_solve


# ---------------------------------------------------------------- lu

def lu(a: ir.Value, part: str) -> ir.Value:
    """One part of a's LU factorization with partial pivoting (see the module's docstring)."""
    if part not in LU_PARTS:
        fail("lu", f"unknown part {part!r} (one of {', '.join(LU_PARTS)})")
    batch, n = _check_square("lu", a)
    t = a.type if part == "factors" else result_type_like(a, shape=batch + (n,), dtype=np.int32)
    return create("lu", [a], t, {"part": ir.StringAttr.get(part)})


def _permutation_matrix(perm: ir.Value, dtype) -> ir.Value:
    """P (B... x n x n) with (P x)[i] = x[perm[i]]: P[i, j] = perm[i] == j."""
    s = list(shape_of(perm))
    n, r = s[-1], len(s)
    rows = ops.broadcast_in_dim(perm, s + [n], list(range(r)))
    cols = ops.iota(s + [n], r, np.int32)
    return ops.convert(ops.compare("eq", rows, cols), dtype)


def _jvp_lu(op, primals, tangents):
    (a,), (ta,) = primals, tangents
    if ta is None or str_attr(op, "part") != "factors":
        return None
    packed, shape, dt = op.result, shape_of(a), dtype_of(a)
    x = _matmul(_permutation_matrix(lu(a, "permutation"), dt), ta)              # P da
    la = triangular_solve(packed, x, True, False, True)                           # L^-1 P da
    lau = _mT(triangular_solve(packed, _mT(la), False, True, False))              # L^-1 P da U^-1
    L = ops.add(ops.mul(packed, _mask(shape, dt, -1, upper=False)), _constant(np.eye(shape[-1]), shape, dt))
    U = ops.mul(packed, _mask(shape, dt, 0, upper=True))
    return ops.add(_matmul(L, ops.mul(lau, _mask(shape, dt, -1, upper=False))),
                   _matmul(ops.mul(lau, _mask(shape, dt, 0, upper=True)), U))


def _batch_lu(op, operands, bdims):
    return lu(bdim_at(operands[0], bdims[0], 0, batch_size(operands, bdims)), str_attr(op, "part")), 0


def _lower_lu(op, a):
    part = str_attr(op, "part")
    s = builders.shape(a)
    batch, n = s[:-2], s[-1]
    elem = builders.element_type(a)
    i32 = ir.IntegerType.get_signless(32)
    zero = builders.scalar_constant(elem, 0)
    as_i32 = lambda iv: arith.index_cast(i32, iv)   # noqa: E731
    # The factors start as a copy of a; the pivots as zeros, the permutation as 0..n-1.
    factors = builders.generic([a], builders.empty(s, elem), [ir.AffineMap.get_identity(len(s))] * 2,
                               [builders.PARALLEL] * len(s), lambda x, acc: x)
    piv = builders.fill(list(batch) + [n], builders.scalar_constant(i32, 0))
    perm = builders.generic([], builders.empty(list(batch) + [n], i32), [ir.AffineMap.get_identity(len(s) - 1)],
                            [builders.PARALLEL] * (len(s) - 1),
                            lambda acc: as_i32(linalg.IndexOp(len(s) - 2).result))

    def one(b, _, values):
        def step(k, vs):
            t, pv, pm = vs

            def search(i, best):     # first row of the largest |t[i, k]|, i >= k
                v = math.absf(_get(t, b + [i, k]))
                better = arith.cmpf(arith.CmpFPredicate.OGT, v, best[0])
                return [arith.select(better, v, best[0]), arith.select(better, i, best[1])]
            _, p = _for(k, n, [math.absf(_get(t, b + [k, k])), k], search)

            def swap(j, ws):
                x, y = _get(ws[0], b + [k, j]), _get(ws[0], b + [p, j])
                return [_put(x, _put(y, ws[0], b + [k, j]), b + [p, j])]
            t = _for(0, n, [t], swap)[0]
            pv = _put(as_i32(p), pv, b + [k])
            x, y = _get(pm, b + [k]), _get(pm, b + [p])
            pm = _put(x, _put(y, pm, b + [k]), b + [p])
            pivot = _get(t, b + [k, k])
            is_zero = arith.cmpf(arith.CmpFPredicate.OEQ, pivot, zero)

            def eliminate(i, ws):
                below = _get(ws[0], b + [i, k])
                l_ik = arith.select(is_zero, below, arith.divf(below, pivot))
                w = _put(l_ik, ws[0], b + [i, k])
                return _for(_plus1(k), n, [w], lambda j, us: [_put(arith.subf(
                    _get(us[0], b + [i, j]), arith.mulf(l_ik, _get(us[0], b + [k, j]))), us[0], b + [i, j])])
            t = _for(_plus1(k), n, [t], eliminate)[0]
            return [t, pv, pm]
        return _for(0, n, values, step)
    return _per_matrix(batch, [], [factors, piv, perm], one, result=LU_PARTS.index(part))


BUILDERS["tfn.lu"] = lu
SHAPE_RULES["tfn.lu"] = lambda op, a: lu(a, str_attr(op, "part"))
defjvp("tfn.lu", _jvp_lu, emits=["tfn.dot_general", "tfn.triangular_solve", "tfn.transpose", "tfn.mul", "tfn.add"])
BATCH_RULES["tfn.lu"] = _batch_lu
LOWERINGS["tfn.lu"] = _lower_lu


# ---------------------------------------------------------------- qr

def qr(a: ir.Value, part: str) -> ir.Value:
    """One factor of a's reduced QR (a: B... x m x n, m >= n): "q" (B... x m x n, orthonormal columns)
    or "r" (B... x n x n, upper triangular with a nonnegative diagonal: the unique factorization of a
    full-rank a, so the signs of Q's columns and R's rows may differ from LAPACK's)."""
    if part not in QR_PARTS:
        fail("qr", f"unknown part {part!r} (one of {', '.join(QR_PARTS)})")
    s = shape_of(a)
    if len(s) < 2 or s[-2] < s[-1]:
        fail("qr", f"expects B... x m x n matrices with m >= n, got shape {list(s)}", a)
    if dtype_of(a) not in (np.float32, np.float64):
        fail("qr", f"expects float32 or float64 matrices, got {dtype_of(a).name}", a)
    shape = s if part == "q" else tuple(s[:-2]) + (s[-1], s[-1])
    return create("qr", [a], result_type_like(a, shape=shape), {"part": ir.StringAttr.get(part)})


def _jvp_qr(op, primals, tangents):
    (a,), (ta,) = primals, tangents
    if ta is None:
        return None
    q, r = (op.result, qr(a, "r")) if str_attr(op, "part") == "q" else (qr(a, "q"), op.result)
    rs, dt = shape_of(r), dtype_of(a)
    dx_rinv = _mT(triangular_solve(r, _mT(ta), False, True, False))              # da R^-1
    qt_dx_rinv = _matmul(_mT(q), dx_rinv)
    low = ops.mul(qt_dx_rinv, _mask(rs, dt, -1, upper=False))
    do = ops.sub(low, _mT(low))                                                  # skew-symmetric
    if str_attr(op, "part") == "q":
        return ops.add(_matmul(q, ops.sub(do, qt_dx_rinv)), dx_rinv)
    return _matmul(ops.sub(qt_dx_rinv, do), r)


def _batch_qr(op, operands, bdims):
    return qr(bdim_at(operands[0], bdims[0], 0, batch_size(operands, bdims)), str_attr(op, "part")), 0


def _lower_qr(op, a):
    """Modified Gram-Schmidt: column k of Q is what is left of a's column k, normalized; the
    later columns lose their component along it (R's row k)."""
    s = builders.shape(a)
    batch, m, n = s[:-2], s[-2], s[-1]
    elem = builders.element_type(a)
    zero = builders.scalar_constant(elem, 0)
    v = builders.generic([a], builders.empty(s, elem), [ir.AffineMap.get_identity(len(s))] * 2,
                         [builders.PARALLEL] * len(s), lambda x, acc: x)
    q = builders.fill(s, zero)
    r = builders.fill(list(batch) + [n, n], zero)

    def one(b, _, values):
        def column(k, vs):
            v, q, r = vs
            norm = math.sqrt(_for(0, m, [zero], lambda i, acc: [arith.addf(acc[0], arith.mulf(
                _get(v, b + [i, k]), _get(v, b + [i, k])))])[0])
            r = _put(norm, r, b + [k, k])
            q = _for(0, m, [q], lambda i, ws: [_put(arith.divf(_get(v, b + [i, k]), norm), ws[0], b + [i, k])])[0]

            def later(j, ws):
                v, r = ws
                r_kj = _for(0, m, [zero], lambda i, acc: [arith.addf(acc[0], arith.mulf(
                    _get(q, b + [i, k]), _get(v, b + [i, j])))])[0]
                v = _for(0, m, [v], lambda i, us: [_put(arith.subf(_get(us[0], b + [i, j]), arith.mulf(
                    r_kj, _get(q, b + [i, k]))), us[0], b + [i, j])])[0]
                return [v, _put(r_kj, r, b + [k, j])]
            v, r = _for(_plus1(k), n, [v, r], later)
            return [v, q, r]
        return _for(0, n, values, column)
    return _per_matrix(batch, [], [v, q, r], one, result=1 + QR_PARTS.index(str_attr(op, "part")))


BUILDERS["tfn.qr"] = qr
SHAPE_RULES["tfn.qr"] = lambda op, a: qr(a, str_attr(op, "part"))
defjvp("tfn.qr", _jvp_qr, emits=["tfn.transpose", "tfn.triangular_solve", "tfn.dot_general", "tfn.mul", "tfn.sub",
                                 "tfn.add"])
BATCH_RULES["tfn.qr"] = _batch_qr
LOWERINGS["tfn.qr"] = _lower_qr

# ---------------------------------------------------------------- eigh

def eigh(a: ir.Value, part: str) -> ir.Value:
    """One part of the eigendecomposition a = V diag(w) V^T of a symmetric a (B... x n x n; the whole
    matrix is read, so it must be symmetric): "eigenvalues" (B... x n, ascending) or "eigenvectors"
    (B... x n x n, orthonormal columns, each column's sign arbitrary)."""
    if part not in EIGH_PARTS:
        fail("eigh", f"unknown part {part!r} (one of {', '.join(EIGH_PARTS)})")
    batch, n = _check_square("eigh", a)
    t = a.type if part == "eigenvectors" else result_type_like(a, shape=batch + (n,))
    return create("eigh", [a], t, {"part": ir.StringAttr.get(part)})


def _jvp_eigh(op, primals, tangents):
    """JAX's eigh_jvp_rule: with M = V^T da V, dw = diag(M) and dV = V (F o M),
    F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it (da symmetric, as a)."""
    (a,), (ta,) = primals, tangents
    if ta is None:
        return None
    shape, dt = shape_of(a), dtype_of(a)
    v = op.result if str_attr(op, "part") == "eigenvectors" else eigh(a, "eigenvectors")
    m = _matmul(_mT(v), _matmul(ta, v))
    if str_attr(op, "part") == "eigenvalues":
        return ops.reduce_sum(ops.mul(m, _constant(np.eye(shape[-1]), shape, dt)), [len(shape) - 1])
    w = eigh(a, "eigenvalues")
    r = len(shape)
    wj = ops.broadcast_in_dim(w, list(shape), list(range(r - 2)) + [r - 1])
    wi = ops.broadcast_in_dim(w, list(shape), list(range(r - 1)))
    eye = _constant(np.eye(shape[-1]), shape, dt)
    f = ops.sub(ops.div(ops.full(list(shape), 1, dt), ops.add(eye, ops.sub(wj, wi))), eye)
    return _matmul(v, ops.mul(f, m))


def _batch_eigh(op, operands, bdims):
    return eigh(bdim_at(operands[0], bdims[0], 0, batch_size(operands, bdims)), str_attr(op, "part")), 0


JACOBI_SWEEPS = 16


def _lower_eigh(op, a):
    """Cyclic Jacobi: JACOBI_SWEEPS sweeps of plane rotations zeroing a[p, q] for every p < q (each
    sweep roughly squares the off-diagonal norm), then the eigenvalues sorted ascending with their
    columns of V (selection sort)."""
    s = builders.shape(a)
    batch, n = s[:-2], s[-1]
    elem = builders.element_type(a)
    zero, one = builders.scalar_constant(elem, 0), builders.scalar_constant(elem, 1)
    two = builders.scalar_constant(elem, 2)
    t0 = builders.generic([a], builders.empty(s, elem), [ir.AffineMap.get_identity(len(s))] * 2,
                          [builders.PARALLEL] * len(s), lambda x, acc: x)
    v0 = builders.generic([], builders.empty(s, elem), [ir.AffineMap.get_identity(len(s))],
                          [builders.PARALLEL] * len(s), lambda acc: arith.select(
                              arith.cmpi(arith.CmpIPredicate.eq, linalg.IndexOp(len(s) - 2).result,
                                         linalg.IndexOp(len(s) - 1).result), one, zero))
    w0 = builders.fill(list(batch) + [n], zero)

    def one_matrix(b, _, values):
        def rotate(p, q, vs):
            t, v = vs
            apq = _get(t, b + [p, q])
            app, aqq = _get(t, b + [p, p]), _get(t, b + [q, q])
            nonzero = arith.cmpf(arith.CmpFPredicate.ONE, apq, zero)
            safe = arith.select(nonzero, apq, one)
            tau = arith.divf(arith.subf(aqq, app), arith.mulf(two, safe))
            sgn = arith.select(arith.cmpf(arith.CmpFPredicate.OLT, tau, zero), builders.scalar_constant(elem, -1), one)
            tt = arith.divf(sgn, arith.addf(math.absf(tau), math.sqrt(arith.addf(one, arith.mulf(tau, tau)))))
            c = arith.divf(one, math.sqrt(arith.addf(one, arith.mulf(tt, tt))))
            sn = arith.mulf(tt, c)
            c, sn = arith.select(nonzero, c, one), arith.select(nonzero, sn, zero)

            def pair(x, y):
                return arith.subf(arith.mulf(c, x), arith.mulf(sn, y)), arith.addf(arith.mulf(sn, x), arith.mulf(c, y))

            def columns(k, ws):
                t, v = ws
                x, y = pair(_get(t, b + [k, p]), _get(t, b + [k, q]))
                t = _put(y, _put(x, t, b + [k, p]), b + [k, q])
                x, y = pair(_get(v, b + [k, p]), _get(v, b + [k, q]))
                v = _put(y, _put(x, v, b + [k, p]), b + [k, q])
                return [t, v]

            def rows(k, ws):
                x, y = pair(_get(ws[0], b + [p, k]), _get(ws[0], b + [q, k]))
                return [_put(y, _put(x, ws[0], b + [p, k]), b + [q, k])]
            t, v = _for(0, n, [t, v], columns)
            t = _for(0, n, [t], rows)[0]
            return [t, v]

        def sweep(_, vs):
            return _for(0, n, vs, lambda p, ws: _for(_plus1(p), n, ws, lambda q, us: rotate(p, q, us)))
        t, v, w = values
        t, v = _for(0, JACOBI_SWEEPS, [t, v], sweep)
        w = _for(0, n, [w], lambda i, ws: [_put(_get(t, b + [i, i]), ws[0], b + [i])])[0]

        def select_min(i, ws):     # swap the smallest of w[i:] (and its column of v) into place i
            w, v = ws
            lo, at = _for(_plus1(i), n, [_get(w, b + [i]), i], lambda j, best: [
                arith.select(arith.cmpf(arith.CmpFPredicate.OLT, _get(w, b + [j]), best[0]), _get(w, b + [j]), best[0]),
                arith.select(arith.cmpf(arith.CmpFPredicate.OLT, _get(w, b + [j]), best[0]), j, best[1])])
            w = _put(lo, _put(_get(w, b + [i]), w, b + [at]), b + [i])
            v = _for(0, n, [v], lambda k, us: [_put(_get(us[0], b + [k, at]), _put(
                _get(us[0], b + [k, i]), us[0], b + [k, at]), b + [k, i])])[0]
            return [w, v]
        w, v = _for(0, n, [w, v], select_min)
        return [t, v, w]
    part = str_attr(op, "part")
    return _per_matrix(batch, [], [t0, v0, w0], one_matrix, result=2 if part == "eigenvalues" else 1)


BUILDERS["tfn.eigh"] = eigh
SHAPE_RULES["tfn.eigh"] = lambda op, a: eigh(a, str_attr(op, "part"))
defjvp("tfn.eigh", _jvp_eigh, emits=["tfn.transpose", "tfn.dot_general", "tfn.mul", "tfn.reduce_sum"])
BATCH_RULES["tfn.eigh"] = _batch_eigh
LOWERINGS["tfn.eigh"] = _lower_eigh

LINALG_OPS = ("cholesky", "triangular_solve", "lu", "qr", "eigh")

__all__ = [*LINALG_OPS, "LINALG_OPS", "LU_PARTS", "QR_PARTS", "EIGH_PARTS"]
