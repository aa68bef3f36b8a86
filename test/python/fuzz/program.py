"""A fuzz case: a small program written against `xp` (numpy or tfn.numpy), its inputs and checks.

The program is Python source, so a failing case prints as a copy-pasteable repro:

    def f(xp, x0, x1):
        v0 = xp.tanh(x0)
        v1 = v0 @ x1
        return v1.sum(axis=0)

`f(numpy, ...)` is the reference, `f(tfn.numpy, ...)` runs under the transform being
checked. A `Case` is what crosses into the worker process (it pickles) and what a
regression file stores.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

@dataclass
class Case:
    """One program with its inputs; `checks` names the oracles to run (see oracles.ORACLES)."""
    source: str                      # "def f(xp, x0, ...): ..." returning one array
    inputs: list                     # numpy arrays and Python scalars, in parameter order
    checks: tuple = ("jit",)
    seed: int = 0                    # oracles draw tangents, cotangents and batches from it
    expect_error: bool = False       # numpy rejects the program: tfn must reject it clearly
    signature: str = ""              # of the failure it reproduces (regression files)

    def ops(self) -> set[str]:
        """The ops the program uses: xp.<name> calls, array methods, and operators (for matching)."""
        names = set(re.findall(r"xp\.(\w+)\(", self.source))
        names |= {f".{m}" for m in re.findall(r"(?<!xp)(?<!np)\.(\w+)\(", self.source)}
        for token, name in (("@", "matmul"), ("**", "power"), ("//", "floor_divide"), ("[", "getitem"),
                            (".T", "transpose")):
            if token in self.source:
                names.add(name)
        return names

    def repro(self) -> str:
        """A standalone script that runs the checks of this case."""
        return (f"import numpy as np\nimport tfn\nimport tfn.numpy as tnp\n\n{self.source}\n\n"
                f"inputs = {render_inputs(self.inputs)}\n"
                f"print('numpy:', f(np, *inputs))\n"
                f"print('tfn.jit:', tfn.jit(lambda *a: f(tnp, *a))(*inputs))\n")


def render_value(x) -> str:
    """Python source that rebuilds x exactly (float32 values round-trip through Python floats)."""
    if isinstance(x, (bool, int, float)):
        return repr(x)
    x = np.asarray(x)
    name = {"float32": "np.float32", "float64": "np.float64", "int32": "np.int32", "int64": "np.int64",
            "bool": "np.bool_"}[x.dtype.name]
    if x.size == 0:
        return f"np.zeros({x.shape}, {name})"
    body = repr(x.tolist()).replace("inf", "float('inf')").replace("nan", "float('nan')")
    return f"np.array({body}, {name})"


def render_inputs(inputs) -> str:
    return "[" + ", ".join(render_value(x) for x in inputs) + "]"


def function_source(params: list[str], lines: list[str], result: str) -> str:
    body = "".join(f"    {line}\n" for line in lines)
    return f"def f(xp, {', '.join(params)}):\n{body}    return {result}\n"


def load_function(source: str, filename: str = "<fuzz program>"):
    """The function `f` defined by `source` (registered with linecache so tracebacks show it)."""
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]


def diff_positions(inputs) -> list[int]:
    """Inputs that transforms differentiate or batch: the float arrays."""
    return [i for i, x in enumerate(inputs) if isinstance(x, np.ndarray) and x.dtype.kind == "f"]


@dataclass
class Failure:
    """A failed check: which oracle, what kind, a message, and the case that fails it."""
    oracle: str
    kind: str          # mismatch, dtype, shape, crash, hang, unclear-error, rejects-valid, accepts-invalid
    message: str
    case: Case = field(repr=False, default=None)

    def signature(self) -> str:
        """A coarse identity for deduplication: oracle, kind and the message's first line without numbers."""
        head = self.message.strip().splitlines()[0] if self.message.strip() else ""
        head = re.sub(r"0x[0-9a-f]+|\d+(\.\d+)?(e[-+]?\d+)?", "N", head)[:120]
        return f"{self.oracle}:{self.kind}:{head}"
