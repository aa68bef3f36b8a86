"""Registry of tfn passes by pipeline name, and a parser for pipelines mixing tfn and upstream passes.

A tfn pass is a function `(module_op: ir.Operation, **options) -> None`. Pipelines
are written as in mlir-opt: `tfn-lower-to-linalg,canonicalize,func.func(cse)`;
`name{key=value ...}` passes options to a tfn pass. tfn passes run on the whole
module, so they appear at the top level only.
"""
from __future__ import annotations

import inspect
import re
from typing import Callable

from mlir import ir
from mlir.passmanager import PassManager

PASSES: dict[str, tuple[Callable, str]] = {}


def register(name: str, description: str) -> Callable[[Callable], Callable]:
    """Decorator: registers `fn(module_op, **options)` as the tfn pass `name`."""
    def decorate(fn):
        PASSES[name] = (fn, description)
        return fn
    return decorate


def pass_names() -> list[str]:
    """Sorted names of every registered tfn pass."""
    _load_builtin_passes()
    return sorted(PASSES)


def _load_builtin_passes():
    # Importing registers them.
    from tfn.passes import lower_strided_copies_pass, lower_to_linalg_pass, merge_identical_functions  # noqa: F401
    from tfn.passes import split_reductions, transform_driver, verify  # noqa: F401
    from tfn.lowering import blas, fastmath, loop_hints, math_approx, outline_kernels  # noqa: F401 - CPU pipeline steps
    from tfn.lowering import gpu  # noqa: F401 - CUDA pipeline steps


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


def add_pipeline(pm: PassManager, pipeline: str) -> None:
    """Adds `pipeline` (top-level module passes, tfn and upstream mixed) to `pm`.

    Raises ValueError naming the element that cannot be parsed (unknown pass,
    unknown option, tfn pass nested under an op, options known to abort LLVM).
    """
    _load_builtin_passes()
    upstream: list[str] = []

    def flush():
        if upstream:
            text = ",".join(upstream)
            try:
                pm.add(text)
            except ValueError as e:
                raise ValueError(_explain_upstream_failure(upstream, e)) from None
            upstream.clear()

    for element in split_top_level(strip_module_anchor(pipeline)):
        name, brace, rest = element.partition("{")
        name = name.strip()
        if name in PASSES:
            flush()
            fn, _ = PASSES[name]
            if brace and not rest.rstrip().endswith("}"):
                raise ValueError(f"pass '{name}': options must be written '{name}{{key=value ...}}'")
            options = parse_options(rest.rstrip().removesuffix("}")) if brace else {}
            _check_options(name, fn, options)
            pm.add(_as_external_pass(fn, name, options), name=name, argument=name)
        else:
            _reject_known_aborts(element)
            upstream.append(element)
    flush()


def _check_options(name: str, fn: Callable, options: dict) -> None:
    params = list(inspect.signature(fn).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    known = {p.name for p in params}
    for key in options:
        if key not in known:
            spelled = ", ".join(sorted(k.replace("_", "-") for k in known)) or "none"
            raise ValueError(f"pass '{name}' has no option '{key.replace('_', '-')}' (options: {spelled})")


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
    nested_tfn = [n for n in PASSES if re.search(rf"(^|[(,]\s*){re.escape(n)}\b", element)]
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


def _as_external_pass(fn, name, options):
    def run(op: ir.Operation, pass_) -> None:
        try:
            fn(op, **options)
        except Exception as e:  # noqa: BLE001 - turned into a located diagnostic + pass failure
            loc = getattr(e, "location", None) or op.location
            loc.emit_error(f"{name}: {e}")
            pass_.signal_pass_failure()
    run.__name__ = name.replace("-", "_")
    return run

