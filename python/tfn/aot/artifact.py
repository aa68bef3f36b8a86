"""`Artifact`: the outputs of one ahead-of-time compilation, in memory until written."""
from __future__ import annotations

import ctypes
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfn.aot import capi, target as T
from tfn.aot.capi import TensorSpec

EMIT_KINDS = ("obj", "so", "header", "mlir", "llvm")


@dataclass
class Artifact:
    """A function compiled to native code with a plain C API (see `tfn.aot.capi` for the ABI).

    `stages` holds the IR text of each step: 'tfn' (transforms expanded), 'linalg',
    'buffers', 'llvm' (LLVM dialect, with the C wrapper) and 'llvmir' (LLVM IR).
    """
    name: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    stages: dict[str, str]
    object_code: bytes
    header: str
    target: T.Target
    source: str = ""
    pipeline: str = ""   # the pass pipeline from stage 'tfn' to 'llvm' (before the C wrapper)
    _libraries: list = field(default_factory=list, repr=False)

    def write(self, directory: str | os.PathLike, emit=("obj", "so", "header")) -> dict[str, list[Path]]:
        """Writes the chosen outputs into `directory`; returns {kind: [paths]}.

        kinds: 'obj' NAME.o, 'so' libNAME.so, 'header' NAME.h, 'mlir' NAME.<stage>.mlir
        per stage, 'llvm' NAME.ll.
        """
        emit = [emit] if isinstance(emit, str) else list(emit)
        unknown = [k for k in emit if k not in EMIT_KINDS]
        if unknown:
            raise ValueError(f"unknown output kind '{unknown[0]}'; choose from {', '.join(EMIT_KINDS)}")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, list[Path]] = {}

        def put(kind: str, filename: str, data: str | bytes) -> None:
            path = out / filename
            path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
            written.setdefault(kind, []).append(path)

        if "header" in emit:
            put("header", f"{self.name}.h", self.header)
        if "obj" in emit:
            put("obj", f"{self.name}.o", self.object_code)
        if "so" in emit:
            path = out / f"lib{self.name}.so"
            T.link_shared(self.object_code, path)
            written.setdefault("so", []).append(path)
        if "mlir" in emit:
            for stage in ("tfn", "linalg", "buffers", "llvm"):
                if stage in self.stages:
                    put("mlir", f"{self.name}.{stage}.mlir", self.stages[stage])
        if "llvm" in emit:
            put("llvm", f"{self.name}.ll", self.stages["llvmir"])
        return written

    def load(self) -> "Library":
        """Links a shared library into a temporary directory and loads it with ctypes."""
        with tempfile.TemporaryDirectory(prefix="tfn-aot-") as tmp:
            path = Path(tmp) / f"lib{self.name}.so"
            T.link_shared(self.object_code, path)
            library = Library(path, self.name, self.inputs, self.outputs)
        return library  # the file is gone; the mapping stays


class Library:
    """A loaded artifact: call it with numpy arrays, get the outputs as a list of arrays."""

    def __init__(self, path: str | os.PathLike, name: str, inputs: list[TensorSpec], outputs: list[TensorSpec]):
        self.cdll = ctypes.CDLL(str(path))
        self.function = getattr(self.cdll, name)
        self.function.restype = ctypes.c_int
        self.function.argtypes = [ctypes.c_void_p] * (len(inputs) + len(outputs))
        self.inputs, self.outputs = inputs, outputs

    def __call__(self, *arrays) -> list[np.ndarray]:
        if len(arrays) != len(self.inputs):
            raise TypeError(f"expected {len(self.inputs)} arrays, got {len(arrays)}")
        ins = []
        for i, (spec, a) in enumerate(zip(self.inputs, arrays)):
            a = np.asarray(a, dtype=spec.dtype, order="C")  # keeps 0-d
            if a.shape != spec.shape:
                raise ValueError(f"input {i}: expected shape {spec.shape}, got {a.shape}")
            ins.append(a)
        outs = [np.empty(s.shape, s.dtype) for s in self.outputs]
        status = self.function(*[a.ctypes.data for a in ins + outs])
        if status == capi.ERROR_OUT_OF_MEMORY:
            raise MemoryError(f"{self.function.__name__}: its workspace could not be allocated "
                              f"(TFN_AOT_ERROR_OUT_OF_MEMORY)")
        if status != 0:
            raise RuntimeError(f"{self.function.__name__} returned {status}")
        return outs
