"""`tfn-compile`: ahead-of-time compilation to an object file, a shared library and a C header.

    tfn-compile model.py:loss_grad --shapes 'f32[784,512],f32[64,784]' -o build/
    tfn-compile model.mlir --entry predict --emit obj,header,mlir -o build/
    tfn-compile model.py:step --shapes '((f32[4,3],f32[3]),),f32[8,4]' --cpu generic --name step

A Python input is `FILE.py:FUNCTION`; `--shapes` gives one spec per positional
argument, a pytree written with (), [] and {k: ...} around dtype[dims] leaves.
A `.mlir` input holds tfn IR (transform ops are expanded) and `--entry` names the
function. The C function is `int NAME(const T* in0, ..., U* out0, ...)`, declared
in NAME.h. Every failure is a located diagnostic or a one-line message on stderr
and exit status 1, never a Python traceback.
"""
from __future__ import annotations

import importlib.util
import linecache
import os
import sys
import traceback
from pathlib import Path

from mlir import ir

from tfn.tools.cli import Failure, Parser, UsageError, guarded_main

PROG = "tfn-compile"
_TFN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))








def _build_parser() -> Parser:
    from tfn.aot import EMIT_KINDS
    p = Parser(prog=PROG, allow_abbrev=False,
                description="Compile a tfn function ahead of time to native code with a plain C API.",
                epilog="The C ABI: dense row-major arrays of the header's shapes; returns 0 on success. "
                       "Link the object or library with -lm.")
    p.add_argument("input", help="FILE.py:FUNCTION, or a .mlir file of tfn IR ('-' for stdin)")
    p.add_argument("--shapes", metavar="SPECS",
                   help="argument specs of a Python function, e.g. 'f32[64,784],(f32[784,10],f32[10])'")
    p.add_argument("--entry", metavar="NAME", help="the function of a .mlir input to compile")
    p.add_argument("--name", metavar="NAME", help="name of the C function and of the files (default: the function's)")
    p.add_argument("-o", dest="output", default=".", metavar="DIR", help="output directory (default: .)")
    p.add_argument("--emit", default="obj,so,header", metavar="KINDS",
                   help=f"comma-separated outputs among {','.join(EMIT_KINDS)} (default: obj,so,header)")
    p.add_argument("--cpu", default="host",
                   help="'host' (this CPU and its features, default), 'generic' (any x86-64) or an LLVM "
                        "x86-64 CPU name such as x86-64-v3")
    p.add_argument("-O", dest="opt_level", default="3", metavar="LEVEL", help="optimization level 0-3 (default 3)")
    p.add_argument("--use-blas", action="store_true",
                   help="call scipy_cblas_[sd]gemm64_ for large contractions (the program must link a BLAS)")
    return p


# ---------------------------------------------------------------------------- diagnostics

def _source_line(path: str, line: int) -> str:
    text = linecache.getline(path, line).rstrip("\n")
    return f"\n{text}" if text else ""


def _user_frames(tb) -> list[traceback.FrameSummary]:
    """Frames of the traceback outside the tfn package and the MLIR bindings."""
    frames = traceback.extract_tb(tb)
    return [f for f in frames if not os.path.abspath(f.filename).startswith(_TFN_DIR)
            and f"{os.sep}mlir{os.sep}" not in f.filename and not f.filename.startswith("<frozen")]


def _located(e: BaseException, user_files: set[str] | None = None) -> str:
    """`file:line: error: Type: message` at the user's innermost line, with that line shown."""
    message = str(e).split("\n  at ")[0].strip() or type(e).__name__
    kind = type(e).__name__
    frames = _user_frames(e.__traceback__)
    if user_files is not None:
        frames = [f for f in frames if os.path.abspath(f.filename) in user_files] or frames
    if frames:
        f = frames[-1]
        return f"{f.filename}:{f.lineno}: error: {kind}: {message}{_source_line(f.filename, f.lineno)}"
    return f"{PROG}: error: {kind}: {message}"


def _compile_error_text(e: BaseException, fallback: str) -> str:
    """`file:line: error: internal compiler error ...` for a CompileError (or a MemoryError) of the
    lowering, at the failing op's line where known, else at `fallback` (the input)."""
    text = str(e)
    for prefix in ("tfn.aot: ", "tfn.jit: "):
        text = text.removeprefix(prefix)
    where = getattr(e, "location", None) or fallback
    kind = "" if type(e).__name__ == "CompileError" else f"{type(e).__name__}: "
    return f"{where}: error: {kind}{text}"


def _mlir_location_message(e: BaseException, display: str, lines: list[str]) -> str | None:
    from tfn.tools.diagnostics import Record, file_position, format_record
    loc = getattr(e, "location", None)
    if not isinstance(loc, ir.Location):
        return None
    position = file_position(loc)
    if position is None:
        return None
    record = Record("error", str(e), *position)
    return format_record(record, display, lines if position[0] == display else None)


# ---------------------------------------------------------------------------- Python input

def _load_python(spec: str) -> tuple[object, str, str]:
    """'dir/file.py:fn' -> (fn, file path, function name)."""
    path, _, attr = spec.rpartition(":")
    if not attr:
        raise Failure(f"{PROG}: error: name the function after the file: '{path}:FUNCTION'")
    file = Path(path)
    if not file.is_file():
        raise Failure(f"{PROG}: error: cannot open '{path}': no such file")
    module_name = "_tfn_compile_" + "".join(c if c.isalnum() else "_" for c in file.stem)
    try:
        source = file.read_text(encoding="utf-8")
        compile(source, str(file), "exec")
    except UnicodeDecodeError as e:
        raise Failure(f"{path}: error: not a UTF-8 text file (byte {e.start})") from None
    except SyntaxError as e:
        col = f":{e.offset}" if e.offset else ""
        shown = f"\n{e.text.rstrip()}\n{' ' * max((e.offset or 1) - 1, 0)}^" if e.text else ""
        raise Failure(f"{e.filename}:{e.lineno}{col}: error: SyntaxError: {e.msg}{shown}") from None
    except OSError as e:
        raise Failure(f"{PROG}: error: cannot read '{path}': {e.strerror or e}") from None
    import_spec = importlib.util.spec_from_file_location(module_name, str(file))
    module = importlib.util.module_from_spec(import_spec)
    sys.modules[module_name] = module
    directory = str(file.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        import_spec.loader.exec_module(module)
    except SystemExit as e:
        raise Failure(f"{PROG}: error: importing '{path}' called exit({e.code})") from None
    except Exception as e:  # noqa: BLE001 - the user's module failed: show their line
        raise Failure(_located(e) + f"\n{PROG}: note: while importing '{path}'") from None
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                           and getattr(v, "__module__", None) == module_name)
            hint = f" (functions there: {', '.join(names)})" if names else ""
            raise Failure(f"{PROG}: error: '{path}' has no function '{attr}'{hint}")
        target = getattr(target, part)
    if not callable(target):
        kind = type(target).__name__
        raise Failure(f"{PROG}: error: '{path}:{attr}' is {'an' if kind[0] in 'aeiou' else 'a'} {kind}, "
                      f"not a function")
    return target, str(file.resolve()), attr.split(".")[-1]


def _compile_python(args, options) -> object:
    from tfn import aot
    if args.entry is not None:
        raise UsageError("--entry is for .mlir inputs; name a Python function as FILE.py:FUNCTION")
    if args.shapes is None:
        raise UsageError("a Python input needs --shapes, e.g. --shapes 'f32[64,784],f32[784,10]'")
    try:
        specs = aot.parse_shapes(args.shapes)
    except aot.ShapeSyntaxError as e:
        raise Failure(f"{PROG}: error: --shapes: {e.reason} at column {e.column}\n  {e.text}\n"
                      f"  {' ' * (e.column - 1)}^") from None
    fn, file, fname = _load_python(args.input)
    name = args.name or fname
    _check_name(name)
    from tfn.runtime.errors import CompileError
    try:
        return aot.compile(fn, *specs, name=name, **options)
    except aot.ToolchainError as e:
        raise Failure(f"{PROG}: error: {e}") from None
    except (CompileError, MemoryError) as e:
        raise Failure(_compile_error_text(e, file)) from None
    except Exception as e:  # noqa: BLE001 - a tracing error: show the user's line
        located = _mlir_location_message(e, file, [])
        text = located or _located(e, {file})
        if isinstance(e, TypeError) and "positional argument" in str(e):
            text += f"\n{PROG}: note: --shapes gives {len(specs)} argument(s)"
        raise Failure(text) from None


# ---------------------------------------------------------------------------- MLIR input

def _compile_mlir(args, options) -> object:
    from tfn import aot
    from tfn.dialect import new_context
    from tfn.tools.diagnostics import DiagnosticLog, Record, format_record
    from tfn.tools.source import ParseFailure, parse_module, read_input
    from tfn.passes.pipelines import EXPAND
    from tfn.passes.registry import add_pipeline

    if args.shapes is not None:
        raise UsageError("--shapes is for Python inputs; a .mlir function's types give its shapes")
    if args.entry is None:
        raise UsageError("a .mlir input needs --entry NAME, the function to compile")
    name = args.name or args.entry
    _check_name(name)
    try:
        display, text = read_input(args.input)
    except OSError as e:
        raise Failure(f"{args.input}: error: could not open input file: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise Failure(f"{args.input}: error: not a UTF-8 text file (byte {e.start})") from None
    lines = text.splitlines()
    log = DiagnosticLog()
    context = new_context()
    context.enable_multithreading(False)

    def report(records) -> Failure:
        return Failure("\n".join(format_record(r, display, lines if r.file == display else None)
                                 for rec in records for r in [rec, *rec.notes]))

    with context, ir.Location.unknown():
        with log.capture(context):
            try:
                module, _ = parse_module(text, display, context)
            except ParseFailure as e:
                raise report(log.records or [Record("error", str(e))]) from None
            module = module.opview  # a builtin.module view: .body, .operation, .context
            from mlir.passmanager import PassManager
            pm = PassManager("builtin.module")
            add_pipeline(pm, f"tfn-verify,{EXPAND}")
            try:
                pm.run(module.operation)
            except ir.MLIRError as e:
                records = log.records if log.has_errors else [*log.records, Record("error", str(e))]
                raise report(records) from None
        from tfn.runtime.errors import CompileError
        try:
            return aot.compile_module(module, args.entry, name, source=display, **options)
        except aot.AotError as e:
            where = ":".join(map(str, e.location)) if e.location else display
            raise Failure(f"{where}: error: {e}") from None
        except aot.ToolchainError as e:
            raise Failure(f"{PROG}: error: {e}") from None
        except (CompileError, MemoryError) as e:
            raise Failure(_compile_error_text(e, display)) from None
        except Exception as e:  # noqa: BLE001 - e.g. an op without a lowering, reported at the op
            located = _mlir_location_message(e, display, lines)
            raise Failure(located or f"{display}: error: {type(e).__name__}: {e}") from None




# ---------------------------------------------------------------------------- driver

def _check_name(name: str) -> None:
    from tfn.aot.capi import check_c_name
    try:
        check_c_name(name)
    except ValueError as e:
        raise UsageError(f"{e} (set one with --name)") from None


def _options(args) -> dict:
    from tfn.aot import EMIT_KINDS, check_target
    kinds = [k.strip() for k in args.emit.split(",") if k.strip()]
    if not kinds:
        raise UsageError("--emit needs at least one of " + ",".join(EMIT_KINDS))
    for k in kinds:
        if k not in EMIT_KINDS:
            raise UsageError(f"--emit: unknown output kind '{k}' (choose from {','.join(EMIT_KINDS)})")
    args.emit_kinds = kinds
    if args.opt_level not in ("0", "1", "2", "3"):
        raise UsageError(f"-O: the optimization level must be 0, 1, 2 or 3, not '{args.opt_level}'")
    try:
        target = check_target(args.cpu, int(args.opt_level))
    except ValueError as e:
        raise UsageError(f"--cpu: {e}") from None
    return {"cpu": target.cpu, "opt_level": target.opt_level, "use_blas": args.use_blas}


def _is_python_input(spec: str) -> bool:
    path, colon, _ = spec.rpartition(":")
    return bool(colon) and path.endswith(".py")


def run(argv: list[str]) -> int:
    args = _build_parser().parse_args(argv)
    options = _options(args)
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise UsageError(f"-o: '{args.output}' exists and is not a directory")
    if args.input.endswith(".py"):
        raise UsageError(f"name the function to compile: '{args.input}:FUNCTION'")
    artifact = _compile_python(args, options) if _is_python_input(args.input) else _compile_mlir(args, options)
    from tfn.aot import ToolchainError
    try:
        artifact.write(output, emit=args.emit_kinds)
    except ToolchainError as e:
        raise Failure(f"{PROG}: error: {e}") from None
    except OSError as e:
        raise Failure(f"{PROG}: error: cannot write to '{args.output}': {e.strerror or e}") from None
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `tfn-compile`; returns the exit status (0 success, 1 any error)."""
    return guarded_main(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
