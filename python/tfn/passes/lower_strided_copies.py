"""Pass `tfn-lower-strided-copies`: memref.copy between strided buffers -> a linalg.generic copy.

Bufferizing `tensor.insert_slice` (concatenate, pad, transposed slices) copies into
strided subviews; the LLVM lowering turns such a copy into a call to `memrefCopy`
from the C runner-utils library, which drags a second copy of MLIR into the
process. A linalg copy lowers to plain loops instead.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg as linalg_gen
from tfn.lowering.builders import iterator_types
from tfn.passes.ir_utils import find_ops

NAME = "tfn-lower-strided-copies"
DESCRIPTION = "Rewrite memref.copy between strided buffers into linalg copies"
PARALLEL = "#linalg.iterator_type<parallel>"


def run(module_op: ir.Operation) -> None:
    for copy in find_ops(module_op, "memref.copy", payloads=False):
        src, dst = copy.operands
        src_t, dst_t = ir.MemRefType(src.type), ir.MemRefType(dst.type)
        if _is_identity(src_t) and _is_identity(dst_t):
            continue  # lowers to llvm.memcpy
        rank = len(src_t.shape)
        ident = ir.AffineMapAttr.get(ir.AffineMap.get_identity(rank))
        with ir.InsertionPoint(copy), copy.location:
            generic = linalg_gen.GenericOp([], [src], [dst], ir.ArrayAttr.get([ident, ident]),
                                           iterator_types([PARALLEL] * rank))
            block = generic.regions[0].blocks.append(src_t.element_type, dst_t.element_type)
            with ir.InsertionPoint(block):
                linalg_gen.YieldOp([block.arguments[0]])
        copy.erase()


def _is_identity(t: ir.MemRefType) -> bool:
    layout = t.layout
    try:
        return ir.AffineMapAttr(layout).value.is_permutation and ir.AffineMapAttr(layout).value == \
            ir.AffineMap.get_identity(len(t.shape))
    except ValueError:
        return False
