"""`conv_general_dilated`: XLA's convolution in one canonical layout.

Layout: lhs (N, C, spatial...), rhs (O, I, spatial...), result (N, O, spatial...);
`tfn.lax` transposes other dimension numbers into it. Attributes, one entry per
spatial dim: `window_strides`, `padding_low`/`padding_high` (negative: cropped),
`lhs_dilation` (holes between input elements: a transposed convolution),
`rhs_dilation` (holes between kernel taps: atrous); and `feature_group_count` G
(C = G·I, O = G·O_g: group g of the outputs reads group g of the input channels) and
`batch_group_count` B (N = B·N', O = B·O_b: group b of the outputs reads lhs batch
rows b·N' ... (b+1)·N' - 1), at most one of them above 1 (as in XLA).

The op is bilinear: its JVP is the product rule. Each transpose is another
convolution, as in JAX: the lhs cotangent convolves the result's cotangent with the
spatially reversed kernel (in/out features swapped, window strides become lhs
dilation), the rhs cotangent convolves the input with the result's cotangent (batch
and feature dims swapped, window strides become rhs dilation); feature groups of one
become batch groups of the other. Batching never loops: a batched lhs folds into N, a
batched rhs into O with one more feature (or batch) group per batch element, both
into the groups.

Lowering: the input is padded and dilated once (a gather). On the CPU, at stride 1, a
convolution with 16+ input channels per group is one gemm per kernel tap on shifted views
of the input copied channel-major (`_lower_shifted`), and one with a single input channel per group and a
kernel larger than its output (a per-sample weight gradient) one batched gemm per output
position (`_lower_per_position`): neither copies windows. Otherwise (im2col) its windows are
copied into a (groups, I·kernel_spatial, N'·out_spatial) matrix by one affine
`linalg.generic` (output positions innermost, so the copy moves rows), and the kernel
is contracted with it by `dot_general`'s lowering (a BLAS gemm per group for floats),
then laid out as (N, O, spatial...) (no copy when N' = 1, as in per-sample gradients).

    >>> ConvDims((1, 1), (0, 0), (1, 0), (1, 1), (1, 1), 1, 1).out_spatial((5, 5), (3, 3))
    [4, 3]
"""
from __future__ import annotations

import itertools
from typing import Sequence

from mlir import ir

from tfn import ops  # builders of every family, read when a rule runs
from tfn.autodiff.rules import TRANSPOSE_RULES, add_any, defjvp, zeros_like
from tfn.batching.rules import BATCH_RULES, moveaxis
from tfn.dialect.core import BUILDERS, create, fail, i64_array, i64_attr, int_array, int_attr, result_type_like
from tfn.dialect.types import dtype_of, shape_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import LOWERINGS, TARGET, LazyModule, arith, builders, linalg, tensor
from tfn.ops.dot_general import DotDims, lower_contraction

contraction = LazyModule("tfn.lowering.contraction")


def _dilate(n: int, d: int) -> int:
    return 0 if n == 0 else 1 + d * (n - 1)


class ConvDims:
    """Window attributes of one convolution, one entry per spatial dim, and its group counts."""
    __slots__ = ("strides", "low", "high", "lhs_dilation", "rhs_dilation", "feature_groups", "batch_groups")

    def __init__(self, strides, low, high, lhs_dilation, rhs_dilation, feature_groups: int, batch_groups: int):
        self.strides, self.low, self.high = tuple(strides), tuple(low), tuple(high)
        self.lhs_dilation, self.rhs_dilation = tuple(lhs_dilation), tuple(rhs_dilation)
        self.feature_groups, self.batch_groups = int(feature_groups), int(batch_groups)

    @classmethod
    def from_op(cls, op: ir.Operation) -> ConvDims:
        return cls(int_array(op, "window_strides"), int_array(op, "padding_low"), int_array(op, "padding_high"),
                   int_array(op, "lhs_dilation"), int_array(op, "rhs_dilation"),
                   int_attr(op, "feature_group_count"), int_attr(op, "batch_group_count"))

    @property
    def padding(self) -> list[tuple[int, int]]:
        return list(zip(self.low, self.high))

    def out_spatial(self, lhs_spatial: Sequence[int], rhs_spatial: Sequence[int]) -> list[int]:
        out = []
        for n, k, s, lo, hi, ld, rd in zip(lhs_spatial, rhs_spatial, self.strides, self.low, self.high,
                                           self.lhs_dilation, self.rhs_dilation):
            padded, window = _dilate(n, ld) + lo + hi, _dilate(k, rd)
            out.append(max(0, (padded - window) // s + 1) if padded >= window else 0)
        return out

    def __repr__(self) -> str:
        return (f"ConvDims(strides={self.strides}, padding={self.padding}, lhs_dilation={self.lhs_dilation}, "
                f"rhs_dilation={self.rhs_dilation}, feature_groups={self.feature_groups}, "
                f"batch_groups={self.batch_groups})")


def conv_general_dilated(lhs: ir.Value, rhs: ir.Value, window_strides: Sequence[int],
                         padding: Sequence[tuple[int, int]], lhs_dilation: Sequence[int] | None = None,
                         rhs_dilation: Sequence[int] | None = None, feature_group_count: int = 1,
                         batch_group_count: int = 1) -> ir.Value:
    """lhs (N, C, spatial...) convolved with rhs (O, I, spatial...): (N / batch groups, O, spatial...).

    ```mlir
    // conv2d, stride 2, one row of zeros above and left
    %y = "tfn.conv_general_dilated"(%x, %w) {window_strides = array<i64: 2, 2>,
           padding_low = array<i64: 1, 1>, padding_high = array<i64: 0, 0>,
           lhs_dilation = array<i64: 1, 1>, rhs_dilation = array<i64: 1, 1>,
           feature_group_count = 1 : i64, batch_group_count = 1 : i64}
         : (tensor<8x3x28x28xf32>, tensor<16x3x3x3xf32>) -> tensor<8x16x14x14xf32>
    ```
    """
    a, b = shape_of(lhs), shape_of(rhs)
    ns = len(a) - 2
    lhs_dilation = [1] * ns if lhs_dilation is None else lhs_dilation
    rhs_dilation = [1] * ns if rhs_dilation is None else rhs_dilation
    try:
        dims = ConvDims([int(s) for s in window_strides], [int(p[0]) for p in padding], [int(p[1]) for p in padding],
                        [int(d) for d in lhs_dilation], [int(d) for d in rhs_dilation],
                        feature_group_count, batch_group_count)
    except (TypeError, IndexError):
        fail("conv_general_dilated", f"bad window attributes strides={window_strides} padding={padding}", lhs, rhs)
    g, bg = dims.feature_groups, dims.batch_groups
    problems = []
    if len(a) < 3 or len(b) != len(a):
        problems.append("operands need rank >= 3 and equal ranks")
    elif not all(len(v) == ns for v in (dims.strides, dims.low, dims.high, dims.lhs_dilation, dims.rhs_dilation)):
        problems.append(f"window attributes need {ns} entries")
    elif min(dims.strides + dims.lhs_dilation + dims.rhs_dilation) < 1 or g < 1 or bg < 1:
        problems.append("strides, dilations and group counts must be >= 1")
    elif g > 1 and bg > 1:
        problems.append("at most one of feature_group_count and batch_group_count may exceed 1")
    elif a[1] != b[1] * g:
        problems.append(f"lhs features {a[1]} != rhs input features {b[1]} * feature_group_count {g}")
    elif b[0] % g or b[0] % bg or a[0] % bg:
        problems.append(f"group counts ({g}, {bg}) must divide the output features {b[0]}"
                        + (f" and the batch {a[0]}" if bg > 1 else ""))
    elif dtype_of(lhs) != dtype_of(rhs):
        problems.append("operand dtypes differ")
    if problems:
        fail("conv_general_dilated", problems[0], lhs, rhs)
    out = [a[0] // bg, b[0]] + dims.out_spatial(a[2:], b[2:])
    return create("conv_general_dilated", [lhs, rhs], result_type_like(lhs, shape=out),
                  {"window_strides": i64_array(dims.strides), "padding_low": i64_array(dims.low),
                   "padding_high": i64_array(dims.high), "lhs_dilation": i64_array(dims.lhs_dilation),
                   "rhs_dilation": i64_array(dims.rhs_dilation),
                   "feature_group_count": i64_attr(g), "batch_group_count": i64_attr(bg)})


def _conv(lhs, rhs, d: ConvDims):
    return conv_general_dilated(lhs, rhs, d.strides, d.padding, d.lhs_dilation, d.rhs_dilation,
                                d.feature_groups, d.batch_groups)


# ---------------------------------------------------------------- helpers on tfn values

def _axis_out_of(x, dim: int, k: int):
    """Splits dim `dim` (size k·m) into (k, m)."""
    s = list(shape_of(x))
    return ops.reshape(x, s[:dim] + [k, s[dim] // k] + s[dim + 1:])


def _axis_into(x, src: int, dst: int):
    """Merges dim `src` into dim `dst`, `src` the major part; the result has one dim less."""
    rank = len(shape_of(x))
    perm = [d for d in range(rank) if d != src]
    at = perm.index(dst)
    perm.insert(at, src)
    y = ops.transpose(x, perm)
    s = list(shape_of(y))
    return ops.reshape(y, s[:at] + [s[at] * s[at + 1]] + s[at + 2:])


def _reverse(x, dims: Sequence[int]):
    """x reversed along `dims`: unit slices joined in reverse order (exact for every value)."""
    for d in dims:
        s = shape_of(x)
        if s[d] <= 1:
            continue
        pieces = [ops.slice(x, [j if i == d else 0 for i in range(len(s))],
                            [j + 1 if i == d else n for i, n in enumerate(s)]) for j in range(s[d])]
        out = pieces[-1]
        for piece in reversed(pieces[:-1]):
            out = ops.concatenate(out, piece, d)
        x = out
    return x


def _swap01(x):
    return ops.transpose(x, [1, 0] + list(range(2, len(shape_of(x)))))


# ---------------------------------------------------------------- autodiff

def _jvp_conv(op, primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    d = ConvDims.from_op(op)
    return add_any(None if ta is None else _conv(ta, b, d), None if tb is None else _conv(a, tb, d))


def _transpose_lhs(ct, lhs_shape, rhs, d: ConvDims):
    """The lhs cotangent: ct convolved with the reversed kernel, in/out features swapped."""
    g, bg = d.feature_groups, d.batch_groups
    groups = max(g, bg)
    w = shape_of(rhs)
    ns = len(w) - 2
    # rhs_t[grp·I + i, o, k] = rhs[grp·O_grp + o, i, k]: (groups·I, O / groups, spatial)
    if groups > 1:
        split = _axis_out_of(rhs, 0, groups)                       # (groups, O_grp, I, k)
        split = ops.transpose(split, [0, 2, 1] + list(range(3, ns + 3)))
        rhs_t = ops.reshape(split, [groups * w[1], w[0] // groups] + list(w[2:]))
    else:
        rhs_t = _swap01(rhs)
    in_sp, k_sp, out_sp = lhs_shape[2:], w[2:], shape_of(ct)[2:]
    low, high = [], []
    for n, k, o, lo, s, ld, rd in zip(in_sp, k_sp, out_sp, d.low, d.strides, d.lhs_dilation, d.rhs_dilation):
        before = _dilate(k, rd) - lo - 1
        low.append(before)
        high.append(_dilate(n, ld) + _dilate(k, rd) - 1 - _dilate(o, s) - before)
    t = ConvDims(d.lhs_dilation, low, high, d.strides, d.rhs_dilation, groups, 1)
    out = _conv(ct, _reverse(rhs_t, range(2, 2 + ns)), t)
    if bg > 1:   # (N', B·C, x) -> (B·N', C, x)
        out = _axis_into(_axis_out_of(out, 1, bg), 1, 0)
    return out


def _transpose_rhs(ct, lhs, rhs_shape, d: ConvDims):
    """The rhs cotangent: lhs (batch and feature dims swapped) convolved with ct (likewise)."""
    g, bg = d.feature_groups, d.batch_groups
    in_sp, k_sp, out_sp = shape_of(lhs)[2:], rhs_shape[2:], shape_of(ct)[2:]
    high = []
    for n, k, o, lo, s, ld, rd in zip(in_sp, k_sp, out_sp, d.low, d.strides, d.lhs_dilation, d.rhs_dilation):
        high.append(_dilate(o, s) - _dilate(n, ld) + _dilate(k, rd) - lo - 1)
    t = ConvDims(d.rhs_dilation, d.low, high, d.lhs_dilation, d.strides, bg, g)
    return _swap01(_conv(_swap01(lhs), _swap01(ct), t))   # (I, O, k) -> (O, I, k)


def _t_conv(op, ct, operands, linear):
    a, b = operands   # the primal operand (None: linear, the one being transposed)
    d = ConvDims.from_op(op)
    a_shape, b_shape = shape_of(op.operands[0]), shape_of(op.operands[1])
    if 0 in shape_of(ct):
        return [zeros_like(op.operands[0]) if linear[0] else None, zeros_like(op.operands[1]) if linear[1] else None]
    ct_a = _transpose_lhs(ct, a_shape, b, d) if linear[0] else None
    ct_b = _transpose_rhs(ct, a, b_shape, d) if linear[1] else None
    return [ct_a, ct_b]


# ---------------------------------------------------------------- batching

def _batch_conv(op, operands, bdims):
    (lhs, rhs), (ld, rd) = operands, bdims
    d = ConvDims.from_op(op)
    g, bg = d.feature_groups, d.batch_groups
    if ld is not None and rd is not None:
        lhs, rhs = moveaxis(lhs, ld, 0), moveaxis(rhs, rd, 0)
        size = shape_of(lhs)[0]
        if bg > 1:   # one more batch group per batch element
            new_lhs, new = _axis_into(lhs, 0, 1), ConvDims(d.strides, d.low, d.high, d.lhs_dilation,
                                                           d.rhs_dilation, g, bg * size)
        else:        # one more feature group per batch element
            new_lhs, new = _axis_into(lhs, 0, 2), ConvDims(d.strides, d.low, d.high, d.lhs_dilation,
                                                           d.rhs_dilation, g * size, bg)
        out = _conv(new_lhs, _axis_into(rhs, 0, 1), new)
        return _axis_out_of(out, 1, size), 1
    if ld is not None:
        lhs = moveaxis(lhs, ld, 0)
        size = shape_of(lhs)[0]
        if bg > 1:   # N = (B, N'): the vmapped dim goes inside the batch groups
            lhs = _axis_into(_axis_out_of(lhs, 1, bg), 1, 0)            # (B·size, N', ...)
            lhs = ops.reshape(lhs, [shape_of(lhs)[0] * shape_of(lhs)[1]] + list(shape_of(lhs)[2:]))
        else:
            lhs = _axis_into(lhs, 0, 1)
        return _axis_out_of(_conv(lhs, rhs, d), 0, size), 0
    rhs = moveaxis(rhs, rd, 0)
    size = shape_of(rhs)[0]
    groups = max(g, bg)
    # (size, O, ...) -> (groups, size, O_grp, ...) -> (groups·size·O_grp, ...)
    r = _axis_out_of(rhs, 1, groups)
    r = ops.transpose(r, [1, 0] + list(range(2, len(shape_of(r)))))
    sr = list(shape_of(r))
    r = ops.reshape(r, [sr[0] * sr[1] * sr[2]] + sr[3:])
    out = _conv(lhs, r, d)       # the same groups, each size times wider: (N', groups·size·O_grp, y)
    so = list(shape_of(out))
    out = ops.reshape(out, [so[0], groups, size, so[1] // (groups * size)] + so[2:])
    out = ops.transpose(out, [2, 0, 1, 3] + list(range(4, len(so) + 2)))
    so = list(shape_of(out))
    return ops.reshape(out, [so[0], so[1], so[2] * so[3]] + so[4:]), 0


# ---------------------------------------------------------------- lowering

def _index(value: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), value).result


def _pad_dilate(x, low, high, dilation):
    """x (N, C, spatial...) with `low`/`high` zeros around each spatial dim and `dilation - 1`
    zeros between its elements: one gather."""
    src = builders.shape(x)
    elem = builders.element_type(x)
    out = src[:2] + [lo + hi + _dilate(n, d) for n, lo, hi, d in zip(src[2:], low, high, dilation)]
    rank = len(out)

    def compute(acc):
        idx = [linalg.IndexOp(i).result for i in range(rank)]
        inside, at = None, idx[:2]
        for i, n, lo, step in zip(idx[2:], src[2:], low, dilation):
            rel = arith.subi(i, _index(lo)) if lo else i
            ok = arith.andi(arith.cmpi(arith.CmpIPredicate.sge, rel, _index(0)),
                            arith.cmpi(arith.CmpIPredicate.slt, rel, _index(_dilate(n, step))))
            if step > 1:
                ok = arith.andi(ok, arith.cmpi(arith.CmpIPredicate.eq, arith.remsi(rel, _index(step)), _index(0)))
                rel = arith.divsi(rel, _index(step))
            at.append(arith.minsi(arith.maxsi(rel, _index(0)), _index(n - 1)))
            inside = ok if inside is None else arith.andi(inside, ok)
        read = tensor.ExtractOp(x, at).result
        return arith.select(inside, read, builders.scalar_constant(elem, 0))
    return builders.generic([], builders.empty(out, elem), [ir.AffineMap.get_identity(rank)],
                            [builders.PARALLEL] * rank, compute)


# The shifted-gemm form needs this many input channels per group (the gemms' k; below it
# the im2col gemm, whose k is channels x taps, does better) and outputs filling at least half
# of the padded input (it computes every column of the padded planes), and emits at most this
# many gemms (taps x groups).
SHIFTED_MIN_CHANNELS, SHIFTED_MAX_GEMMS = 16, 64


def _slice(x, offsets, sizes, result_dims=None):
    """tensor.extract_slice of x at static `offsets`/`sizes`, unit strides; `result_dims`
    drops unit dims (a rank-reducing slice)."""
    t = ir.RankedTensorType.get(list(result_dims or sizes), builders.element_type(x))
    return tensor.ExtractSliceOp(t, x, [], [], [], offsets, sizes, [1] * len(sizes)).result


def _insert(part, into, offsets):
    sizes = builders.shape(part)
    return tensor.InsertSliceOp(part, into, [], [], [], offsets, sizes, [1] * len(sizes)).result


def _flat_positions(padded_spatial, out_spatial) -> int:
    """Flat index + 1 of the last output position on the padded input's rows (stride 1)."""
    ns = len(padded_spatial)
    return sum((y - 1) * builders.product(padded_spatial[j + 1:]) for j, y in enumerate(out_spatial[:ns])) + 1


def _wants_shifted(d: ConvDims, xs, ws, out_dims, elem) -> bool:
    """`xs`: the padded input's shape."""
    groups = d.feature_groups * d.batch_groups
    return (TARGET.get() == "cpu" and isinstance(elem, (ir.F32Type, ir.F64Type)) and all(s == 1 for s in d.strides)
            and ws[1] >= SHIFTED_MIN_CHANNELS and builders.product(ws[2:]) * groups <= SHIFTED_MAX_GEMMS
            and 2 * builders.product(out_dims[2:]) >= builders.product(xs[2:]))


def _lower_shifted(d: ConvDims, x, w, offset, out_dims, elem):
    """A stride-1 convolution as one gemm per kernel tap (and group), no im2col.

    The (padded) input is copied channel-major, (C, N x plane) with each sample's spatial dims
    flattened, so output position y of sample n reads column n·plane + y + tap: tap k's
    contribution to every output of every sample is one gemm of the tap's weights w[:, :, k]
    (O x I) with a view of those rows shifted by k's flat offset. The gemm runs over whole
    padded planes (columns past the output's rows and width are computed and dropped), wide
    enough for BLAS's threads; the taps accumulate into one (O, N x plane) buffer, which one
    copy crops into (N, O, spatial...) (it fuses with an elementwise consumer). No window copy
    the size of (taps x input) to write and fault in.
    """
    xs, ws = builders.shape(x), builders.shape(w)
    ns = len(xs) - 2
    g, bg = d.feature_groups, d.batch_groups
    groups, n_out, cin, cout = g * bg, xs[0] // bg, ws[1], ws[0]
    o_grp = cout // groups
    ps, ysp, ksp = xs[2:], out_dims[2:], ws[2:]
    pstride = [builders.product(ps[j + 1:]) for j in range(ns)]
    plane = builders.product(ps)
    width = (n_out - 1) * plane + _flat_positions(ps, ysp)   # columns of one group's gemm
    xc = builders.reshape(contraction.transpose(builders.reshape(x, xs[:2] + [plane]), [1, 0, 2]),
                          [xs[1], xs[0] * plane])
    # taps as (taps, O, I) matrices: tap k's weights w[:, :, k] are one contiguous block
    wt = builders.reshape(contraction.transpose(w, list(range(2, 2 + ns)) + [0, 1]),
                          [builders.product(ksp), cout, cin])
    maps = [builders.affine_map(3, [0, 2]), builders.affine_map(3, [2, 1]), builders.affine_map(3, [0, 1])]
    acc = builders.fill([cout, width], builders.scalar_constant(elem, 0))
    for t in range(groups):
        part = acc if groups == 1 else _slice(acc, [t * o_grp, 0], [o_grp, width])
        for k, tap in enumerate(itertools.product(*[range(n) for n in ksp])):
            at = sum((j * r + o) * s for j, r, o, s in zip(tap, d.rhs_dilation, offset, pstride))
            a = _slice(wt, [k, t * o_grp, 0], [1, o_grp, cin], [o_grp, cin])
            b = _slice(xc, [t * cin if g > 1 else 0, (t * n_out * plane if bg > 1 else 0) + at], [cin, width])
            part = contraction.matmul_op(linalg.MatmulOp, a, b, part, maps)
        acc = part if groups == 1 else _insert(part, acc, [t * o_grp, 0])
    # (O, N x plane) -> (N, O, spatial...): output y of sample n is column n·plane + sum(y_j * pstride_j)
    rank = len(out_dims)
    dim = ir.AffineDimExpr.get
    flat = dim(0) * plane
    for j in range(ns):
        flat = flat + dim(2 + j) * pstride[j]
    read = ir.AffineMap.get(rank, 0, [dim(1), flat])
    return builders.generic([acc], builders.empty(out_dims, elem), [read, ir.AffineMap.get_identity(rank)],
                            [builders.PARALLEL] * rank, lambda v, out: v)


def _wants_per_position(d: ConvDims, xs, ws, out_dims, elem) -> bool:
    return (TARGET.get() == "cpu" and isinstance(elem, (ir.F32Type, ir.F64Type)) and all(s == 1 for s in d.strides)
            and ws[1] == 1 and xs[0] // d.batch_groups >= SHIFTED_MIN_CHANNELS // 2
            and builders.product(out_dims[2:]) <= min(SHIFTED_MAX_GEMMS, builders.product(ws[2:])))


def _lower_per_position(d: ConvDims, x, w, offset, out_dims, elem):
    """A stride-1 convolution with one input channel per group, a kernel larger than its output
    (a per-sample weight gradient: the input convolved with the output's cotangent), as one
    batched gemm per output position, batched over the groups, no im2col.

    The kernel is laid out on the (padded) input's rows (zeros between its rows and taps), so
    output position y of group t is (N x span) rows of the input, read at y's flat offset, times
    the kernel's (O_grp x span) rows: a gemm contracting over the window's span.
    """
    xs, ws = builders.shape(x), builders.shape(w)
    ns = len(xs) - 2
    g, bg = d.feature_groups, d.batch_groups
    groups, n_out, cout = g * bg, xs[0] // bg, ws[0]
    o_grp = cout // groups
    ps, ysp, ksp = xs[2:], out_dims[2:], ws[2:]
    pstride = [builders.product(ps[j + 1:]) for j in range(ns)]
    plane, ny = builders.product(ps), builders.product(ysp)
    span = sum((k - 1) * r * s for k, r, s in zip(ksp, d.rhs_dilation, pstride)) + 1
    # the kernel on the input's rows: w (O, 1, k...) -> (groups, O_grp, span)
    high = [0] + [p - _dilate(k, r) for p, k, r in zip(ps[1:], ksp[1:], d.rhs_dilation[1:])]
    if any(high) or any(r > 1 for r in d.rhs_dilation):
        w = _pad_dilate(w, [0] * ns, high, d.rhs_dilation)
    rows = builders.product(builders.shape(w)[2:])
    kp = _slice(builders.reshape(w, [groups, o_grp, rows]), [0, 0, 0], [groups, o_grp, span])
    # the input as (groups, N, plane): group t's rows
    if bg > 1:
        xg = builders.reshape(x, [groups, n_out, plane])
    else:
        xg = contraction.transpose(builders.reshape(x, [n_out, groups, plane]), [1, 0, 2])
    # (b, m, n, k): input rows (b, m, k) times kernel rows (b, n, k) into (b, m, n)
    maps = [builders.affine_map(4, [0, 1, 3]), builders.affine_map(4, [0, 2, 3]), builders.affine_map(4, [0, 1, 2])]
    acc = builders.fill([ny, groups, n_out, o_grp], builders.scalar_constant(elem, 0))
    for k, y in enumerate(itertools.product(*[range(n) for n in ysp])):
        at = sum((j + o) * s for j, o, s in zip(y, offset, pstride))
        part = _slice(acc, [k, 0, 0, 0], [1, groups, n_out, o_grp], [groups, n_out, o_grp])
        a = _slice(xg, [0, 0, at], [groups, n_out, span])
        part = contraction.matmul_op(linalg.BatchMatmulOp, a, kp, part, maps)
        acc = tensor.InsertSliceOp(part, acc, [], [], [], [k, 0, 0, 0], [1, groups, n_out, o_grp], [1] * 4).result
    # (y, groups, N, O_grp) -> (N, groups, O_grp, y...) = (N, O, y...)
    rank = 3 + ns
    dim = ir.AffineDimExpr.get
    ystride = [builders.product(ysp[j + 1:]) for j in range(ns)]
    flat = dim(3) * ystride[0]
    for j in range(1, ns):
        flat = flat + dim(3 + j) * ystride[j]
    read = ir.AffineMap.get(rank, 0, [flat, dim(1), dim(0), dim(2)])
    out = builders.generic([acc], builders.empty([n_out, groups, o_grp] + ysp, elem),
                           [read, ir.AffineMap.get_identity(rank)], [builders.PARALLEL] * rank, lambda v, o: v)
    return builders.reshape(out, out_dims)


def _lower_conv(op, x, w):
    d = ConvDims.from_op(op)
    out_dims = builders.shape(op.result)
    elem = builders.element_type(x)
    xs, ws = builders.shape(x), builders.shape(w)
    ns = len(xs) - 2
    g, bg = d.feature_groups, d.batch_groups
    groups, n_out, cin = g * bg, xs[0] // bg, ws[1]
    o_grp = ws[0] // groups
    ysp, ksp = out_dims[2:], ws[2:]
    ny, nk = builders.product(ysp), builders.product(ksp)
    if builders.product(out_dims) == 0 or cin * nk == 0:
        return builders.fill(out_dims, builders.scalar_constant(elem, 0))
    # 1. Padding (negative: cropping, as an offset) and lhs dilation.
    low = [max(lo, 0) for lo in d.low]
    high = [max(hi, 0) for hi in d.high]
    offset = [p - lo for p, lo in zip(low, d.low)]
    if any(low) or any(high) or any(s > 1 for s in d.lhs_dilation):
        x = _pad_dilate(x, low, high, d.lhs_dilation)
    if _wants_shifted(d, builders.shape(x), ws, out_dims, elem):
        return _lower_shifted(d, x, w, offset, out_dims, elem)
    if _wants_per_position(d, xs, ws, out_dims, elem):
        return _lower_per_position(d, x, w, offset, out_dims, elem)
    # 2. Windows: patches[t, i, k..., n, y...] = x[n (+ t·N'), i (+ t·I), y·stride + k·dilation + offset],
    # output positions innermost: the copy reads rows of x (contiguous for stride 1) and writes rows.
    loops = 3 + 2 * ns
    dim = ir.AffineDimExpr.get
    t, i, n = dim(0), dim(1), dim(2 + ns)
    exprs = [t * n_out + n if bg > 1 else n, t * cin + i if g > 1 else i]
    for j in range(ns):
        exprs.append(dim(3 + ns + j) * d.strides[j] + dim(2 + j) * d.rhs_dilation[j] + offset[j])
    patch_dims = [groups, cin] + ksp + [n_out] + ysp
    patches = builders.generic([x], builders.empty(patch_dims, elem),
                               [ir.AffineMap.get(loops, 0, exprs), ir.AffineMap.get_identity(loops)],
                               [builders.PARALLEL] * loops, lambda v, acc: v)
    # 3. One contraction per group: (O_grp, I·k) x (I·k, N'·y), a gemm whose long side is N'·y.
    a = builders.reshape(w, [groups, o_grp, cin * nk])
    b = builders.reshape(patches, [groups, cin * nk, n_out * ny])
    r = lower_contraction(a, b, DotDims.of(([0], [0]), ([2], [1]), 3, 3), [groups, o_grp, n_out * ny])
    if n_out == 1:   # (groups, O_grp, 1, y...) is (1, O, y...) already
        return builders.reshape(r, out_dims)
    # 4. (groups, O_grp, N', y...) -> (N', groups, O_grp, y...) = (N', O, y...).
    r = builders.reshape(r, [groups, o_grp, n_out] + ysp)
    rank = 3 + ns
    read = builders.affine_map(rank, [1, 2, 0] + list(range(3, 3 + ns)))
    out = builders.generic([r], builders.empty([n_out, groups, o_grp] + ysp, elem),
                           [read, ir.AffineMap.get_identity(rank)], [builders.PARALLEL] * rank, lambda v, acc: v)
    return builders.reshape(out, out_dims)


def _check_conv(op, a, b):
    return _conv(a, b, ConvDims.from_op(op))


BUILDERS["tfn.conv_general_dilated"] = conv_general_dilated
SHAPE_RULES["tfn.conv_general_dilated"] = _check_conv
defjvp("tfn.conv_general_dilated", _jvp_conv, emits=["tfn.conv_general_dilated", "tfn.add"])
TRANSPOSE_RULES["tfn.conv_general_dilated"] = _t_conv
BATCH_RULES["tfn.conv_general_dilated"] = _batch_conv
LOWERINGS["tfn.conv_general_dilated"] = _lower_conv

CONVOLUTION_OPS = ("conv_general_dilated",)

__all__ = ["conv_general_dilated", "ConvDims", "CONVOLUTION_OPS"]
