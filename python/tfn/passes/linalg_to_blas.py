"""Pass `tfn-linalg-to-blas`: `linalg.matmul` / `linalg.batch_matmul` on memrefs -> CBLAS gemm calls.

Runs after bufferization. Each f32/f64 matmul whose operands have a unit inner stride
(row-major rows, possibly strided between rows and between batch items) becomes a
call of `cblas_?gemm` (one per batch item, in an `scf.for`), passing the aligned
pointer plus offset and the row strides as leading dimensions; the transposes of the
op's `indexing_maps` become the CBLAS transpose flags. Any other matmul is left for
the loop lowering. Where the accumulator was just filled with zeros, the fill is
dropped and the call passes beta = 0.

The glue of a call (constants, pointers, the thread count, the timing below) is a
private helper function made once per distinct gemm (element type, transposes, m n k,
batch, beta, static strides, threads); each matmul becomes one call of it with its
operands' addresses (and any stride not static) as indices. Written out at every call
site, the glue was most of the entry point's body, which the LLVM lowering and LLVM
then processed once per matmul.

```mlir
linalg.matmul ins(%a, %b : memref<64x784xf32>, memref<784x512xf32>) outs(%c : memref<64x512xf32>)
// becomes
%pa = memref.extract_aligned_pointer_as_index %a : memref<64x784xf32> -> index
...
func.call @__tfn_gemm_0(%pa, %pb, %pc) : (index, index, index) -> ()
// with, once per signature,
func.func private @__tfn_gemm_0(%pa: index, %pb: index, %pc: index) {
  ...
  func.call @scipy_cblas_sgemm64_(%row_major, %no_trans, %no_trans, %m, %n, %k, %one, %a, %c784_i64,
                                  %b, %c512_i64, %one, %c, %c512_i64) : (i32, i32, i32, i64, ...) -> ()
}
```

The symbols are those of the 64-bit-integer OpenBLAS that numpy's wheels ship
(`scipy_cblas_sgemm64_`, `scipy_cblas_dgemm64_`); `tfn.runtime.blas` loads it into
the process so the JIT resolves them. beta = 1 keeps the op's accumulate semantics
(beta = 0 after a zero fill).

tfn, not OpenBLAS, decides how many threads each gemm runs on (`gemm_threads`, from
the static shape): before a call the code sets OpenBLAS's thread count where it
differs, and the entry point restores the count it found when it returns, so numpy's
own matmuls keep theirs.

```mlir
%saved = func.call @scipy_openblas_get_num_threads64_() : () -> i32   // entry: kept in a global
...
%cur = func.call @scipy_openblas_get_num_threads64_() : () -> i32
%differ = arith.cmpi ne, %cur, %c1_i32 : i32
scf.if %differ { func.call @scipy_openblas_set_num_threads64_(%c1_i32) : (i32) -> () }
func.call @scipy_cblas_sgemm64_(...)
...
// before the entry returns: set %saved back where it differs
```
"""
from __future__ import annotations

import os

from mlir import ir
from mlir.dialects import arith, func, llvm, memref, scf
from tfn.passes.ir_utils import find_ops, functions
from tfn.passes.pipelines import ENTRY

GEMM_SYMBOLS = {"f32": "scipy_cblas_sgemm64_", "f64": "scipy_cblas_dgemm64_"}
GET_THREADS, SET_THREADS = "scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"
SAVED_THREADS = "__tfn_blas_saved_threads"   # the count the entry point found, restored on return
SINGLE_UNTIL_NS, BEST_NS, TIMESPEC = "__tfn_blas_single_until_ns", "__tfn_blas_best_ns", "__tfn_blas_timespec"
STALLED_NS, WINDOW_NS = "__tfn_blas_stalled_ns", "__tfn_blas_window_ns"   # stall time in the current window
CLOCK_MONOTONIC = 1
GEMM_HELPER_PREFIX = "__tfn_gemm_"            # the private function holding one kind of gemm call
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# Multiply-adds each thread must get before a gemm is split across threads. OpenBLAS
# splits from m*n*k >= 262144 (~5 us of work on one core), where waking a worker costs
# as much as the work, and on a busy machine a worker that waits for a core stalls the
# whole call: tfn was 10-100x slower with two spinning processes on two cores. Measured
# on 2 cores (square f32 gemms, 1 vs 2 threads): two threads win from 2^21 when the
# machine is idle (0.73x at 128^3), but lose up to 2^23 with one or two busy processes
# (1.6x at 128^3, 1.2x at 192^3) and break even at 2^24 (0.9x). Splitting from 2^21 per
# thread keeps the idle machine's speed (an ensemble of 8 MLPs: 0.88 ms against 1.49 ms on
# one thread); under load the loss is bounded (< 2x) and the stall check below backs off.
PER_THREAD_MNK = 1 << 21

# Even above that size a split call can stall for a scheduler time slice or more when a
# worker waits for a core (measured: 256^3 and 64x784x512 gemms 0.3-0.5 ms quiet, 35-75 ms
# with one or two spinning processes). So a call on several threads is timed; one that
# takes more than STALL_FACTOR times the best this call site has done plus STALL_SLACK_NS
# (far above the jitter of a quiet machine, far below a stall), or more than
# SLOWEST_MNK_PER_NS allows (one core does ~50 multiply-adds per ns here: a stall even
# when every call so far has stalled), stalled. Once stalls add up to STALL_BUDGET_NS
# within BACKOFF_NS, the module's gemms run on one thread for BACKOFF_NS, after which
# threads are tried again: under lasting load that wastes at most ~10% of the time,
# while the odd stall under bursty load (other programs compiling, testing) keeps the
# threads, which still win there (measured 0.41 ms vs 0.67 ms on one thread, 64x784x512).
STALL_FACTOR, STALL_SLACK_NS, SLOWEST_MNK_PER_NS = 2, 1_000_000, 2
STALL_BUDGET_NS, BACKOFF_NS = 100_000_000, 1_000_000_000


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - no affinity API
        return os.cpu_count() or 1


def gemm_threads(m: int, n: int, k: int, available: int) -> int:
    """Threads for one m x k by k x n gemm: 1 unless each thread gets PER_THREAD_MNK
    multiply-adds, never more than `available`. At run time the count is further capped
    by the one the entry point found (numpy's, or OPENBLAS_NUM_THREADS)."""
    return max(1, min(available, m * n * k // PER_THREAD_MNK))


def _elem_key(t: ir.Type):
    if isinstance(t, ir.F32Type):
        return "f32"
    if isinstance(t, ir.F64Type):
        return "f64"
    return None


def _default_maps(batched: bool):
    o = 1 if batched else 0
    nd = o + 3
    bd = [ir.AffineDimExpr.get(0)] if batched else []
    m, n, k = (ir.AffineDimExpr.get(i) for i in (o, o + 1, o + 2))
    return [ir.AffineMap.get(nd, 0, bd + [m, k]), ir.AffineMap.get(nd, 0, bd + [k, n]),
            ir.AffineMap.get(nd, 0, bd + [m, n])]


def _dims_of(amap: ir.AffineMap) -> list[int] | None:
    out = []
    for e in amap.results:
        if not isinstance(e, ir.AffineDimExpr):
            try:
                e = ir.AffineDimExpr(e)
            except (TypeError, ValueError):
                return None
        out.append(e.position)
    return out


def _plan(op):
    """(batched, trans_a, trans_b) when `op` can be a gemm call, else None."""
    name = op.name
    batched = name == "linalg.batch_matmul"
    if "indexing_maps" in op.attributes:
        maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    else:
        maps = _default_maps(batched)
    dims = [_dims_of(m) for m in maps]
    if any(d is None for d in dims):
        return None
    o = 1 if batched else 0
    b, m, n, k = ([0] if batched else []), o, o + 1, o + 2
    if dims[2] != b + [m, n]:
        return None
    # A may drop the batch dim (broadcast over the batch: batch stride 0).
    if dims[0] in (b + [m, k], [m, k]):
        trans_a = False
    elif dims[0] in (b + [k, m], [k, m]):
        trans_a = True
    else:
        return None
    if dims[1] == b + [k, n]:
        trans_b = False
    elif dims[1] == b + [n, k]:
        trans_b = True
    else:
        return None
    return batched, trans_a, trans_b


def _unit_inner_stride(t: ir.MemRefType) -> bool:
    if not t.has_static_shape:
        return False
    strides, _ = t.get_strides_and_offset()
    return t.shape[-1] == 1 or strides[-1] == 1


def _declare(body: ir.Block, symbol: str, args: list, results: list | None = None) -> None:
    for op in body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == symbol:
            return
    with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
        decl = func.FuncOp(symbol, (args, results or []))
        decl.attributes["sym_visibility"] = ir.StringAttr.get("private")


def _declare_gemm(body: ir.Block, symbol: str, elem: ir.Type) -> None:
    i32, i64 = ir.IntegerType.get_signless(32), ir.IntegerType.get_signless(64)
    ptr = llvm.PointerType.get()
    _declare(body, symbol, [i32, i32, i32, i64, i64, i64, elem, ptr, i64, ptr, i64, elem, ptr, i64])


def _i32(v: int) -> ir.Value:
    return arith.ConstantOp(ir.IntegerType.get_signless(32), v).result


def _set_threads_if_differs(want: ir.Value) -> None:
    """OpenBLAS's thread count := `want`, skipping the set (~0.3 us) where it already is."""
    i32 = ir.IntegerType.get_signless(32)
    current = func.CallOp([i32], ir.FlatSymbolRefAttr.get(GET_THREADS), []).result
    branch = scf.IfOp(arith.cmpi(arith.CmpIPredicate.ne, current, want))
    with ir.InsertionPoint(branch.then_block):
        func.CallOp([], ir.FlatSymbolRefAttr.get(SET_THREADS), [want])
        scf.YieldOp([])


def _saved_threads() -> ir.Value:
    i32 = ir.IntegerType.get_signless(32)
    return llvm.load(i32, llvm.mlir_addressof(llvm.PointerType.get(), SAVED_THREADS))


def _global(body: ir.Block, name: str, text: str) -> None:
    """Adds `llvm.mlir.global internal @name` + `text` (its initial value and type) once."""
    if not any(op.operation.name == "llvm.mlir.global" and ir.StringAttr(op.attributes["sym_name"]).value == name
               for op in body.operations):
        with ir.Location.unknown():
            body.append(ir.Operation.parse(f"llvm.mlir.global internal @{name}{text}"))


def _load_global(name: str, t: ir.Type) -> ir.Value:
    return llvm.load(t, llvm.mlir_addressof(llvm.PointerType.get(), name))


def _store_global(name: str, value: ir.Value) -> None:
    llvm.store(value, llvm.mlir_addressof(llvm.PointerType.get(), name))


def _now_ns(body: ir.Block) -> ir.Value:
    """clock_gettime(CLOCK_MONOTONIC) in ns, through a global timespec (calls of one
    compiled function never overlap)."""
    i32, i64, ptr = ir.IntegerType.get_signless(32), ir.IntegerType.get_signless(64), llvm.PointerType.get()
    _declare(body, "clock_gettime", [i32, ptr], [i32])
    _global(body, TIMESPEC, "(dense<0> : tensor<2xi64>) : !llvm.array<2 x i64>")
    spec = llvm.mlir_addressof(ptr, TIMESPEC)
    func.CallOp([i32], ir.FlatSymbolRefAttr.get("clock_gettime"), [_i32(CLOCK_MONOTONIC), spec])
    seconds = llvm.load(i64, spec)
    nanoseconds = llvm.load(i64, llvm.getelementptr(ptr, spec, [], [1], i64, 0))
    return arith.addi(arith.muli(seconds, arith.ConstantOp(i64, 1_000_000_000).result), nanoseconds)


def _const64(v: int) -> ir.Value:
    return arith.ConstantOp(ir.IntegerType.get_signless(64), v).result


class _ThreadedGemm:
    """Thread count of one gemm call site, set before its call(s); with several threads,
    the call is timed and a stall sends the module's gemms to one thread for a while.

    `before()` and `after()` are called where the call(s) begin and end.
    """

    def __init__(self, body: ir.Block, threads: int, capped: bool, best: ir.Value | None, mnk: int):
        self.body, self.threads, self.capped, self.best = body, threads, capped, best   # best: !llvm.ptr to i64
        self.slowest_ns = max(STALL_SLACK_NS, mnk // SLOWEST_MNK_PER_NS)

    def before(self) -> None:
        want = _i32(self.threads)
        if self.threads == 1:
            _set_threads_if_differs(want)
            return
        i64 = ir.IntegerType.get_signless(64)
        if self.capped:   # never more than the caller runs numpy's matmuls with
            want = arith.minsi(want, _load_global(SAVED_THREADS, ir.IntegerType.get_signless(32)))
        _global(self.body, SINGLE_UNTIL_NS, "(0 : i64) : i64")
        self.start = _now_ns(self.body)
        backing_off = arith.cmpi(arith.CmpIPredicate.slt, self.start, _load_global(SINGLE_UNTIL_NS, i64))
        self.want = arith.select(backing_off, _i32(1), want)
        _set_threads_if_differs(self.want)

    def _count_stall(self, excess: ir.Value) -> None:
        """Adds `excess` to the stall time of the window (a new one after BACKOFF_NS) and
        sends the gemms to one thread when the window's stalls exceed STALL_BUDGET_NS."""
        i64 = ir.IntegerType.get_signless(64)
        _global(self.body, STALLED_NS, "(0 : i64) : i64")
        _global(self.body, WINDOW_NS, "(0 : i64) : i64")
        window_start = _load_global(WINDOW_NS, i64)
        new_window = arith.cmpi(arith.CmpIPredicate.sgt, arith.subi(self.start, window_start), _const64(BACKOFF_NS))
        _store_global(WINDOW_NS, arith.select(new_window, self.start, window_start))
        stalled = arith.addi(arith.select(new_window, _const64(0), _load_global(STALLED_NS, i64)), excess)
        over = arith.cmpi(arith.CmpIPredicate.sgt, stalled, _const64(STALL_BUDGET_NS))
        _store_global(STALLED_NS, arith.select(over, _const64(0), stalled))
        until = _load_global(SINGLE_UNTIL_NS, i64)
        _store_global(SINGLE_UNTIL_NS, arith.select(over, arith.addi(self.start, _const64(BACKOFF_NS)), until))

    def after(self) -> None:
        if self.threads == 1:
            return
        i64 = ir.IntegerType.get_signless(64)
        timed = scf.IfOp(arith.cmpi(arith.CmpIPredicate.sgt, self.want, _i32(1)))
        with ir.InsertionPoint(timed.then_block):
            took = arith.subi(_now_ns(self.body), self.start)
            best = arith.minsi(took, llvm.load(i64, self.best))
            llvm.store(best, self.best)
            limit = arith.minsi(arith.addi(arith.muli(best, arith.ConstantOp(i64, STALL_FACTOR).result),
                                           arith.ConstantOp(i64, STALL_SLACK_NS).result),
                                arith.ConstantOp(i64, self.slowest_ns).result)
            stalled = scf.IfOp(arith.cmpi(arith.CmpIPredicate.sgt, took, limit))
            with ir.InsertionPoint(stalled.then_block):
                self._count_stall(arith.subi(took, best))
                scf.YieldOp([])
            scf.YieldOp([])


def _save_and_restore_threads(module_op: ir.Operation, entry: str) -> bool:
    """Makes `entry` keep OpenBLAS's thread count in a global on entry and set it back
    before returning; False where the module has no such function."""
    body = module_op.regions[0].blocks[0]
    entry_op = functions(module_op).get(entry)
    if entry_op is None:
        return False
    i32 = ir.IntegerType.get_signless(32)
    _global(body, SAVED_THREADS, "(1 : i32) : i32")
    block = entry_op.regions[0].blocks[0]
    returns = []
    for each in entry_op.regions[0].blocks:   # a return is the last op of its block
        ops = each.operations
        if len(ops) and ops[len(ops) - 1].operation.name == "func.return":
            returns.append(ops[len(ops) - 1].operation)
    with ir.InsertionPoint.at_block_begin(block), entry_op.location:
        saved = func.CallOp([i32], ir.FlatSymbolRefAttr.get(GET_THREADS), []).result
        llvm.store(saved, llvm.mlir_addressof(llvm.PointerType.get(), SAVED_THREADS))
    for ret in returns:
        with ir.InsertionPoint(ret), ret.location:
            _set_threads_if_differs(saved)
    return True


def _index(v: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), v).result


def _operand(value: ir.Value, elem_bytes: int, batched: bool) -> tuple[ir.Value, list]:
    """One gemm operand at a call site: its address (index: aligned pointer + offset in bytes)
    and its strides, each an int where the layout is static, else an index value: the
    leading dimension (the row stride, at least the columns: CBLAS requires
    ld >= max(1, cols) even where one row makes the stride meaningless) and, when
    `batched`, the batch stride in elements (0: a matrix broadcast over the batch)."""
    t = ir.MemRefType(value.type)
    rank = t.rank
    strides, offset = t.get_strides_and_offset()
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    address = memref.ExtractAlignedPointerAsIndexOp(value).result
    cols = max(1, t.shape[-1])
    if offset == dynamic or dynamic in strides:
        meta = list(memref.ExtractStridedMetadataOp(value).results)
        address = arith.addi(address, arith.muli(meta[1], _index(elem_bytes)))
        strides = [arith.maxsi(meta[2 + rank + i], _index(cols)) if i == rank - 2 else meta[2 + rank + i]
                   for i in range(rank)]
        ld = strides[-2]
    else:
        if offset:
            address = arith.addi(address, _index(offset * elem_bytes))
        ld = max(strides[-2], cols)
    if not batched:
        return address, [ld]
    return address, [ld, strides[0] if rank == 3 else 0]


class _GemmHelpers:
    """One private function per distinct gemm (element type, transposes, m n k, batch, beta,
    static strides, threads), holding the call's glue: constants, pointers, the thread
    count and the timing. A call site passes the operands' addresses, the strides that
    are not static (`_operand`) and, when the call is timed, the address of its own best
    time."""

    def __init__(self, body: ir.Block, available: int, capped: bool):
        self.body, self.available, self.capped = body, available, capped
        self.made: dict[tuple, str] = {}
        self.taken = {ir.StringAttr(op.attributes["sym_name"]).value for op in body.operations
                      if "sym_name" in op.attributes}

    def get(self, elem: ir.Type, trans_a: bool, trans_b: bool, m: int, n: int, k: int, batch: int,
            beta_zero: bool, strides: list) -> tuple[str, int]:
        """(helper name, threads) for a gemm of that signature (batch 0: not batched; `strides`:
        lda, ldb, ldc, then the batch strides, an int where static, a value to pass where not)."""
        threads = gemm_threads(m, n, k, self.available)
        static = tuple(x if isinstance(x, int) else None for x in strides)
        key = (str(elem), trans_a, trans_b, m, n, k, batch, beta_zero, static, threads)
        name = self.made.get(key)
        if name is None:
            name = self.made[key] = self._build(elem, trans_a, trans_b, m, n, k, batch, beta_zero, static, threads)
        return name, threads

    def _build(self, elem, trans_a, trans_b, m, n, k, batch, beta_zero, static, threads) -> str:
        i = len(self.made)
        while f"{GEMM_HELPER_PREFIX}{i}" in self.taken:
            i += 1
        name = f"{GEMM_HELPER_PREFIX}{i}"
        self.taken.add(name)
        symbol = GEMM_SYMBOLS[_elem_key(elem)]
        _declare_gemm(self.body, symbol, elem)
        index, ptr = ir.IndexType.get(), llvm.PointerType.get()
        i32, i64 = ir.IntegerType.get_signless(32), ir.IntegerType.get_signless(64)
        passed = sum(x is None for x in static)
        arg_types = [index] * (3 + passed) + ([ptr] if threads > 1 else [])
        with ir.InsertionPoint(self.body), ir.Location.unknown():
            helper = func.FuncOp(name, (arg_types, []))
            helper.attributes["sym_visibility"] = ir.StringAttr.get("private")
            block = helper.add_entry_block()
        args = list(block.arguments)
        addresses, rest = args[:3], iter(args[3:3 + passed])
        with ir.InsertionPoint(block), ir.Location.unknown():
            strides = [_index(x) if x is not None else next(rest) for x in static]
            lds, batch_strides = strides[:3], (strides[3:] if batch else [None] * 3)
            size = _index(4 if _elem_key(elem) == "f32" else 8)
            fixed = [_i32(ROW_MAJOR), _i32(TRANS if trans_a else NO_TRANS), _i32(TRANS if trans_b else NO_TRANS),
                     _const64(m), _const64(n), _const64(k)]
            one = arith.ConstantOp(elem, ir.FloatAttr.get(elem, 1.0)).result
            beta = arith.ConstantOp(elem, ir.FloatAttr.get(elem, 0.0 if beta_zero else 1.0)).result
            lds = [arith.index_cast(i64, ld) for ld in lds]
            # Each entry of a batch is timed and looks at the back-off on its own: timed as one call,
            # a batch whose entries each ran on two threads stalled on every entry under load
            # (1.56 s against 56 ms on one thread) before the check after the loop could act.
            timer = _ThreadedGemm(self.body, threads, self.capped, args[-1] if threads > 1 else None, m * n * k)

            def pointer(address, stride, item):
                if item is not None:
                    address = arith.addi(address, arith.muli(arith.muli(item, stride), size))
                return llvm.inttoptr(ptr, arith.index_cast(i64, address))

            def call(item):
                pa, pb, pc = (pointer(a, s, item) for a, s in zip(addresses, batch_strides))
                func.CallOp([], ir.FlatSymbolRefAttr.get(symbol),
                            fixed + [one, pa, lds[0], pb, lds[1], beta, pc, lds[2]])
            def timed_call(item):
                timer.before()
                call(item)
                timer.after()
            if batch:
                loop = scf.ForOp(_index(0), _index(batch), _index(1))
                with ir.InsertionPoint(loop.body):
                    timed_call(loop.induction_variable)
                    scf.YieldOp([])
            else:
                timed_call(None)
            func.ReturnOp([])
        return name


def _zero_fill_before(op, c: ir.Value):
    """The op that last wrote `c` before `op` when it is a fill with 0 (a `linalg.generic` without
    inputs yielding a constant 0), else None: then the gemm can run with beta = 0 instead."""
    op = op.operation
    last = None
    for use in c.uses:
        user = use.owner
        user = user.operation if hasattr(user, "operation") else user
        if user == op or user.block != op.block or not user.is_before_in_block(op):
            continue
        if last is None or last.is_before_in_block(user):
            last = user
    if last is None or last.name != "linalg.generic" or len(last.operands) != 1:
        return None
    ops = list(last.regions[0].blocks[0].operations)
    if len(ops) != 1 or ops[0].name != "linalg.yield":
        return None
    value = ops[0].operands[0]
    const = value.owner
    if isinstance(const, ir.Block):
        return None
    const = const.operation if hasattr(const, "operation") else const
    if const.name != "arith.constant":
        return None
    try:
        zero = ir.FloatAttr(const.attributes["value"]).value == 0.0
    except (TypeError, ValueError):
        return None
    return last if zero else None


def _rewrite(helpers: _GemmHelpers, op, site: int) -> bool:
    plan = _plan(op)
    if plan is None or len(op.operands) != 3 or len(op.results) != 0:
        return False
    batched, trans_a, trans_b = plan
    types = [v.type for v in op.operands]
    if not all(isinstance(t, ir.MemRefType) for t in types):
        return False
    types = [ir.MemRefType(t) for t in types]
    key = _elem_key(types[0].element_type)
    if key is None or any(t.element_type != types[0].element_type for t in types):
        return False
    if not all(_unit_inner_stride(t) for t in types):
        return False
    if batched and (types[1].rank != 3 or types[2].rank != 3):
        return False
    c_shape = types[2].shape
    m, n = c_shape[-2], c_shape[-1]
    k = types[0].shape[-2] if trans_a else types[0].shape[-1]
    fill = _zero_fill_before(op, op.operands[2])
    with ir.InsertionPoint(op), op.location:
        parts = [_operand(v, 4 if key == "f32" else 8, batched) for v in op.operands]
        strides = [p[1][0] for p in parts] + [p[1][1] for p in parts if batched]
        name, threads = helpers.get(types[0].element_type, trans_a, trans_b, m, n, k,
                                    c_shape[0] if batched else 0, fill is not None, strides)
        args = [p[0] for p in parts] + [x for x in strides if not isinstance(x, int)]
        if threads > 1:   # the best time of this call site, for the stall check
            best = f"{BEST_NS}_{site}"
            _global(helpers.body, best, f"({(1 << 63) - 1} : i64) : i64")
            args.append(llvm.mlir_addressof(llvm.PointerType.get(), best))
        func.CallOp([], ir.FlatSymbolRefAttr.get(name), args)
    op.erase()
    if fill is not None:
        fill.erase()
    return True


NAME = "tfn-linalg-to-blas"
DESCRIPTION = "Rewrite f32/f64 linalg.matmul/batch_matmul on memrefs to CBLAS gemm calls"


def run(module_op: ir.Operation, entry: str = ENTRY, threads: int = 0) -> None:
    """Rewrites the matmuls of `module_op` (a builtin.module on memrefs) to gemm calls.

    Each call runs on `gemm_threads(m, n, k, threads)` threads (`threads` = 0: the cores
    this process may use, `cores()`), capped at run time by the count `entry` found.
    """
    linalg_to_blas(module_op, threads or None, entry)


def linalg_to_blas(module_op: ir.Operation, available: int | None = None, entry: str = ENTRY) -> int:
    """The rewrite of `run`; returns how many matmuls became gemm calls."""
    module_op = module_op.operation
    body = module_op.regions[0].blocks[0]
    found = find_ops(module_op, ("linalg.matmul", "linalg.batch_matmul"), payloads=False)
    available = cores() if available is None else available
    helpers = _GemmHelpers(body, available, entry in functions(module_op))
    rewritten = sum(_rewrite(helpers, op, site) for site, op in enumerate(found))
    if rewritten:
        i32 = ir.IntegerType.get_signless(32)
        _declare(body, GET_THREADS, [], [i32])
        _declare(body, SET_THREADS, [i32])
        _save_and_restore_threads(module_op, entry)
    return rewritten
