"""The tfn passes by name, loaded lazily, and a parser for pipelines mixing tfn and upstream passes.

Each pass is a module of this package named after it (`tfn-foo-bar` is
`tfn/passes/foo_bar.py`) defining `NAME`, `DESCRIPTION` and `run(module_op, **options)`;
it never imports this registry, which imports it only when a pipeline names it.
Pipelines are written as in mlir-opt: `tfn-lower-to-linalg,canonicalize,func.func(cse)`;
`name{key=value ...}` passes options to a tfn pass (converted to the type of the
parameter's default: int, bool, str). tfn passes run on the whole module, so they
appear at the top level only.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import re
from types import ModuleType
from typing import Callable

from mlir import ir
from mlir.passmanager import PassManager

# name -> module: `tfn-foo-bar` -> tfn.passes.foo_bar.
PASS_MODULES: dict[str, str] = {name: "tfn.passes." + name[len("tfn-"):].replace("-", "_") for name in (
    # transforms
    "tfn-verify", "tfn-merge-identical-functions", "tfn-expand-transforms", "tfn-autodiff", "tfn-batch",
    # to linalg
    "tfn-split-reductions", "tfn-lower-to-linalg", "tfn-entry-wrapper",
    # linalg on tensors
    "tfn-outline-for-fusion", "tfn-allow-inlining", "tfn-fold-transposed-matmuls", "tfn-accumulate-into-matmuls", "tfn-relax-reductions",
    "tfn-approximate-math", "tfn-private-zero-inits", "tfn-split-empty-tensors", "tfn-write-into-results",
    # buffers (CPU)
    "tfn-drop-self-copies", "tfn-linalg-to-blas", "tfn-lower-strided-copies", "tfn-pool-host-allocations",
    "tfn-outline-kernels",
    # LLVM (CPU)
    "tfn-internal-linkage", "tfn-optnone-glue", "tfn-disable-unrolling",
    # buffers and loops (CUDA)
    "tfn-gpu-thread-buffers", "tfn-gpu-host-reads", "tfn-gpu-reorder-loops", "tfn-gpu-device-memory",
    "tfn-gpu-pool-allocations", "tfn-gpu-check-host-access",
)}


def pass_names() -> list[str]:
    """Sorted names of every tfn pass (nothing is imported)."""
    return sorted(PASS_MODULES)


def load(name: str) -> ModuleType:
    """The module of tfn pass `name` (imported on first use)."""
    module = importlib.import_module(PASS_MODULES[name])
    if getattr(module, "NAME", None) != name:
        raise RuntimeError(f"{module.__name__} defines pass {getattr(module, 'NAME', None)!r}, not {name!r}")
    return module


def description(name: str) -> str:
    """The one-line description of tfn pass `name`."""
    return load(name).DESCRIPTION


def split_top_level(pipeline: str) -> list[str]:
    """Splits 'a,b{x=1,y=2},func.func(c,d)' at top-level commas.

    Raises ValueError on unbalanced brackets, naming the column.
    """
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(pipeline):
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced '{ch}' at column {i + 1} of pass pipeline '{pipeline}'")
        elif ch == "," and depth == 0:
            parts.append(pipeline[start:i].strip())
            start = i + 1
    if depth != 0:
        raise ValueError(f"unclosed bracket in pass pipeline '{pipeline}'")
    parts.append(pipeline[start:].strip())
    return [p for p in parts if p]


def parse_options(text: str) -> dict:
    """'chunk-size=8 fast' -> {'chunk_size': '8', 'fast': True}."""
    options = {}
    for item in text.split():
        key, _, value = item.partition("=")
        options[key.replace("-", "_")] = value if value else True
    return options


def strip_module_anchor(pipeline: str) -> str:
    """'builtin.module(a,b)' -> 'a,b'; other text unchanged."""
    text = pipeline.strip()
    if text.startswith("builtin.module(") and text.endswith(")"):
        return text[len("builtin.module("):-1]
    return text


def add_pipeline(pm: PassManager, pipeline: str, stats: dict | None = None) -> None:
    """Adds `pipeline` (top-level module passes, tfn and upstream mixed) to `pm`.

    A tfn pass whose `run` returns a dict (statistics: counts of what it did) updates
    `stats` with it; an exception of a tfn pass becomes a located error diagnostic and
    a pass failure. Raises ValueError naming the element that cannot be parsed (unknown
    pass, unknown or ill-typed option, tfn pass nested under an op, options known to
    abort LLVM).
    """
    for tfn_pass, element in _elements(pipeline):
        if tfn_pass is None:
            _add_upstream(pm, element)
        else:
            name, fn, options = tfn_pass
            pm.add(_as_external_pass(fn, name, options, stats), name=name, argument=name)


def run_pipeline(module_op: ir.Operation, pipeline: str, stats: dict | None = None) -> None:
    """Runs `pipeline` on `module_op`: what a pass manager of it does, with two differences
    that cost no IR: the tfn passes are called directly (an exception they raise propagates
    as it is) and the verifier runs after the upstream passes only. Consecutive upstream
    passes share one pass manager."""
    for tfn_pass, element in _elements(pipeline):
        if tfn_pass is None:
            pm = PassManager("builtin.module")
            _add_upstream(pm, element)
            pm.run(module_op)
            continue
        name, fn, options = tfn_pass
        result = fn(module_op, **options)
        if stats is not None and isinstance(result, dict):
            stats.update(result)


@functools.lru_cache(maxsize=64)
def _elements(pipeline: str) -> tuple:
    """((name, run, options) or None, text) per top-level element, consecutive upstream
    elements joined into one text; raises ValueError for an element that cannot run.
    Parsed once per pipeline string (a compile path runs the same strings every time)."""
    elements, upstream = [], []
    for element in split_top_level(strip_module_anchor(pipeline)):
        name, brace, rest = element.partition("{")
        name = name.strip()
        if name in PASS_MODULES:
            if upstream:
                elements.append((None, ",".join(upstream)))
                upstream = []
            fn = load(name).run
            if brace and not rest.rstrip().endswith("}"):
                raise ValueError(f"pass '{name}': options must be written '{name}{{key=value ...}}'")
            options = parse_options(rest.rstrip().removesuffix("}")) if brace else {}
            elements.append(((name, fn, _check_options(name, fn, options)), element))
        else:
            _reject_known_aborts(element)
            upstream.append(element)
    if upstream:
        elements.append((None, ",".join(upstream)))
    return tuple(elements)


def _add_upstream(pm: PassManager, text: str) -> None:
    try:
        pm.add(text)
    except ValueError as e:
        raise ValueError(_explain_upstream_failure(split_top_level(text), e)) from None


def _check_options(name: str, fn: Callable, options: dict) -> dict:
    """`options` converted to the types of `fn`'s parameters; ValueError for an unknown
    option or a value of the wrong type, naming it."""
    params = {p.name: p for p in list(inspect.signature(fn).parameters.values())[1:]}
    converted = {}
    for key, value in options.items():
        spelled = key.replace("_", "-")
        param = params.get(key)
        if param is None:
            known = ", ".join(sorted(k.replace("_", "-") for k in params)) or "none"
            raise ValueError(f"pass '{name}' has no option '{spelled}' (options: {known})")
        default, hint = param.default, str(param.annotation)
        kind = type(default) if default not in (None, inspect.Parameter.empty) else \
            int if "int" in hint else bool if "bool" in hint else str
        converted[key] = _convert(name, spelled, value, kind)
    return converted


def _convert(name: str, key: str, value, kind: type):
    text = "" if value is True else str(value)
    if kind is bool:
        if value is True or text.lower() in ("1", "true"):
            return True
        if text.lower() in ("0", "false"):
            return False
        raise ValueError(f"pass '{name}' option '{key}': expected true or false, got '{text}'")
    if value is True:
        raise ValueError(f"pass '{name}' option '{key}' needs a value ('{key}=...')")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"pass '{name}' option '{key}': expected an integer, got '{text}'") from None
    return text


def _explain_upstream_failure(elements: list[str], error: ValueError) -> str:
    """Finds which element made MLIR's pipeline parser fail and says why, in one line."""
    if len(elements) == 1:
        return _pipeline_message(elements[0], error)
    for element in elements:
        try:
            PassManager("builtin.module").add(element)
        except ValueError as e:
            return _pipeline_message(element, e)
        except Exception:  # noqa: BLE001 - no current context: fall back to MLIR's text
            break
    return str(error).strip()


def _pipeline_message(element: str, error: ValueError) -> str:
    text = str(error)
    nested_tfn = [n for n in PASS_MODULES if re.search(rf"(^|[(,]\s*){re.escape(n)}\b", element)]
    if nested_tfn and "(" in element:
        return (f"'{nested_tfn[0]}' is a tfn pass: it runs on the whole module, so write it at the top "
                f"level of the pipeline, not inside '{element}'")
    unknown = re.search(r"'([^']+)' does not refer to a registered pass or pass pipeline", text)
    if unknown:
        return f"unknown pass '{unknown.group(1)}' in '{element}'"
    reason = " ".join(re.sub(r"^MLIR Textual PassPipeline Parser:\d+:\d+: error: ", "", line.strip())
                      for line in text.splitlines() if line.strip() and not line.startswith((" ", element)))
    return f"invalid pass pipeline element '{element}': {reason or text.strip()}"


# LLVM's NVPTX backend aborts the process (LLVM ERROR) when an explicit PTX
# version is too old for the chip; gpu-lower-to-nvvm-pipeline defaults to +ptx60,
# too old for sm_80 and up (nvvm-attach-target's default picks a fitting version).
_MIN_PTX_FOR_CHIP = {70: 60, 72: 61, 75: 63, 80: 70, 86: 71, 87: 74, 89: 78, 90: 78, 100: 86, 101: 86,
                     120: 87}
_CHIP_OPTIONS = (("nvvm-attach-target", "chip", "features", None),
                 ("gpu-lower-to-nvvm-pipeline", "cubin-chip", "cubin-features", 60))


def _reject_known_aborts(element: str) -> None:
    for pass_name, chip_key, features_key, default_ptx in _CHIP_OPTIONS:
        for options in re.findall(rf"{re.escape(pass_name)}\s*\{{([^}}]*)\}}", element):
            chip = re.search(rf"(?:^|\s){chip_key}=sm_(\d+)", options)
            features = re.search(rf"(?:^|\s){features_key}=(\S*)", options)
            ptx = re.search(r"\+ptx(\d+)", features.group(1)) if features else None
            have = int(ptx.group(1)) if ptx else default_ptx
            if not chip or have is None:
                continue
            sm = int(chip.group(1))
            needed = _MIN_PTX_FOR_CHIP.get(sm, 0 if sm < 70 else None)
            if needed is None or have < needed:
                want = f"+ptx{needed}" if needed else "a +ptxNN feature new enough for it"
                raise ValueError(f"'{pass_name}' with {chip_key}=sm_{sm} needs {features_key}={want} or "
                                 f"newer (PTX {have // 10}.{have % 10} cannot target it and LLVM would abort)")


def _as_external_pass(fn, name, options, stats=None):
    def run(op: ir.Operation, pass_) -> None:
        try:
            result = fn(op, **options)
        except Exception as e:  # noqa: BLE001 - turned into a located diagnostic + pass failure
            loc = getattr(e, "location", None) or op.location
            loc.emit_error(f"{name}: {e}")
            pass_.signal_pass_failure()
            return
        if stats is not None and isinstance(result, dict):
            stats.update(result)
    run.__name__ = name.replace("-", "_")
    return run
