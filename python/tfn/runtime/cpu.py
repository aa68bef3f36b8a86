"""CPU compilation and in-process execution through MLIR's ExecutionEngine.

The entry point takes every input and output as a memref: inputs are read in
place from the numpy buffers (`bufferization.to_tensor ... restrict`), results
are written straight into numpy arrays allocated by the caller
(`materialize_in_destination`), so no memory crosses the boundary with an owner
to track.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
from mlir import ir
from mlir.dialects import arith, bufferization, func
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager

from tfn.dialect.types import dtype_of, shape_of
from tfn.lowering import pipelines
from tfn.lowering.copies import lower_strided_copies
from tfn.lowering.blas import linalg_to_blas
from tfn.lowering.builders import elementwise
from tfn.lowering.fastmath import relax_reductions
from tfn.lowering.to_linalg import lower_to_linalg
from tfn.runtime import blas as blas_runtime
from tfn.runtime.memref import make_descriptor

ENTRY = "_tfn_entry"


def add_entry_wrapper(module: ir.Module, callee: str) -> None:
    """Adds `func @_tfn_entry(inputs..., outputs...)` (memrefs, C interface) calling `callee`."""
    target = None
    for op in module.body.operations:
        if op.operation.name == "func.func":
            if ir.StringAttr(op.attributes["sym_name"]).value == callee:
                target = op
            else:
                op.attributes["sym_visibility"] = ir.StringAttr.get("private")
    ftype = ir.FunctionType(ir.TypeAttr(target.attributes["function_type"]).value)
    target.attributes["sym_visibility"] = ir.StringAttr.get("private")

    i1, i8 = ir.IntegerType.get_signless(1), ir.IntegerType.get_signless(8)

    def boundary(t):
        # numpy bools are bytes; i1 memrefs cannot be loaded or stored by the LLVM lowering.
        t = ir.RankedTensorType(t)
        return ir.RankedTensorType.get(list(t.shape), i8 if t.element_type == i1 else t.element_type)

    def memref(t):
        t = boundary(t)
        return ir.MemRefType.get(list(t.shape), t.element_type)
    in_types = [memref(t) for t in ftype.inputs]
    out_types = [memref(t) for t in ftype.results]
    with ir.InsertionPoint(module.body), ir.Location.unknown():
        entry = func.FuncOp(ENTRY, (in_types + out_types, []))
        entry.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        block = entry.add_entry_block()
        with ir.InsertionPoint(block):
            tensors = []
            for t, a in zip(ftype.inputs, block.arguments[:len(in_types)]):
                v = bufferization.ToTensorOp(boundary(t), a, restrict=True).result
                if ir.RankedTensorType(t).element_type == i1:
                    v = elementwise([v], i1, lambda x: arith.trunci(i1, x))
                tensors.append(v)
            call = func.CallOp(list(ftype.results), ir.FlatSymbolRefAttr.get(callee), tensors)
            for result, out in zip(call.results, block.arguments[len(in_types):]):
                if ir.RankedTensorType(result.type).element_type == i1:
                    result = elementwise([result], i8, lambda x: arith.extui(i8, x))
                bufferization.MaterializeInDestinationOp(None, result, out, restrict=True, writable=True)
            func.ReturnOp([])


def lower_for_cpu(module: ir.Module, entry: str, use_blas: bool | None = None) -> dict[str, str]:
    """Lowers a tfn module in place to the LLVM dialect; returns the text of each stage.

    `use_blas` (default: whether a BLAS could be loaded into this process) turns large
    f32/f64 contractions into calls of that BLAS; code meant to run elsewhere passes False.
    """
    if use_blas is None:
        use_blas = blas_runtime.available()
    stages = {"tfn": str(module)}
    lower_to_linalg(module.operation)
    add_entry_wrapper(module, entry)
    PassManager.parse(f"builtin.module({pipelines.LINALG_CLEANUP})").run(module.operation)
    relax_reductions(module.operation)
    stages["linalg"] = str(module)
    PassManager.parse(f"builtin.module({pipelines.CPU_BUFFERIZE})").run(module.operation)
    if use_blas:
        linalg_to_blas(module.operation)
    lower_strided_copies(module.operation)
    PassManager.parse(f"builtin.module({pipelines.CPU_BUFFERS_TO_LLVM})").run(module.operation)
    stages["llvm"] = str(module)
    return stages


@dataclass
class _Slot:
    shape: tuple
    dtype: np.dtype
    descriptor: ctypes.Structure
    pointer: ctypes.c_void_p


class CpuExecutable:
    """A compiled function: call it with numpy arrays of the traced shapes and dtypes."""

    def __init__(self, module: ir.Module, entry: str, opt_level: int = 3):
        ftype = None
        for op in module.body.operations:
            if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == entry:
                ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
        self.in_specs = [(tuple(ir.RankedTensorType(t).shape), _np_dtype(t)) for t in ftype.inputs]
        self.out_specs = [(tuple(ir.RankedTensorType(t).shape), _np_dtype(t)) for t in ftype.results]
        self.stages = lower_for_cpu(module, entry)
        self.engine = ExecutionEngine(module, opt_level=opt_level)
        self._function = self.engine.lookup(ENTRY)
        n = len(self.in_specs) + len(self.out_specs)
        self._slots = []
        self._packed = (ctypes.c_void_p * n)()
        for i, (shape, dtype) in enumerate(self.in_specs + self.out_specs):
            desc = make_descriptor(shape)
            ptr = ctypes.pointer(desc)
            holder = ctypes.pointer(ptr)
            self._slots.append((desc, ptr, holder))
            self._packed[i] = ctypes.cast(holder, ctypes.c_void_p)

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        keep = []
        for (desc, _, _), (shape, dtype), a in zip(self._slots, self.in_specs, arrays):
            a = np.ascontiguousarray(a, dtype=dtype)
            keep.append(a)
            desc.allocated = desc.aligned = a.ctypes.data
        outs = [np.empty(shape, dtype) for shape, dtype in self.out_specs]
        for (desc, _, _), out in zip(self._slots[len(self.in_specs):], outs):
            desc.allocated = desc.aligned = out.ctypes.data
        self._function(self._packed)
        return outs


def _np_dtype(t: ir.Type) -> np.dtype:
    from tfn.dialect.types import to_dtype
    return to_dtype(ir.RankedTensorType(t).element_type)
