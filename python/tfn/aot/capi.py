"""The plain C API of an artifact: an LLVM wrapper function and the header declaring it.

ABI (version 1) of a function `NAME` with inputs in0..inN-1 and outputs out0..outM-1:

    int NAME(const T0* in0, ..., const Tn* inN-1, U0* out0, ..., Um* outM-1);

- Every array is dense, row-major (C order), of exactly the shape in the header,
  aligned to its element size. Element types: float (f32), double (f64), int32_t,
  int64_t, and uint8_t for bool (0 or 1).
- Inputs are only read. Outputs are written in full and must not overlap any
  input or each other. A rank-0 array is a pointer to one element.
- Returns 0 (TFN_AOT_OK), TFN_AOT_ERROR_NULL_POINTER when a pointer is NULL, or
  TFN_AOT_ERROR_OUT_OF_MEMORY when the temporaries could not be allocated (nothing
  is written then).
- The code keeps no state: its temporaries live in one workspace of NAME_WORKSPACE_BYTES
  (a compile-time constant), malloc'ed and checked before any code runs and freed
  within the call, so concurrent calls from several threads are safe. It needs only
  libc and libm.

The wrapper is emitted in the LLVM dialect and calls the entry point `_tfn_entry` with
one pointer per array (memrefs cross calls as bare pointers; with memref descriptors,
(pointer, pointer, offset 0, sizes..., strides...) per array) and the workspace as one
more `memref<Nxi8>` (see `tfn-pool-host-allocations`);
every other symbol of the module is made internal, so several artifacts link into
one program.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from mlir import ir

ABI_VERSION = 1
ENTRY = "_tfn_entry"
OK, ERROR_NULL_POINTER, ERROR_OUT_OF_MEMORY = 0, 1, 2

# The 16-bit floats cross as their bits in uint16_t (IEEE binary16, and bfloat16: a float's
# high half): C has no portable type for either (`_Float16` is a GCC/Clang extension on some
# targets only, bfloat16 has none), and a C program converts them in two lines.
C_TYPES = {"float32": "float", "float64": "double", "int32": "int32_t", "int64": "int64_t", "bool": "uint8_t",
           "float16": "uint16_t", "bfloat16": "uint16_t"}
SHORT_NAMES = {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64", "bool": "bool",
               "float16": "f16", "bfloat16": "bf16"}

_C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for goto
if inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert
_Thread_local bool true false main""".split())
# C library functions the generated code (or any program) calls: a definition would replace them.
_LIBC_NAMES = frozenset("""malloc calloc realloc free aligned_alloc posix_memalign memcpy memmove memset memcmp
abort exit printf puts strlen errno""".split()) | frozenset(
    f + suffix for f in """exp exp2 expm1 log log2 log10 log1p pow sqrt cbrt sin cos tan asin acos atan atan2 sinh
cosh tanh asinh acosh atanh erf erfc fabs floor ceil round trunc fmod fma fmin fmax copysign""".split()
    for suffix in ("", "f", "l"))


@dataclass(frozen=True)
class TensorSpec:
    """One argument or result of the C function: its shape, dtype and where it comes from."""
    shape: tuple[int, ...]
    dtype: np.dtype
    path: str = ""  # the pytree position, e.g. "params[0][1]"; "" when unknown

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def c_type(self) -> str:
        return C_TYPES[np.dtype(self.dtype).name]

    @property
    def short(self) -> str:
        return f"{SHORT_NAMES[np.dtype(self.dtype).name]}[{','.join(map(str, self.shape))}]"


def check_c_name(name: str) -> str:
    """`name` if it can be the C function's name; raises ValueError otherwise."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or ""):
        raise ValueError(f"the function name {name!r} is not a C identifier (letters, digits, '_')")
    if name in _C_KEYWORDS:
        raise ValueError(f"the function name '{name}' is reserved in C; choose another name")
    if name in _LIBC_NAMES:
        raise ValueError(f"the function name '{name}' is a C library function; choose another name")
    if name.startswith(("_tfn", "_mlir", "__")):
        raise ValueError(f"the function name '{name}' uses a prefix reserved for generated code")
    return name


# ---------------------------------------------------------------------------- the wrapper

def _descriptor_fields(rank: int) -> list[str]:
    return ["!llvm.ptr", "!llvm.ptr", "i64"] + ["i64"] * (2 * rank)


def add_c_wrapper(module: ir.Module, name: str, inputs: list[TensorSpec], outputs: list[TensorSpec],
                  workspace_bytes: int = 0) -> None:
    """Adds `llvm.func @name(ptr...) -> i32` calling `_tfn_entry`; makes everything else internal.

    `module` is in the LLVM dialect (after `lower_for_cpu`, whose `host_workspace_bytes`
    is `workspace_bytes`: the wrapper mallocs that workspace, checks it and frees it).
    Raises ValueError if `name` is the name of an external function the code calls
    (malloc, expf, ...).
    """
    body = module.body
    funcs = {ir.StringAttr(op.attributes["sym_name"]).value: op for op in body.operations
             if op.operation.name in ("llvm.func", "llvm.mlir.global")}
    entry = funcs.get(ENTRY)
    if entry is None:
        raise ValueError(f"the lowered module has no '{ENTRY}' function")
    clash = funcs.get(name)
    if clash is not None:
        if len(clash.regions[0].blocks) == 0 or clash.operation.name != "llvm.func":
            raise ValueError(f"the function name '{name}' is also a library symbol the compiled code uses; "
                             f"choose another name")
        renamed = f"_tfn_internal_{name}"
        ir.SymbolTable.replace_all_symbol_uses(name, renamed, module.operation)
        ir.SymbolTable.set_symbol_name(clash.operation, renamed)
    ciface = funcs.get(f"_mlir_ciface_{ENTRY}")
    if ciface is not None:
        ciface.operation.erase()
    internal = ir.Attribute.parse("#llvm.linkage<internal>")
    for sym, op in funcs.items():
        if sym == f"_mlir_ciface_{ENTRY}":
            continue
        is_definition = (len(op.regions[0].blocks) > 0 if op.operation.name == "llvm.func"
                         else "value" in op.attributes or len(op.regions[0].blocks) > 0)
        if is_definition:
            op.attributes["linkage"] = internal
            if "llvm.emit_c_interface" in op.attributes:
                del op.attributes["llvm.emit_c_interface"]

    specs = inputs + outputs
    n = len(specs)
    params = ", ".join(f"%a{i}: !llvm.ptr" for i in range(n))
    lines = [f"llvm.func @{name}({params}) -> i32 {{",
             "  %null = llvm.mlir.zero : !llvm.ptr",
             f"  %ok = llvm.mlir.constant({OK} : i32) : i32",
             f"  %bad = llvm.mlir.constant({ERROR_NULL_POINTER} : i32) : i32",
             f"  %oom = llvm.mlir.constant({ERROR_OUT_OF_MEMORY} : i32) : i32",
             "  %false = llvm.mlir.constant(false) : i1"]
    acc = "%false"
    for i in range(n):
        lines += [f"  %z{i} = llvm.icmp \"eq\" %a{i}, %null : !llvm.ptr",
                  f"  %any{i} = llvm.or {acc}, %z{i} : i1"]
        acc = f"%any{i}"
    lines.append(f"  llvm.cond_br {acc}, ^null, ^call")
    lines.append("^call:")
    constants: dict[int, str] = {}

    def const(v: int) -> str:
        if v not in constants:
            constants[v] = f"%c{len(constants)}"
            lines.append(f"  {constants[v]} = llvm.mlir.constant({v} : i64) : i64")
        return constants[v]

    # The CPU pipeline passes memrefs as bare pointers (one per array); a module lowered with
    # descriptors takes (pointer, pointer, offset, sizes..., strides...) per array.
    entry_arguments = len(entry.regions[0].blocks[0].arguments) if len(entry.regions[0].blocks) else -1
    bare = entry_arguments == n + (1 if workspace_bytes else 0)
    args, types = [], []
    for i, spec in enumerate(specs):
        if bare:
            args.append(f"%a{i}")
            types.append("!llvm.ptr")
            continue
        strides = [int(np.prod(spec.shape[k + 1:], dtype=np.int64)) for k in range(len(spec.shape))]
        args += [f"%a{i}", f"%a{i}", const(0)] + [const(d) for d in spec.shape] + [const(s) for s in strides]
        types += _descriptor_fields(len(spec.shape))
    if workspace_bytes:
        # malloc before any code runs: a NULL checked here is an error code, not a segfault.
        size = const(workspace_bytes)
        lines += [f"  %ws = llvm.call @malloc({size}) : (i64) -> !llvm.ptr",
                  "  %no_ws = llvm.icmp \"eq\" %ws, %null : !llvm.ptr",
                  "  llvm.cond_br %no_ws, ^out_of_memory, ^run",
                  "^run:"]
        args += ["%ws"] if bare else ["%ws", "%ws", const(0), size, const(1)]
        types += ["!llvm.ptr"] if bare else _descriptor_fields(1)
    lines.append(f"  llvm.call @{ENTRY}({', '.join(args)}) : ({', '.join(types)}) -> ()")
    if workspace_bytes:
        lines.append("  llvm.call @free(%ws) : (!llvm.ptr) -> ()")
    lines += ["  llvm.return %ok : i32",
              "^null:",
              "  llvm.return %bad : i32"]
    if workspace_bytes:
        lines += ["^out_of_memory:", "  llvm.return %oom : i32"]
    lines.append("}")
    declarations = [f"llvm.func @{ENTRY}({', '.join(types)})"]
    for symbol, signature in (("malloc", "(i64) -> !llvm.ptr"), ("free", "(!llvm.ptr)")):
        if workspace_bytes and symbol not in funcs:  # declared once: a duplicate symbol aborts
            declarations.append(f"llvm.func @{symbol}{signature}")
    with module.context, ir.Location.unknown():
        scratch = ir.Module.parse("\n".join(declarations) + "\n" + "\n".join(lines))
        scratch_ops = list(scratch.body.operations)
        for op in scratch_ops[1:]:
            op.operation.move_before(list(body.operations)[0])
    expected = ir.TypeAttr(scratch_ops[0].attributes["function_type"]).value
    actual = ir.TypeAttr(entry.attributes["function_type"]).value
    if str(actual) != str(expected):
        raise ValueError(f"internal error: '{ENTRY}' has type {actual}, expected {expected}")
    module.operation.verify()


# ---------------------------------------------------------------------------- the header

def header(name: str, inputs: list[TensorSpec], outputs: list[TensorSpec], *, source: str = "",
           target: str = "", workspace_bytes: int = 0) -> str:
    """The C header declaring `int name(const T* in0, ..., U* out0, ...)`, with shape constants."""
    up = name.upper()
    guard = f"TFN_AOT_{up}_H"
    out = [f"/* {name}: compiled ahead of time by tfn. Do not edit. */",
           *([f"/* Source: {source} */"] if source else []),
           *([f"/* Target: {target} */"] if target else []),
           "/*",
           " * ABI version 1. All arrays are dense, row-major (C order), aligned to their",
           " * element size, of exactly the shapes below; bool is uint8_t holding 0 or 1.",
           " * Inputs are only read. Outputs are written in full and must not overlap any",
           " * input or each other. Returns TFN_AOT_OK (0), TFN_AOT_ERROR_NULL_POINTER if a",
           " * pointer is NULL, or TFN_AOT_ERROR_OUT_OF_MEMORY if the temporaries (one block",
           f" * of {up}_WORKSPACE_BYTES, malloc'ed for the call) could not be allocated; nothing",
           " * is written then. No global state: calls are thread-safe.",
           " * Link with the object or library and -lm.",
           " */",
           f"#ifndef {guard}", f"#define {guard}", "", "#include <stdint.h>", "",
           "#ifndef TFN_AOT_OK", "#define TFN_AOT_OK 0",
           f"#define TFN_AOT_ERROR_NULL_POINTER {ERROR_NULL_POINTER}", "#endif",
           "#ifndef TFN_AOT_ERROR_OUT_OF_MEMORY",
           f"#define TFN_AOT_ERROR_OUT_OF_MEMORY {ERROR_OUT_OF_MEMORY}", "#endif", "",
           f"#define {up}_ABI_VERSION {ABI_VERSION}",
           f"#define {up}_NUM_INPUTS {len(inputs)}",
           f"#define {up}_NUM_OUTPUTS {len(outputs)}",
           f"#define {up}_WORKSPACE_BYTES {workspace_bytes}", ""]
    for kind, specs in (("IN", inputs), ("OUT", outputs)):
        for i, spec in enumerate(specs):
            p = f"{up}_{kind}{i}"
            out.append(f"/* {kind.lower()}{i}: {spec.short}{'  ' + spec.path if spec.path else ''} */")
            out.append(f"#define {p}_TYPE {spec.c_type}")
            out.append(f"#define {p}_RANK {len(spec.shape)}")
            for k, d in enumerate(spec.shape):
                out.append(f"#define {p}_DIM{k} {d}")
            out.append(f"#define {p}_SIZE {spec.size}")
        out.append("")
    params = [f"const {s.c_type}* in{i}" for i, s in enumerate(inputs)] + \
             [f"{s.c_type}* out{i}" for i, s in enumerate(outputs)]
    comments = [f"{s.short} {s.path}".strip() for s in inputs + outputs]
    decl = [f"int {name}("]
    for k, (p, c) in enumerate(zip(params, comments)):
        decl.append(f"    {p}{',' if k < len(params) - 1 else ''}  /* {c} */")
    if not params:
        decl.append("    void")
    decl.append(");")
    out += ["#ifdef __cplusplus", 'extern "C" {', "#endif", "", *decl, "",
            "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {guard} */", ""]
    return "\n".join(out)
