"""Ahead-of-time compilation: object files, shared libraries and C headers.

    art = tfn.aot.compile(tfn.grad(loss), w_spec, x_spec, name="loss_grad")
    art.write("build/", emit=("obj", "so", "header", "mlir", "llvm"))
    lib = art.load(); (g,) = lib(w, x)

See `tfn.aot.capi` for the C ABI and `tfn-compile --help` for the command line.
"""
from tfn.aot.artifact import EMIT_KINDS, Artifact, Library
from tfn.aot.capi import ABI_VERSION, TensorSpec
from tfn.aot.driver import AotError, compile, compile_module
from tfn.aot.shapes import ShapeSyntaxError, parse_shapes
from tfn.aot.target import GENERIC, HOST, Target, ToolchainError, check_target

__all__ = ["compile", "compile_module", "Artifact", "Library", "TensorSpec", "AotError", "ToolchainError",
           "Target", "check_target", "parse_shapes", "ShapeSyntaxError", "EMIT_KINDS", "ABI_VERSION",
           "HOST", "GENERIC"]
