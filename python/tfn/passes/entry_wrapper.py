"""Pass `tfn-entry-wrapper`: the entry point `_tfn_entry(inputs..., outputs...)` on memrefs.

The wrapper calls function `callee` (made private, as every other function is):
inputs are read in place (`bufferization.to_tensor ... restrict`) and results are
written into buffers the caller allocated (`materialize_in_destination`), so no
buffer crosses the boundary with an owner to track. numpy's bools are bytes: i1
tensors cross as i8 memrefs.

```mlir
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> { ... }
// gains
func.func @_tfn_entry(%in: memref<4xf32>, %out: memref<4xf32>) attributes {llvm.emit_c_interface} {
  %x = bufferization.to_tensor %in restrict : memref<4xf32> to tensor<4xf32>
  %r = call @main(%x) : (tensor<4xf32>) -> tensor<4xf32>
  bufferization.materialize_in_destination %r in restrict writable %out : (tensor<4xf32>, memref<4xf32>) -> ()
  return
}
```
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, bufferization, func

from tfn.lowering.builders import elementwise
from tfn.passes.pipelines import ENTRY

NAME = "tfn-entry-wrapper"
DESCRIPTION = "Add the entry point _tfn_entry(inputs..., outputs...) on memrefs calling `callee`"


def run(module_op: ir.Operation, callee: str = "main") -> None:
    body = module_op.regions[0].blocks[0]
    target = None
    for op in body.operations:
        if op.operation.name == "func.func":
            if ir.StringAttr(op.attributes["sym_name"]).value == callee:
                target = op
            else:
                op.attributes["sym_visibility"] = ir.StringAttr.get("private")
    if target is None:
        raise ValueError(f"no function '{callee}' to make the entry point of")
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
    with ir.InsertionPoint(body), ir.Location.unknown():
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
