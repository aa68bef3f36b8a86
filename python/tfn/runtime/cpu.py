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
from mlir.dialects import bufferization, func
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager

from tfn.dialect.types import dtype_of, shape_of
from tfn.lowering import pipelines
from tfn.lowering.to_linalg import lower_to_linalg
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

    def memref(t):
        t = ir.RankedTensorType(t)
        return ir.MemRefType.get(list(t.shape), t.element_type)
    in_types = [memref(t) for t in ftype.inputs]
    out_types = [memref(t) for t in ftype.results]
    with ir.InsertionPoint(module.body), ir.Location.unknown():
        entry = func.FuncOp(ENTRY, (in_types + out_types, []))
        entry.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        block = entry.add_entry_block()
        with ir.InsertionPoint(block):
            tensors = [bufferization.ToTensorOp(t, a, restrict=True).result
                       for t, a in zip(ftype.inputs, block.arguments[:len(in_types)])]
            call = func.CallOp(list(ftype.results), ir.FlatSymbolRefAttr.get(callee), tensors)
            for result, out in zip(call.results, block.arguments[len(in_types):]):
                bufferization.MaterializeInDestinationOp(None, result, out, restrict=True, writable=True)
            func.ReturnOp([])


def lower_for_cpu(module: ir.Module, entry: str) -> dict[str, str]:
    """Lowers a tfn module in place to the LLVM dialect; returns the text of each stage."""
    stages = {"tfn": str(module)}
    lower_to_linalg(module.operation)
    add_entry_wrapper(module, entry)
    PassManager.parse(f"builtin.module({pipelines.LINALG_CLEANUP})").run(module.operation)
    stages["linalg"] = str(module)
    PassManager.parse(f"builtin.module({pipelines.CPU_TO_LLVM})").run(module.operation)
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
