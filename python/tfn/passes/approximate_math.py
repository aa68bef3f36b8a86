"""Pass `tfn-approximate-math`: f32 transcendentals as vectorizable arith code.

`math.exp`, `log`, `log1p`, `expm1`, `tanh`, `sin`, `cos` and `erf` on f32 scalars (the bodies
of `linalg.generic`) otherwise become calls of libm's `expf`, ... which keep LLVM's
loop vectorizer from touching the loop. This pass replaces each by branch-free arith
code (range reduction, a Cephes-style polynomial, `select`s for the special cases),
so the loops run as SIMD code. f64 ops keep libm.

| op | method | error vs correctly rounded (f32) |
|---|---|---|
| exp | n = round(x log2 e), Cody-Waite r = x - n ln2, Cephes degree-7 poly, 2^n as two exponent scalings (denormal results exact) | <= 2 ulp |
| log | mantissa in [sqrt(1/2), sqrt 2), Cephes degree-9 poly, subnormal inputs rescaled | <= 2 ulp |
| log1p | u = 1 + x; x if u == 1 else log(u) * x / (u - 1) (Goldberg) | few ulp |
| expm1 | u = exp(x); x if u == 1, -1 if u - 1 == -1, else (u - 1) * x / log(u) (Kahan) | few ulp |
| tanh | odd poly for \\|x\\| < 0.625, else sign(x) (1 - 2 / (exp(2\\|x\\|) + 1)); saturates to +-1 | <= 3 ulp |
| sin, cos | in f64: x 2/pi mod 4 from x times 28-bit chunks of 2/pi picked by \\|x\\| (Payne-Hanek without a table, every finite x), r = frac pi/2, polys of degree 9 and 8 | <= 1 ulp (all f32 checked) |
| erf | in f64: x P(x^2) for \\|x\\| < 1, else sign(x) B(min(\\|x\\|, 4) - 2.5), polys of degree 7 (in x^2) and 16 fitted here | <= 1 ulp |

Special values follow IEEE/numpy: exp(-inf) = 0, exp(+inf) = inf, exp overflows to inf
and underflows through the subnormals to 0; log(0) = -inf, log(x < 0) = nan,
log(inf) = inf; tanh(+-inf) = erf(+-inf) = +-1, erf(+-0) = +-0; sin/cos(+-inf) = nan; nan propagates everywhere.

```mlir
%y = math.exp %x : f32
// becomes (abridged)
%t = arith.addf %xl, %magic : f32          // round(x * log2(e)) by the 1.5 * 2^23 trick
%r = arith.subf %x, %hi fastmath<contract> : f32
...
%s = arith.bitcast %e : i32 to f32          // 2^n
%y = arith.mulf %p, %s : f32
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func
from tfn.passes.ir_utils import clone_with, find_ops

_F = arith.CmpFPredicate
_I = arith.CmpIPredicate


class _Emit:
    """Scalar arith builders at the current insertion point; polynomial ops may contract to FMA."""

    def __init__(self):
        self.f32 = ir.F32Type.get()
        self.f64 = ir.F64Type.get()
        self.i32 = ir.IntegerType.get_signless(32)
        self.i64 = ir.IntegerType.get_signless(64)
        self.contract = ir.Attribute.parse("#arith.fastmath<contract>")
        self._consts = {}

    def c(self, value, t=None):
        t = t or self.f32
        key = (str(t), value)
        if key not in self._consts:
            attr = (ir.FloatAttr.get(t, float(value)) if isinstance(t, (ir.F32Type, ir.F64Type))
                    else ir.IntegerAttr.get(t, int(value)))
            self._consts[key] = arith.ConstantOp(t, attr).result
        return self._consts[key]

    def ci(self, value, t=None):
        return self.c(value, t or self.i32)

    # Arithmetic; `fma=True` lets a mul feeding an add contract.
    def add(self, a, b, fma=False):
        return arith.addf(a, b, fastmath=self.contract) if fma else arith.addf(a, b)

    def sub(self, a, b, fma=False):
        return arith.subf(a, b, fastmath=self.contract) if fma else arith.subf(a, b)

    def mul(self, a, b, fma=False):
        return arith.mulf(a, b, fastmath=self.contract) if fma else arith.mulf(a, b)

    def div(self, a, b):
        return arith.divf(a, b)

    def sel(self, cond, a, b):
        return arith.select(cond, a, b)

    def cmp(self, pred, a, b):
        return arith.cmpf(pred, a, b)

    def horner(self, x, coeffs):
        """coeffs[0] * x^(n-1) + ... + coeffs[-1], multiply-adds contracted."""
        t = x.type
        acc = self.c(coeffs[0], t)
        for coef in coeffs[1:]:
            acc = self.add(self.mul(acc, x, True), self.c(coef, t), True)
        return acc

    def bits(self, x):
        return arith.bitcast(self.i32, x)

    def flt(self, i):
        return arith.bitcast(self.f32, i)


# ------------------------------------------------------------------ exp

_LOG2E = 1.44269504088896341
_LN2_HI, _LN2_LO = 0.693359375, -2.12194440e-4
_MAGIC = 12582912.0  # 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer
_MAGIC_BITS = 0x4B400000
_EXP_POLY = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
             1.6666665459e-1, 5.0000001201e-1]


def exp_f32(e: _Emit, x, nonnegative_below: float | None = None):
    """exp(x). With `nonnegative_below=c` the caller promises x >= 0 (or nan) and takes
    exp(min(x, c)) for c < 88: one exponent scaling, no underflow handling (tanh)."""
    if nonnegative_below is not None:
        hi = e.c(nonnegative_below)
        xc = e.sel(e.cmp(_F.OGT, x, hi), hi, x)
    else:
        # Clamp (nan passes: both compares are false) so that n fits two exponent scalings;
        # the clamped ends still overflow to inf and round to 0.
        lo, hi = e.c(-104.0), e.c(89.0)
        xc = e.sel(e.cmp(_F.OLT, x, lo), lo, x)
        xc = e.sel(e.cmp(_F.OGT, xc, hi), hi, xc)
    t = e.add(e.mul(xc, e.c(_LOG2E)), e.c(_MAGIC))
    n = e.sub(t, e.c(_MAGIC))
    ni = arith.subi(e.bits(t), e.ci(_MAGIC_BITS))
    r = e.sub(xc, e.mul(n, e.c(_LN2_HI), True), True)
    r = e.sub(r, e.mul(n, e.c(_LN2_LO), True), True)
    p = e.horner(r, _EXP_POLY)
    y = e.add(e.add(e.mul(e.mul(p, r), r, True), r, True), e.c(1.0))
    if nonnegative_below is not None:
        return e.mul(y, e.flt(arith.shli(arith.addi(ni, e.ci(127)), e.ci(23))))
    n1 = arith.shrsi(ni, e.ci(1))
    n2 = arith.subi(ni, n1)
    s1 = e.flt(arith.shli(arith.addi(n1, e.ci(127)), e.ci(23)))
    s2 = e.flt(arith.shli(arith.addi(n2, e.ci(127)), e.ci(23)))
    return e.mul(e.mul(y, s1), s2)


# ------------------------------------------------------------------ log

_SQRTHF = 0.707106781186547524
_LOG_POLY = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
             1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
             3.3333331174e-1]


def log_f32(e: _Emit, x):
    small = e.cmp(_F.OLT, x, e.c(1.17549435e-38))
    xs = e.sel(small, e.mul(x, e.c(8388608.0)), x)
    bits = e.bits(xs)
    expo = arith.subi(arith.andi(arith.shrui(bits, e.ci(23)), e.ci(0xFF)), e.ci(126))
    expo = arith.subi(expo, arith.select(small, e.ci(23), e.ci(0)))
    m = e.flt(arith.ori(arith.andi(bits, e.ci(0x007FFFFF)), e.ci(0x3F000000)))  # [0.5, 1)
    lt = e.cmp(_F.OLT, m, e.c(_SQRTHF))
    expo = arith.select(lt, arith.subi(expo, e.ci(1)), expo)
    m = e.sel(lt, e.sub(e.add(m, m), e.c(1.0)), e.sub(m, e.c(1.0)))
    ef = arith.sitofp(e.f32, expo)
    z = e.mul(m, m)
    y = e.mul(e.mul(e.horner(m, _LOG_POLY), m), z)
    y = e.add(e.mul(ef, e.c(_LN2_LO), True), y, True)
    y = e.sub(y, e.mul(z, e.c(0.5), True), True)
    r = e.add(m, y)
    r = e.add(e.mul(ef, e.c(_LN2_HI), True), r, True)
    r = e.sel(e.cmp(_F.OEQ, x, e.c(float("inf"))), x, r)
    r = e.sel(e.cmp(_F.OEQ, x, e.c(0.0)), e.c(float("-inf")), r)
    return e.sel(e.cmp(_F.ULT, x, e.c(0.0)), e.c(float("nan")), r)  # x < 0 or nan


def log1p_f32(e: _Emit, x):
    u = e.add(x, e.c(1.0))
    d = e.sub(u, e.c(1.0))
    r = e.mul(log_f32(e, u), e.div(x, d))
    r = e.sel(e.cmp(_F.OEQ, d, e.c(0.0)), x, r)
    return e.sel(e.cmp(_F.OEQ, x, e.c(float("inf"))), x, r)


def expm1_f32(e: _Emit, x):
    u = exp_f32(e, x)
    um1 = e.sub(u, e.c(1.0))
    r = e.mul(um1, e.div(x, log_f32(e, u)))
    r = e.sel(e.cmp(_F.OEQ, um1, e.c(-1.0)), um1, r)
    r = e.sel(e.cmp(_F.OEQ, u, e.c(float("inf"))), u, r)
    return e.sel(e.cmp(_F.OEQ, u, e.c(1.0)), x, r)


# ------------------------------------------------------------------ tanh

_TANH_POLY = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1,
              -3.33332819422e-1]


def tanh_f32(e: _Emit, x):
    sign = arith.andi(e.bits(x), e.ci(-0x80000000))
    ax = e.flt(arith.andi(e.bits(x), e.ci(0x7FFFFFFF)))
    z = e.mul(x, x)
    small = e.add(e.mul(e.mul(e.horner(z, _TANH_POLY), z), x, True), x, True)
    # exp(2|x|) saturates at exp(20): 1 - 2 / (e^20 + 1) rounds to 1 in f32.
    big = e.sub(e.c(1.0), e.div(e.c(2.0), e.add(exp_f32(e, e.add(ax, ax), 20.0), e.c(1.0))))
    big = e.flt(arith.ori(e.bits(big), sign))
    # Below 2^-12 tanh(x) rounds to x (this also keeps the sign of -0).
    small = e.sel(e.cmp(_F.OLT, ax, e.c(2.0 ** -12)), x, small)
    return e.sel(e.cmp(_F.OLT, ax, e.c(0.625)), small, big)


# ------------------------------------------------------------------ sin, cos (f64 inside)
#
# Range reduction for every finite f32 x, exact enough that the result is within an ulp
# (Payne-Hanek without a table). Write x = m 2^e, m < 2^24 an integer, and split 2/pi into
# 28-bit chunks c_i (the bits of weights 2^-(28i+1) .. 2^-28(i+1)). Each x c_i is exact in
# f64 (24 + 28 bits) and is m times an integer times 2^(e - 28(i+1)): a multiple of 4, so
# irrelevant to x 2/pi mod 4, once e >= 28(i+1) + 2. So for |x| >= 2^(28j+25) the first j
# chunks drop out, and x 2/pi mod 4 = x c_j + x c_(j+1) + x c_(j+2) + x tail_(j+3) mod 4 with
# j = 0..3 picked by three compares of |x| (selects of constants, no branch, no table):
# - p0 = x c_j, |p0| < 2^53, reduced mod 4 exactly: t0 = p0 - ((p0 + 1.5 2^54) - 1.5 2^54);
# - n = round(t0 + p1 + p2) (|.| < 2^26), the quadrant's integer;
# - f = (((t0 - n) + p1) + p2) + p3 in [-1/2, 1/2]: t0 - n is exact (a multiple of 2^-26
#   below 2^26, or Sterbenz where e < 2), p0..p2 are exact and |p3| < 2^-31 is the rounded
#   product with the rounded tail, so f carries an absolute error ~2^-56 (+ 2^-53 relative);
#   over every f32 the smallest |f| is 2^-29.86 (x = 16367173 2^72; test_math_accuracy's
#   SINCOS_HARD), so r = f pi/2 keeps ~2^-26 relative accuracy: below f32's half ulp.
# inf and nan give nan (inf - inf in t0). Then r in [-pi/4, pi/4] goes through f64 polys.

_MAGIC52 = 6755399441055744.0  # 1.5 * 2^52: adding it rounds |v| < 2^51 to an integer
_MAGIC54 = 27021597764222976.0  # 1.5 * 2^54: adding it rounds |v| < 2^53 to a multiple of 4
_CHUNK = 28
_PIO2_F64 = 1.5707963267948966


def _two_over_pi_chunks():
    """(chunks, tails): chunks[i] the 28-bit chunk i of 2/pi, tails[i] = f64(sum of chunks >= i)."""
    from fractions import Fraction
    guard = 400

    def atan_inv(n):  # atan(1/n) * 2^guard (Machin), truncation error ~ #terms units
        total, term, k, sign = 0, (1 << guard) // n, 1, 1
        while term:
            total += sign * (term // k)
            term //= n * n
            k, sign = k + 2, -sign
        return total

    pi = 16 * atan_inv(5) - 4 * atan_inv(239)  # pi * 2^guard
    bits = 320
    tpi = (1 << (guard + bits + 1)) // pi  # 2/pi * 2^320, good to ~2^-300
    chunks, tails = [], []
    for i in range(8):
        shift = bits - _CHUNK * (i + 1)
        chunks.append(float(Fraction((tpi >> shift) & ((1 << _CHUNK) - 1), 1 << (bits - shift))))
        tails.append(float(Fraction(tpi & ((1 << (bits - _CHUNK * i)) - 1), 1 << bits)))
    return chunks, tails


_TPI_CHUNKS, _TPI_TAILS = _two_over_pi_chunks()
# |x| >= 2^(28j + 25) (exponent e >= 28j + 2): chunks below j drop out.
_TPI_THRESHOLDS = [2.0 ** (_CHUNK * j + 25) for j in (1, 2, 3)]
# sin r = r (1 + r^2 S(r^2)), cos r = 1 - r^2/2 + r^4 C(r^2) on |r| <= pi/4: least squares in the
# relative error on 400 Chebyshev nodes (mpmath); max relative error 2^-37.4 and 2^-33.0.
_SIN_POLY = [2.718451852368319e-06, -0.00019839353051810075, 0.008333329459675043, -0.16666666642528497]
_COS_POLY = [2.4432843909089896e-05, -0.0013887312828762862, 0.04166664559049635]


def _reduce_pio2(e: _Emit, x):
    """(r, q): x = r + q pi/2 (mod 2pi) with r in [-pi/4, pi/4] as f64, q as i32; see above."""
    xd = arith.extf(e.f64, x)
    ax = e.flt(arith.andi(e.bits(x), e.ci(0x7FFFFFFF)))
    big = [e.cmp(_F.OGE, ax, e.c(t)) for t in _TPI_THRESHOLDS]

    def pick(values):  # values[j] for the j picked by |x|
        v = e.c(values[0], e.f64)
        for cond, value in zip(big, values[1:]):
            v = e.sel(cond, e.c(value, e.f64), v)
        return v

    p0, p1, p2 = (e.mul(xd, pick(_TPI_CHUNKS[i:i + 4])) for i in range(3))
    p3 = e.mul(xd, pick(_TPI_TAILS[3:7]))
    m54 = e.c(_MAGIC54, e.f64)
    t0 = e.sub(p0, e.sub(e.add(p0, m54), m54))
    tm = e.add(e.add(e.add(t0, p1), p2), e.c(_MAGIC52, e.f64))
    n = e.sub(tm, e.c(_MAGIC52, e.f64))
    q = arith.trunci(e.i32, arith.bitcast(e.i64, tm))
    f = e.add(e.add(e.add(e.sub(t0, n), p1), p2), p3)
    return e.mul(f, e.c(_PIO2_F64, e.f64)), q


def _sincos_f32(e: _Emit, x, cosine: bool):
    r, q = _reduce_pio2(e, x)
    if cosine:
        q = arith.addi(q, e.ci(1))
    r2 = e.mul(r, r)
    s = e.mul(e.horner(r2, _SIN_POLY + [1.0]), r)  # a product with r keeps the sign of -0
    c = e.add(e.mul(e.mul(r2, r2), e.horner(r2, _COS_POLY), True),
              e.sub(e.c(1.0, e.f64), e.mul(r2, e.c(0.5, e.f64), True), True), True)
    odd = arith.cmpi(_I.ne, arith.andi(q, e.ci(1)), e.ci(0))
    neg = arith.cmpi(_I.ne, arith.andi(q, e.ci(2)), e.ci(0))
    v = e.sel(odd, c, s)
    v = e.sel(neg, arith.negf(v), v)
    return arith.truncf(e.f32, v)


def sin_f32(e: _Emit, x):
    return _sincos_f32(e, x, False)


def cos_f32(e: _Emit, x):
    return _sincos_f32(e, x, True)


# ------------------------------------------------------------------ erf (f64 inside)
#
# erf(x) = x P(x^2) for |x| < 1, else sign(x) B(min(|x|, 4) - 5/2), both in f64 (erf(4) =
# 1 - 1.5e-8 rounds to 1 in f32, as does erf of every |x| >= 3.92, inf included). P (degree 7
# in x^2) and B (degree 16) were fitted here by least squares iterated toward minimax
# (Lawson weights) on 3000 Chebyshev nodes against scipy's erf: max relative error of P
# 3.3e-11 on [0, 1], max absolute error of B 5.3e-10 on [1, 4], both far below f32's half ulp,
# so the truncation to f32 rounds almost correctly (<= 1 ulp over all f32, in
# test_math_accuracy). x P(x^2) keeps the sign of -0 and is exact enough for subnormal x;
# nan passes both branches (the min of nan stays nan).
_ERF_SMALL_POLY = [-9.641525265728555e-06, 0.00011256952142991952, -0.0008482829608922732,
                   0.005220945501963139, -0.026865400075400434, 0.11283781974924259,
                   -0.37612638434740187, 1.1283791670580503]
_ERF_BIG_MID = 2.5
_ERF_BIG_POLY = [5.797128151306458e-09, -3.524415011618493e-07, 8.379349931729101e-07,
                 3.472293360150168e-06, -1.5528288208937355e-05, 7.723908028525465e-06,
                 8.073660723767077e-05, -0.00025336824801441555, 0.0002591142126316114,
                 0.0005444823431039477, -0.0027977748986221045, 0.006116611890786694,
                 -0.008622542284421345, 0.008350206704622134, -0.005445695307407146,
                 0.002178278809650286, 0.9995930477495033]


def erf_f32(e: _Emit, x):
    sign = arith.andi(e.bits(x), e.ci(-0x80000000))
    ax = e.flt(arith.andi(e.bits(x), e.ci(0x7FFFFFFF)))
    xd = arith.extf(e.f64, x)
    small = e.mul(xd, e.horner(e.mul(xd, xd), _ERF_SMALL_POLY))
    four = e.c(4.0)
    axc = arith.extf(e.f64, e.sel(e.cmp(_F.OGT, ax, four), four, ax))  # nan stays nan
    big = arith.truncf(e.f32, e.horner(e.sub(axc, e.c(_ERF_BIG_MID, e.f64)), _ERF_BIG_POLY))
    big = e.flt(arith.ori(e.bits(big), sign))
    return e.sel(e.cmp(_F.OLT, ax, e.c(1.0)), arith.truncf(e.f32, small), big)


APPROXIMATIONS = {"math.exp": exp_f32, "math.log": log_f32, "math.log1p": log1p_f32,
                  "math.expm1": expm1_f32, "math.tanh": tanh_f32, "math.sin": sin_f32,
                  "math.cos": cos_f32, "math.erf": erf_f32}


def approximate_math(module_op: ir.Operation, ops: set[str] | None = None) -> int:
    """Replaces the f32 math ops under `module_op` (default: all in APPROXIMATIONS); returns how many.

    Each approximation is built once, in a scratch function, and its ops cloned at every
    use (building it with the Python builders cost ~1.3 ms per tanh).
    """
    wanted = set(APPROXIMATIONS) if ops is None else {f"math.{o}" if "." not in o else o for o in ops}
    found = find_ops(module_op, lambda op: op.name in wanted and len(op.results) == 1
                     and isinstance(op.results[0].type, ir.F32Type))
    templates: dict[str, tuple] = {}
    try:
        for op in found:
            template = templates.get(op.name)
            if template is None:
                template = templates[op.name] = _template(module_op, op.name)
            argument, body, result = template
            mapping = {argument: op.operands[0]}
            ip = ir.InsertionPoint(op)
            for t in body:
                new = clone_with(t, mapping, ip)
                for old_r, new_r in zip(t.results, new.results):
                    mapping[old_r] = new_r
            op.results[0].replace_all_uses_with(mapping[result])
            op.erase()
    finally:
        for argument, body, result in templates.values():
            argument.owner.owner.operation.erase()   # the scratch function
    return len(found)


def _template(module_op: ir.Operation, name: str) -> tuple:
    """(argument, ops, result) of the approximation of `name` built in a scratch function
    `(f32) -> f32` at the end of the module (erased by the caller); its ops have no regions."""
    f32 = ir.F32Type.get()
    with ir.InsertionPoint(module_op.regions[0].blocks[0]), ir.Location.unknown():
        scratch = func.FuncOp("__tfn_math_template", ([f32], [f32]))
        scratch.attributes["sym_visibility"] = ir.StringAttr.get("private")
        block = scratch.add_entry_block()
    with ir.InsertionPoint(block), ir.Location.unknown():
        result = APPROXIMATIONS[name](_Emit(), block.arguments[0])
    body = [op.operation for op in block.operations]
    assert not any(len(op.regions) for op in body), name
    return block.arguments[0], body, result


NAME = "tfn-approximate-math"
DESCRIPTION = "f32 exp/log/log1p/expm1/tanh/sin/cos/erf as vectorizable arith code"


def run(module_op: ir.Operation) -> None:
    approximate_math(module_op)
