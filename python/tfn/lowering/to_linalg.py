"""The `tfn-lower-to-linalg` pass: every tfn tensor op -> linalg/tensor/arith/math.

One table maps op name -> lowering function `(op, operands) -> ir.Value`;
elementwise ops share a scalar-body table keyed by (op, element kind).
"""
from __future__ import annotations

import builtins
from typing import Callable

import numpy as np
from mlir import ir
from mlir.dialects import arith, math, tensor
from mlir.dialects import linalg as linalg_gen

from tfn.dialect.ops import int_array, int_attr, str_attr
from tfn.lowering import contraction
from tfn.lowering.builders import (PARALLEL, REDUCTION, affine_map, element_type, elementwise,
                                   empty, fill, generic, is_float_type, reshape, scalar_constant, shape)
from tfn.passes.ir_utils import find_ops

# ---------------------------------------------------------------- scalar bodies


def _float_sign(x):
    zero, one = scalar_constant(x.type, 0.0), scalar_constant(x.type, 1.0)
    positive = arith.select(arith.cmpf(arith.CmpFPredicate.OGT, x, zero), one, zero)
    negative = arith.select(arith.cmpf(arith.CmpFPredicate.OLT, x, zero), one, zero)
    # sign(nan) is nan, like numpy; sign(+-inf) is +-1 (so not `+ (x - x)`, which is nan there).
    is_nan = arith.cmpf(arith.CmpFPredicate.UNO, x, x)
    return arith.select(is_nan, x, arith.subf(positive, negative))


def _int_sign(x):
    zero, one = scalar_constant(x.type, 0), scalar_constant(x.type, 1)
    positive = arith.select(arith.cmpi(arith.CmpIPredicate.sgt, x, zero), one, zero)
    negative = arith.select(arith.cmpi(arith.CmpIPredicate.slt, x, zero), one, zero)
    return arith.subi(positive, negative)


def _logistic(x):
    one = scalar_constant(x.type, 1.0)
    return arith.divf(one, arith.addf(one, math.exp(arith.negf(x))))


def _int_abs(x):
    zero = scalar_constant(x.type, 0)
    return arith.select(arith.cmpi(arith.CmpIPredicate.slt, x, zero), arith.subi(zero, x), x)


FLOAT_UNARY: dict[str, Callable] = {
    "neg": arith.negf, "exp": math.exp, "log": math.log, "log1p": math.log1p, "expm1": math.expm1,
    "sin": math.sin, "cos": math.cos, "tanh": math.tanh, "erf": math.erf, "floor": math.floor, "ceil": math.ceil,
    "round": math.roundeven, "logistic": _logistic, "sqrt": math.sqrt,
    "rsqrt": math.rsqrt, "abs": math.absf, "sign": _float_sign,
}
INT_UNARY: dict[str, Callable] = {
    "neg": lambda x: arith.subi(scalar_constant(x.type, 0), x), "abs": _int_abs, "sign": _int_sign,
}
FLOAT_BINARY: dict[str, Callable] = {
    "add": arith.addf, "sub": arith.subf, "mul": arith.mulf, "div": arith.divf, "pow": math.powf,
    "max": arith.maximumf, "min": arith.minimumf,
}
INT_BINARY: dict[str, Callable] = {
    "add": arith.addi, "sub": arith.subi, "mul": arith.muli, "div": arith.divsi, "pow": math.ipowi,
    "max": arith.maxsi, "min": arith.minsi,
}
BOOL_BINARY: dict[str, Callable] = {
    "add": arith.ori, "mul": arith.andi, "max": arith.ori, "min": arith.andi,
}
FLOAT_PREDICATES = {"eq": arith.CmpFPredicate.OEQ, "ne": arith.CmpFPredicate.UNE,
                    "lt": arith.CmpFPredicate.OLT, "le": arith.CmpFPredicate.OLE,
                    "gt": arith.CmpFPredicate.OGT, "ge": arith.CmpFPredicate.OGE}
INT_PREDICATES = {"eq": arith.CmpIPredicate.eq, "ne": arith.CmpIPredicate.ne,
                  "lt": arith.CmpIPredicate.slt, "le": arith.CmpIPredicate.sle,
                  "gt": arith.CmpIPredicate.sgt, "ge": arith.CmpIPredicate.sge}
BOOL_PREDICATES = {**INT_PREDICATES, "lt": arith.CmpIPredicate.ult, "le": arith.CmpIPredicate.ule,
                   "gt": arith.CmpIPredicate.ugt, "ge": arith.CmpIPredicate.uge}


def _width(t: ir.Type) -> int:
    return 64 if isinstance(t, ir.F64Type) else 32 if isinstance(t, ir.F32Type) else ir.IntegerType(t).width


def cast_scalar(x: ir.Value, to: ir.Type) -> ir.Value:
    """numpy astype on one scalar: floats truncate toward zero, bools are x != 0."""
    src = x.type
    if src == to:
        return x
    if is_float_type(to):
        if is_float_type(src):
            return arith.extf(to, x) if _width(to) > _width(src) else arith.truncf(to, x)
        return arith.uitofp(to, x) if _width(src) == 1 else arith.sitofp(to, x)
    if _width(to) == 1:
        if is_float_type(src):
            return arith.cmpf(arith.CmpFPredicate.UNE, x, scalar_constant(src, 0.0))
        return arith.cmpi(arith.CmpIPredicate.ne, x, scalar_constant(src, 0))
    if is_float_type(src):
        return arith.fptosi(to, x)
    if _width(src) == 1:
        return arith.extui(to, x)
    return arith.extsi(to, x) if _width(to) > _width(src) else arith.trunci(to, x)


def _scalar_rule(table_float, table_int, table_bool, name, t):
    table = table_float if is_float_type(t) else table_bool if _width(t) == 1 else table_int
    if name not in table:
        raise NotImplementedError(f"lowering of 'tfn.{name}' on element type {t} not implemented")
    return table[name]


# ---------------------------------------------------------------- op lowerings

def lower_unary(op, x):
    if op.name == "tfn.stop_gradient":
        return x
    body = _scalar_rule(FLOAT_UNARY, INT_UNARY, {}, op.name[4:], element_type(x))
    return elementwise([x], element_type(x), body)


def lower_binary(op, a, b):
    body = _scalar_rule(FLOAT_BINARY, INT_BINARY, BOOL_BINARY, op.name[4:], element_type(a))
    return elementwise([a, b], element_type(a), body)


def lower_compare(op, a, b):
    t, direction = element_type(a), str_attr(op, "direction")
    if is_float_type(t):
        pred = FLOAT_PREDICATES[direction]
        return elementwise([a, b], ir.IntegerType.get_signless(1), lambda x, y: arith.cmpf(pred, x, y))
    pred = (BOOL_PREDICATES if _width(t) == 1 else INT_PREDICATES)[direction]
    return elementwise([a, b], ir.IntegerType.get_signless(1), lambda x, y: arith.cmpi(pred, x, y))


def lower_select(op, p, a, b):
    return elementwise([p, a, b], element_type(a), arith.select)


def lower_convert(op, x):
    to = ir.RankedTensorType(op.result.type).element_type
    return elementwise([x], to, lambda v: cast_scalar(v, to))


def lower_constant(op):
    return arith.ConstantOp(op.result.type, op.attributes["value"]).result


def lower_iota(op):
    out = ir.RankedTensorType(op.result.type)
    dims, elem, dim = list(out.shape), out.element_type, int_attr(op, "dimension")
    i64 = ir.IntegerType.get_signless(64)

    def body(acc):
        index = arith.index_cast(i64, linalg_gen.IndexOp(dim).result)
        return cast_scalar(index, elem)
    return generic([], empty(dims, elem), [ir.AffineMap.get_identity(len(dims))],
                   [PARALLEL] * len(dims), body)


def lower_broadcast_in_dim(op, x):
    out_dims, src = shape(op.result), shape(x)
    dims = int_array(op, "broadcast_dimensions")
    in_map = affine_map(len(out_dims), [None if n == 1 and out_dims[d] != 1 else d for n, d in zip(src, dims)])
    return generic([x], empty(out_dims, element_type(x)), [in_map, ir.AffineMap.get_identity(len(out_dims))],
                   [PARALLEL] * len(out_dims), lambda v, acc: v)


def lower_transpose(op, x):
    perm, out_dims = int_array(op, "permutation"), shape(op.result)
    inverse = [perm.index(i) for i in range(len(perm))]
    return generic([x], empty(out_dims, element_type(x)),
                   [affine_map(len(perm), inverse), ir.AffineMap.get_identity(len(perm))],
                   [PARALLEL] * len(perm), lambda v, acc: v)


def lower_reshape(op, x):
    return reshape(x, shape(op.result))


def lower_slice(op, x):
    # tensor.extract_slice bufferizes to a subview that the consumer reads in place; a
    # strided copy, where one is needed, becomes loops (tfn-lower-strided-copies).
    # (A linalg.generic reading x through an offset map would take its loop bounds
    # from x's larger shape wherever the map is a plain dim.)
    start, strides = int_array(op, "start_indices"), int_array(op, "strides")
    return tensor.ExtractSliceOp(op.result.type, x, [], [], [], start, shape(op.result), strides).result


def _gather(out_dims, elem, body):
    """A linalg.generic over `out_dims` whose body(indices) reads its operands by tensor.extract.

    Concatenate and pad are built this way rather than from tensor.insert_slice, which
    bufferizes to a strided memref.copy: a call into MLIR's runtime library.
    """
    n = len(out_dims)

    def compute(acc):
        return body([linalg_gen.IndexOp(d).result for d in range(n)])
    return generic([], empty(out_dims, elem), [ir.AffineMap.get_identity(n)], [PARALLEL] * n, compute)


def _index(value: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), value).result


def lower_concatenate(op, a, b):
    dim, na = int_attr(op, "dimension"), shape(a)[int_attr(op, "dimension")]
    if na == 0 or shape(b)[dim] == 0:  # the gather below would read the empty operand
        return b if na == 0 else a

    def body(idx):
        k = idx[dim]
        in_a = arith.cmpi(arith.CmpIPredicate.ult, k, _index(na))
        ka = arith.minui(k, _index(na - 1))
        kb = arith.subi(arith.maxui(k, _index(na)), _index(na))
        va = tensor.ExtractOp(a, idx[:dim] + [ka] + idx[dim + 1:]).result
        vb = tensor.ExtractOp(b, idx[:dim] + [kb] + idx[dim + 1:]).result
        return arith.select(in_a, va, vb)
    return _gather(shape(op.result), element_type(a), body)


def lower_pad(op, x, padding_value):
    low, interior = int_array(op, "edge_padding_low"), int_array(op, "interior_padding")
    src = shape(x)

    def body(idx):
        value = tensor.ExtractOp(padding_value, []).result
        inside, at = None, []
        for i, lo, step, n in zip(idx, low, interior, src):
            # i - lo = k * (step + 1) with 0 <= k < n, else padding
            rel = arith.subi(i, _index(lo)) if lo else i
            ok = arith.andi(arith.cmpi(arith.CmpIPredicate.sge, rel, _index(0)),
                            arith.cmpi(arith.CmpIPredicate.slt, rel, _index((n - 1) * (step + 1) + 1)))
            if step:
                ok = arith.andi(ok, arith.cmpi(arith.CmpIPredicate.eq, arith.remsi(rel, _index(step + 1)), _index(0)))
                rel = arith.divsi(rel, _index(step + 1))
            at.append(arith.minsi(arith.maxsi(rel, _index(0)), _index(builtins.max(n - 1, 0))))
            inside = ok if inside is None else arith.andi(inside, ok)
        if 0 in src:
            return value
        read = tensor.ExtractOp(x, at).result
        return read if inside is None else arith.select(inside, read, value)
    return _gather(shape(op.result), element_type(x), body)


def _element_kind(t: ir.Type) -> str:
    return "float" if is_float_type(t) else "bool" if _width(t) == 1 else "int"


# (multiply, add) of a contraction by element kind: numpy's bool matmul is an OR of ANDs
# (i1 muli/addi would be AND/XOR); integers wrap around like numpy's.
_PRODUCT_SUM: dict[str, tuple[Callable, Callable]] = {
    "float": (arith.mulf, arith.addf), "int": (arith.muli, arith.addi), "bool": (arith.andi, arith.ori),
}


def lower_dot_general(op, a, b):
    lb, rb = int_array(op, "lhs_batching_dimensions"), int_array(op, "rhs_batching_dimensions")
    lc, rc = int_array(op, "lhs_contracting_dimensions"), int_array(op, "rhs_contracting_dimensions")
    ra, rb_rank = len(shape(a)), len(shape(b))
    lfree = [d for d in range(ra) if d not in lb and d not in lc]
    rfree = [d for d in range(rb_rank) if d not in rb and d not in rc]
    nb, nl, nr, nc = len(lb), len(lfree), len(rfree), len(lc)
    loops = nb + nl + nr + nc
    if contraction.wants_blas(a, b, lb, rb, lc, rc):
        return contraction.lower_as_matmul(a, b, lb, rb, lc, rc, shape(op.result))

    def operand_map(rank, batch, free, contract, free_base):
        exprs = [0] * rank
        for k, d in enumerate(batch):
            exprs[d] = k
        for k, d in enumerate(free):
            exprs[d] = free_base + k
        for k, d in enumerate(contract):
            exprs[d] = nb + nl + nr + k
        return affine_map(loops, exprs)

    elem = element_type(a)
    out_dims = shape(op.result)
    maps = [operand_map(ra, lb, lfree, lc, nb), operand_map(rb_rank, rb, rfree, rc, nb + nl),
            affine_map(loops, list(range(nb + nl + nr)))]
    mul, add = _PRODUCT_SUM[_element_kind(elem)]
    if nc == 0:
        # No contraction: a plain (broadcasting) product. An all-parallel generic must not
        # read its `outs`: elementwise fusion treats such an op as a pure map and re-runs an
        # `acc + x*y` body once per consumer element of a broadcasting consumer.
        return generic([a, b], empty(out_dims, elem), maps, [PARALLEL] * loops, lambda x, y, acc: mul(x, y))
    init = fill(out_dims, scalar_constant(elem, 0))
    return generic([a, b], init, maps, [PARALLEL] * (nb + nl + nr) + [REDUCTION] * nc,
                   lambda x, y, acc: add(acc, mul(x, y)))


def _reduce_identity(kind: str, t: ir.Type):
    if is_float_type(t):
        return {"sum": 0.0, "prod": 1.0, "max": float("-inf"), "min": float("inf")}[kind]
    if _width(t) == 1:
        return {"sum": 0, "prod": 1, "max": 0, "min": 1}[kind]
    bits = _width(t)
    return {"sum": 0, "prod": 1, "max": -(1 << (bits - 1)), "min": (1 << (bits - 1)) - 1}[kind]


def lower_reduce(op, x):
    kind = op.name[len("tfn.reduce_"):]
    dims, src, elem = int_array(op, "dimensions"), shape(x), element_type(x)
    combine = _scalar_rule(FLOAT_BINARY, INT_BINARY, BOOL_BINARY,
                           {"sum": "add", "prod": "mul", "max": "max", "min": "min"}[kind], elem)
    if not dims:
        return x  # nothing reduced (and an all-parallel generic must not read its `outs`)
    init = fill(shape(op.result), scalar_constant(elem, _reduce_identity(kind, elem)))
    kept = [d for d in range(len(src)) if d not in dims]
    return generic([x], init, [ir.AffineMap.get_identity(len(src)), affine_map(len(src), kept)],
                   [REDUCTION if d in dims else PARALLEL for d in range(len(src))],
                   lambda v, acc: combine(acc, v))


LOWERINGS: dict[str, Callable] = {
    **{f"tfn.{n}": lower_unary for n in ("neg", "exp", "log", "log1p", "expm1", "sin", "cos", "tanh", "erf",
                                          "floor", "ceil", "round",
                                          "logistic", "sqrt", "rsqrt", "abs", "sign", "stop_gradient")},
    **{f"tfn.{n}": lower_binary for n in ("add", "sub", "mul", "div", "pow", "max", "min")},
    **{f"tfn.reduce_{n}": lower_reduce for n in ("sum", "max", "min", "prod")},
    "tfn.compare": lower_compare, "tfn.select": lower_select, "tfn.convert": lower_convert,
    "tfn.constant": lower_constant, "tfn.iota": lower_iota,
    "tfn.broadcast_in_dim": lower_broadcast_in_dim, "tfn.transpose": lower_transpose,
    "tfn.reshape": lower_reshape, "tfn.slice": lower_slice, "tfn.concatenate": lower_concatenate,
    "tfn.pad": lower_pad, "tfn.dot_general": lower_dot_general,
}


def lower_op(op: ir.Operation) -> None:
    rule = LOWERINGS.get(op.name)
    if rule is None:
        err = NotImplementedError(f"no lowering for '{op.name}' (run the transform passes first?)")
        err.location = op.location  # reported at the op, not the module
        raise err
    with ir.InsertionPoint(op), op.location:
        out = ir.RankedTensorType(op.result.type)
        if 0 in out.shape:
            # Nothing to compute, and nothing must be read: a slice of a zero-size dim at
            # any offset is out of bounds for tensor.extract_slice's verifier, and a
            # gather would load from an empty buffer.
            new = empty(list(out.shape), out.element_type)
        else:
            try:
                new = rule(op, *op.operands)
            except Exception as e:
                # Whoever reports it (tfn.runtime.errors) names the op and the user's line.
                if not isinstance(getattr(e, "location", None), ir.Location):
                    e.location = op.location
                e.failing_op = (f"{op.name} : ({', '.join(str(v.type) for v in op.operands)}) -> "
                                f"{op.result.type}")
                raise
    op.result.replace_all_uses_with(new)
    op.erase()


def lower_to_linalg(module_op: ir.Operation) -> None:
    """Rewrites every tfn op under `module_op` (a builtin.module) into upstream dialects."""
    for op in find_ops(module_op, lambda op: op.name.startswith("tfn.")):
        lower_op(op)
    store_bools_as_bytes(module_op)


# ---------------------------------------------------------------- bool storage

def _is_bool_tensor(t: ir.Type) -> bool:
    if not isinstance(t, ir.RankedTensorType):
        return False
    e = t.element_type  # compared by class and width: printing the type cost ~3 us per value
    return isinstance(e, ir.IntegerType) and e.width == 1 and e.is_signless


def _byte_tensor(t: ir.Type) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(list(ir.RankedTensorType(t).shape), ir.IntegerType.get_signless(8))


def store_bools_as_bytes(module_op: ir.Operation) -> None:
    """Retypes every `tensor<...xi1>` to `tensor<...xi8>` (0 or 1 per byte, numpy's bool layout).

    i1 memrefs do not lower to LLVM (memref.load/store of i1 assert in MemRefToLLVM),
    so bool tensors are stored as bytes; linalg bodies still compute in i1, through
    `arith.trunci` of their byte arguments and `arith.extui` of what they yield.
    """
    i1, i8 = ir.IntegerType.get_signless(1), ir.IntegerType.get_signless(8)
    funcs, generics, extracts, constants = [], [], [], []
    kept = {"func.func": funcs, "linalg.generic": generics, "tensor.extract": extracts}
    advance = ir.WalkResult.ADVANCE

    def retype(op):   # payloads too: a gather's reads a tensor with tensor.extract
        name = op.name
        if name == "arith.constant" and _is_bool_tensor(op.result.type):
            constants.append(op)
            return advance
        for r in op.results:
            if _is_bool_tensor(r.type):
                r.set_type(_byte_tensor(r.type))
        found = kept.get(name)
        if found is not None:
            found.append(op)
        return advance
    module_op.walk(retype)
    for op in constants:
        attr, byte_type = ir.DenseElementsAttr(op.attributes["value"]), _byte_tensor(op.result.type)
        if attr.is_splat:
            bit = int(ir.BoolAttr(attr.get_splat_value()).value)
            attr = ir.DenseElementsAttr.get_splat(byte_type, ir.IntegerAttr.get(i8, bit))
        else:
            bits = ir.DenseIntElementsAttr(attr)
            data = np.array([bits[k] != 0 for k in range(len(bits))], np.int8)
            attr = ir.DenseElementsAttr.get(data.reshape(byte_type.shape), type=byte_type)
        with ir.InsertionPoint(op), op.location:
            new = arith.ConstantOp(byte_type, attr).result
        op.result.replace_all_uses_with(new)
        op.erase()
    for f in funcs:
        if not len(f.regions[0].blocks):
            continue
        for a in f.regions[0].blocks[0].arguments:
            if _is_bool_tensor(a.type):
                a.set_type(_byte_tensor(a.type))
        ftype = ir.FunctionType(ir.TypeAttr(f.attributes["function_type"]).value)
        f.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(
            [_byte_tensor(t) if _is_bool_tensor(t) else t for t in ftype.inputs],
            [_byte_tensor(t) if _is_bool_tensor(t) else t for t in ftype.results]))
    for op in extracts:
        if op.result.type == i1 and str(ir.RankedTensorType(op.operands[0].type).element_type) == "i8":
            op.result.set_type(i8)
            with ir.InsertionPoint.after(op), op.location:
                bit = arith.trunci(i1, op.result)
            op.result.replace_all_uses_except(bit, bit.owner.operation)
    for op in generics:
        block = op.regions[0].blocks[0]
        for arg, operand in zip(block.arguments, op.operands):
            if arg.type == i1 and str(ir.RankedTensorType(operand.type).element_type) == "i8":
                arg.set_type(i8)
                with ir.InsertionPoint.at_block_begin(block), op.location:
                    bit = arith.trunci(i1, arg)
                arg.replace_all_uses_except(bit, bit.owner.operation)
        terminator = list(block.operations)[-1]
        for k, (value, result) in enumerate(zip(list(terminator.operands), op.results)):
            if value.type == i1 and str(ir.RankedTensorType(result.type).element_type) == "i8":
                with ir.InsertionPoint(terminator), op.location:
                    terminator.operands[k] = arith.extui(i8, value)


# ---------------------------------------------------------------- random bits

_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(k0, k1, x0, x1):
    """Threefry-2x32 with 20 rounds (Random123) on i32 scalars; returns the two output words."""
    i32 = k0.type

    def c(v):
        return scalar_constant(i32, v - (1 << 32) if v >= 1 << 31 else v)

    def rotl(v, r):
        return arith.ori(arith.shli(v, c(r)), arith.shrui(v, c(32 - r)))
    ks = [k0, k1, arith.xori(arith.xori(k0, k1), c(0x1BD11BDA))]
    x0, x1 = arith.addi(x0, ks[0]), arith.addi(x1, ks[1])
    for group in range(5):
        for r in _THREEFRY_ROTATIONS[group % 2]:
            x0 = arith.addi(x0, x1)
            x1 = arith.xori(rotl(x1, r), x0)
        x0 = arith.addi(x0, ks[(group + 1) % 3])
        x1 = arith.addi(arith.addi(x1, ks[(group + 2) % 3]), c(group + 1))
    return x0, x1


def lower_random_bits(op, key):
    out = ir.RankedTensorType(op.result.type)
    dims, i32 = list(out.shape), out.element_type
    nk = len(shape(key)) - 1
    sample = dims[nk:]

    def key_map(word):
        return ir.AffineMap.get(len(dims), 0, [ir.AffineDimExpr.get(d) for d in range(nk)]
                                + [ir.AffineConstantExpr.get(word)])

    def body(k0, k1, acc):
        index_t = ir.IndexType.get()
        counter = scalar_constant(index_t, 0)
        for d, n in enumerate(sample):
            counter = arith.addi(arith.muli(counter, scalar_constant(index_t, n)),
                                 linalg_gen.IndexOp(nk + d).result)
        x0, x1 = threefry2x32(k0, k1, arith.index_cast(i32, counter), scalar_constant(i32, 0))
        return x0
    return generic([key, key], empty(dims, i32), [key_map(0), key_map(1), ir.AffineMap.get_identity(len(dims))],
                   [PARALLEL] * len(dims), body)


LOWERINGS["tfn.random_bits"] = lower_random_bits
