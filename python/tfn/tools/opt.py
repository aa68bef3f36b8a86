"""`tfn-opt`: run tfn and upstream MLIR passes on a `.mlir` file, like mlir-opt.

    tfn-opt in.mlir --pass-pipeline='builtin.module(tfn-lower-to-linalg,canonicalize)'
    tfn-opt in.mlir --tfn-lower-to-linalg --cse -o out.mlir
    tfn-opt invalid.mlir --split-input-file --verify-diagnostics

Every failure is a diagnostic on stderr (`file:line:col: error: ...`) and exit
status 1; no input, however malformed, produces a Python traceback. tfn ops are
checked against their shape and dtype rules (`tfn-verify`) right after parsing.
"""
from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass, field

from mlir import ir
from mlir.passmanager import PassManager

from tfn.dialect import new_context
from tfn.tools.diagnostics import DiagnosticLog, Record, print_records
from tfn.tools.source import (SPLIT_MARKER, Chunk, ParseFailure, line_one_shift, parse_module,
                              split_chunks)
from tfn.tools.verify_diagnostics import parse_expectations, verify
from tfn.tools.cli import Parser, guarded_main
from tfn.passes.registry import add_pipeline, description, pass_names, strip_module_anchor

PROG = "tfn-opt"






class _AppendPipeline(argparse.Action):
    """Keeps --pass-pipeline and --pass elements in command-line order in one list."""

    def __call__(self, parser, namespace, value, option_string=None):
        element = strip_module_anchor(value) if option_string == "--pass-pipeline" else value
        namespace.pipeline = [*getattr(namespace, "pipeline", []), element]


# The on/off options, mlir-opt's spellings.
_FLAGS = [
    ("--split-input-file", f"process each chunk between '{SPLIT_MARKER}' lines separately"),
    ("--verify-diagnostics", "check diagnostics against expected-error/warning/note/remark comments"),
    ("--mlir-print-debuginfo", "print locations in the output"),
    ("--mlir-print-op-generic", "print every op in generic form"),
    ("--mlir-print-ir-after-all", "print the IR after each pass"),
    ("--mlir-print-ir-before-all", "print the IR before each pass"),
    ("--mlir-timing", "report the time of each pass on stderr"),
    ("--dump-pass-pipeline", "print the pass pipeline (with every option) on stderr before running it"),
    ("--emit-bytecode", "write MLIR bytecode instead of text"),
    ("--allow-unregistered-dialect", "accept ops of unknown dialects"),
    ("--version", "print tfn's and MLIR's versions and exit"),
    ("--list-passes", "list the tfn passes and exit"),
]


def _build_parser() -> Parser:
    p = Parser(prog=PROG, allow_abbrev=False,
                description="Run tfn and upstream MLIR passes on an MLIR file (tfn dialect loaded).",
                epilog="Any --NAME that is not an option above is a pass: --tfn-lower-to-linalg, "
                       "--canonicalize, --NAME='key=value ...' for options. tfn passes: "
                       + ", ".join(pass_names()) + ".")
    p.add_argument("input", nargs="?", default="-", help="input .mlir file, '-' for stdin (default)")
    p.add_argument("-o", dest="output", default="-", metavar="FILE", help="output file (default stdout)")
    p.add_argument("--pass-pipeline", action=_AppendPipeline, dest="pipeline", default=[], metavar="PIPELINE",
                   help="textual pipeline, e.g. 'builtin.module(tfn-lower-to-linalg,func.func(cse))'")
    p.add_argument("--pass", action=_AppendPipeline, dest="pipeline", metavar="NAME",
                   help="append one pass (tfn or upstream), e.g. --pass 'canonicalize{max-iterations=2}'")
    for flag, help_text in _FLAGS:
        p.add_argument(flag, action="store_true", help=help_text)
    return p


def _long_option_names(parser: argparse.ArgumentParser) -> set[str]:
    # argparse keeps its options only in `_actions`; anything else starting with -- is a pass.
    return {s for action in parser._actions for s in action.option_strings if s.startswith("--")}


def normalize_argv(argv: list[str], known: set[str]) -> list[str]:
    """mlir-opt spellings -> ours: `-flag` means `--flag`; unknown `--NAME[=OPTS]` is a pass."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + argv[i:]
        if arg.startswith("-") and not arg.startswith("--") and len(arg.split("=")[0]) > 2:
            arg = "-" + arg
        name, eq, value = arg.partition("=")
        if arg.startswith("--") and name not in known and name != "--help" and len(name) > 2:
            out += ["--pass", name[2:] + ("{" + value.strip("'\"") + "}" if eq else "")]
        else:
            out.append(arg)
    return out


@dataclass
class ChunkResult:
    """What processing one chunk produced: its output IR (text, or bytecode with
    --emit-bytecode; None on failure) and diagnostics."""
    output: str | bytes | None
    records: list[Record] = field(default_factory=list)
    wrapped: bool = False  # the chunk's top-level ops were parsed inside an implicit module


def _pass_manager(pipeline: list[str], args: argparse.Namespace | None = None) -> PassManager:
    """The pass manager of `pipeline`, instrumented as `args` asks (IR printing, timing)."""
    pm = PassManager("builtin.module")
    for element in pipeline:
        add_pipeline(pm, element)
    if args is not None and (args.mlir_print_ir_after_all or args.mlir_print_ir_before_all):
        pm.enable_ir_printing(print_before_all=args.mlir_print_ir_before_all,
                              print_after_all=args.mlir_print_ir_after_all, print_module_scope=True)
    if args is not None and args.mlir_timing:
        pm.enable_timing()
    return pm


def check_pipeline(pipeline: list[str]) -> str:
    """Builds the pass manager once in a scratch context; returns its textual form (every
    option spelled out). Raises ValueError for a bad pipeline."""
    with new_context(), ir.Location.unknown():
        return str(_pass_manager(pipeline))


def version() -> str:
    """tfn's version and the MLIR bindings' (as installed)."""
    from importlib import metadata

    def of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "unknown"
    return f"tfn-opt {of('tfn')} (tfn dialect), MLIR Python bindings {of('xtc-mlir-python-bindings')}\n"


def process_chunk(chunk: Chunk, source_name: str, args: argparse.Namespace) -> ChunkResult:
    """Parses, verifies and transforms one chunk in a fresh context, as mlir-opt does."""
    result = _process_chunk(chunk, source_name, args)
    shift = line_one_shift(chunk.text) if result.wrapped else 0
    if shift:  # code on line 1 was moved right by an implicit `module {`
        for record in result.records:
            for r in [record, *record.notes]:
                if r.file == source_name and r.line == 1 and r.col > shift:
                    r.col -= shift
    return result


def _process_chunk(chunk: Chunk, source_name: str, args: argparse.Namespace) -> ChunkResult:
    log = DiagnosticLog()
    context = new_context()
    # One thread keeps diagnostics in a deterministic order.
    context.enable_multithreading(False)
    context.allow_unregistered_dialects = args.allow_unregistered_dialect
    with context, ir.Location.unknown(), log.capture(context):
        try:
            if isinstance(chunk.text, bytes):  # MLIR bytecode: parsed whole, nothing to wrap
                module, wrapped = _parse_bytecode(chunk.text, context), False
            else:
                module, wrapped = parse_module(chunk.text, source_name, context)
        except ParseFailure as e:
            return ChunkResult(None, log.records or [Record("error", str(e))], e.wrapped)
        try:
            # As mlir-opt verifies what it parsed, the shape and dtype rules of tfn ops
            # that IRDL cannot state are checked before any pass runs.
            _pass_manager(["tfn-verify"]).run(module)
            _pass_manager(args.pipeline, args).run(module)
        except ir.MLIRError as e:
            records = log.records if log.has_errors else [*log.records, Record("error", str(e))]
            return ChunkResult(None, records, wrapped)
        if args.emit_bytecode:
            buffer = io.BytesIO()
            module.write_bytecode(buffer)
            return ChunkResult(buffer.getvalue(), log.records, wrapped)
        text = module.get_asm(enable_debug_info=args.mlir_print_debuginfo,
                              print_generic_op_form=args.mlir_print_op_generic)
        return ChunkResult(text, log.records, wrapped)


BYTECODE_MAGIC = b"ML\xefR"


def _parse_bytecode(data: bytes, context: ir.Context) -> ir.Operation:
    try:
        return ir.Module.parse(data, context=context).operation
    except ir.MLIRError as e:
        raise ParseFailure(str(e)) from None


def _read_source(path: str) -> tuple[str, str | bytes]:
    """(display name, text), or the raw bytes of an MLIR bytecode file. Raises OSError, and
    UnicodeDecodeError for a file that is neither text nor bytecode."""
    if path == "-":
        name, data = "<stdin>", sys.stdin.buffer.read()
    else:
        with open(path, "rb") as f:
            name, data = path, f.read()
    return (name, data) if data.startswith(BYTECODE_MAGIC) else (name, data.decode("utf-8"))


def _write_output(path: str, output: str | bytes) -> None:
    if isinstance(output, bytes):
        if path == "-":
            sys.stdout.flush()
            sys.stdout.buffer.write(output)
            sys.stdout.buffer.flush()
        else:
            with open(path, "wb") as f:
                f.write(output)
    elif path == "-":
        sys.stdout.write(output)
        sys.stdout.flush()
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(output)


def list_passes() -> str:
    """The tfn passes, one per line with its description."""
    names = pass_names()
    width = max((len(n) for n in names), default=0)
    lines = [f"  {name:<{width}}  {description(name)}" for name in names]
    return ("tfn passes:\n" + "\n".join(lines) +
            "\nUpstream MLIR passes and pipelines are accepted by name too (see mlir-opt --help).\n")


def run(argv: list[str]) -> int:
    """tfn-opt without the last-resort error handler; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(normalize_argv(argv, _long_option_names(parser)))
    if args.list_passes:
        sys.stdout.write(list_passes())
        return 0
    if args.version:
        sys.stdout.write(version())
        return 0
    try:
        text_pipeline = check_pipeline(args.pipeline)
    except ValueError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    if args.dump_pass_pipeline:
        print(f"Pass Manager with the pipeline:\n{text_pipeline}", file=sys.stderr)
    try:
        display_name, text = _read_source(args.input)
    except OSError as e:
        print(f"{args.input}: error: could not open input file: {e.strerror or e}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as e:
        print(f"{args.input}: error: not a UTF-8 text file (byte {e.start})", file=sys.stderr)
        return 1

    bytecode = isinstance(text, bytes)
    source_lines = [] if bytecode else text.splitlines()
    chunks = [Chunk(text, 1)] if bytecode else split_chunks(text, args.split_input_file)
    if args.emit_bytecode and len(chunks) > 1:
        print(f"{PROG}: error: --emit-bytecode writes one module; it cannot be used with "
              f"--split-input-file on {len(chunks)} chunks", file=sys.stderr)
        return 1
    outputs, ok = [], True
    for chunk in chunks:
        result = process_chunk(chunk, display_name, args)
        if args.verify_diagnostics:
            expected = [] if bytecode else parse_expectations(chunk.text)  # bytecode has no comments
            failures = verify(result.records, expected, display_name)
            for failure in failures:
                print(failure, file=sys.stderr)
            ok = ok and not failures
        else:
            print_records(result.records, display_name, source_lines)
            ok = ok and result.output is not None
        if result.output is not None:
            outputs.append(result.output)
    # Like mlir-opt, a failed run keeps no output file (stdout shows what succeeded).
    if args.emit_bytecode and outputs:
        _write_output(args.output, outputs[0])
    elif ok or args.output == "-":
        _write_output(args.output, f"{SPLIT_MARKER}\n".join(outputs))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of `tfn-opt`; returns the exit status (0 success, 1 any error)."""
    return guarded_main(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
