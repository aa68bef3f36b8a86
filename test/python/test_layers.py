"""The layers of tfn: which modules may import which (DESIGN.md, "Layers").

Every module under python/tfn is read with `ast` (no import runs): its imports at
module level and inside functions, relative ones resolved, and `from tfn.x import y`
counted as an import of the module `tfn.x.y` where there is one. The implicit import
of a module's parent packages is no edge: Python runs a package's `__init__` before
its modules, and a partly run parent is the normal case, not a cycle; so is an explicit
import of one's own package (`from tfn import ops` in tfn.ops.binary, whose rules read the
package's builders when they run).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

# The compiler: what turns traced IR into running code, and the tools over it.
COMPILER = ("tfn.passes", "tfn.lowering", "tfn.runtime", "tfn.api", "tfn.aot", "tfn.tools")
# The array libraries over the tracer.
LIBRARIES = ("tfn.numpy", "tfn.nn", "tfn.random", "tfn.lax")

# The compiler's core, beside the tracing stack: it sees IR, never tracers or the user's API.
ABOVE_CORE = ("tfn.frontend",) + LIBRARIES + ("tfn.api", "tfn.aot", "tfn.tools")

# layer (a module and every module under it) -> what it may not import, lazily or not.
FORBIDDEN = {
    "tfn.dialect":          ("tfn.frontend",) + LIBRARIES + COMPILER,
    "tfn.frontend":         LIBRARIES + COMPILER,
    "tfn.frontend.tracer":  ("tfn.numpy",),
    "tfn.numpy":            COMPILER,
    "tfn.nn":               COMPILER,
    "tfn.random":           COMPILER,
    "tfn.lax":              COMPILER,
    "tfn.ops":              ABOVE_CORE,
    "tfn.autodiff":         ABOVE_CORE + ("tfn.ops",),
    "tfn.batching":         ABOVE_CORE + ("tfn.ops",),
    "tfn.passes":           ABOVE_CORE,
    "tfn.lowering":         ABOVE_CORE,
    "tfn.runtime":          ABOVE_CORE,
    "tfn.api":              ("tfn.aot", "tfn.tools"),
    "tfn.aot":              ("tfn.tools",),
}

# Modules under tfn.passes that may import the pass registry: the registry itself and the
# modules that assemble pipelines from it. Passes are registered by them, not register themselves.
REGISTRY = "tfn.passes.registry"
REGISTRY_USERS = ("tfn.passes", "tfn.passes.registry", "tfn.passes.pipeline", "tfn.passes.pipelines")

# The compiler's core: cycles wholly inside it are reported by a test of their own.
COMPILER_CORE = ("tfn.passes", "tfn.lowering", "tfn.runtime", "tfn.ops", "tfn.autodiff", "tfn.batching")

ROOT = Path(__file__).resolve().parents[2] / "python"


@dataclass(frozen=True)
class Import:
    source: str     # the importing module
    target: str     # the imported module
    line: int
    lazy: bool      # inside a function (runs when called, not when the module is imported)


def _under(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "tfn").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imports(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: list[Import] = []

    def add(target: str, node, lazy: bool):
        if target.split(".")[0] != "tfn":
            return
        while target not in MODULES:   # an attribute of a module, not a module
            target = target.rpartition(".")[0]
        found.append(Import(module, target, node.lineno, lazy))

    def visit(node, lazy: bool):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, lazy)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base, node, lazy)
        elif isinstance(node, ast.If) and _type_checking(node.test):
            for child in node.body:      # never runs: typing only
                visit(child, True)
            for child in node.orelse:
                visit(child, lazy)
            return
        lazy = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, lazy)

    visit(tree, False)
    return found


def _type_checking(test) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


IMPORTS = [i for m in MODULES for i in _imports(m)]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle in each strongly connected component of more than one module (Tarjan); a
    component that lies partly outside the compiler's core gets its cycle through such a module."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return [_cycle_in(sorted(c, key=lambda m: (_under(m, COMPILER_CORE), m))[0], c, edges) for c in components]


def _cycle_in(start: str, component: set[str], edges) -> list[str]:
    """A shortest path start -> ... -> start inside the component (breadth first)."""
    previous, frontier = {}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges.get(v, ())):
                if w not in component:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1] + [start]
                if w not in previous:
                    previous[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("a component without a cycle")


def _module_level_cycles(lazy: bool = False) -> list[list[str]]:
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        if (lazy or not i.lazy) and i.target != i.source and not _under(i.source, (i.target,)):
            edges.setdefault(i.source, set()).add(i.target)
    return _cycles(edges)


def _describe(cycle: list[str]) -> str:
    lines = []
    for a, b in zip(cycle, cycle[1:]):
        first = min((i for i in IMPORTS if i.source == a and i.target == b), key=lambda i: (i.lazy, i.line))
        lazily = " lazily" if first.lazy else ""
        lines.append(f"  {a} imports {b}{lazily} ({MODULES[a].relative_to(ROOT)}:{first.line})")
    return "\n".join(lines)


def test_the_walk_sees_the_package():
    assert {"tfn", "tfn.numpy", "tfn.frontend.tracer", "tfn.api.jit", REGISTRY} <= set(MODULES)
    targets = {(i.source, i.target) for i in IMPORTS}
    assert ("tfn", "tfn.numpy") in targets                       # from tfn import numpy
    assert ("tfn.api.jit", "tfn.frontend.tracer") in targets      # from tfn.frontend.tracer import trace
    assert any(i.source == "tfn.api.jit" and i.target.startswith("tfn.runtime") and i.lazy for i in IMPORTS)


def test_cycle_finder():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert sorted(_cycles(edges)) == [["a", "b", "c", "a"], ["e", "e"]]


def test_no_import_cycles():
    cycles = [c for c in _module_level_cycles() if not all(_under(m, COMPILER_CORE) for m in c)]
    assert not cycles, "module-level import cycles:\n" + "\n\n".join(_describe(c) for c in cycles)


def test_no_lazy_import_cycles_above_the_compiler():
    """An import moved into a function hides a cycle rather than breaking it: outside the
    compiler's core, lazy imports make no cycle either."""
    cycles = [c for c in _module_level_cycles(lazy=True) if not all(_under(m, COMPILER_CORE) for m in c)]
    assert not cycles, "import cycles through lazy imports:\n" + "\n\n".join(_describe(c) for c in cycles)


def test_no_import_cycles_in_the_compiler():
    cycles = [c for c in _module_level_cycles() if all(_under(m, COMPILER_CORE) for m in c)]
    assert not cycles, "module-level import cycles:\n" + "\n\n".join(_describe(c) for c in cycles)


def _violations(rules: dict) -> list[str]:
    found = []
    for i in IMPORTS:
        for layer, forbidden in rules.items():
            if _under(i.source, (layer,)) and _under(i.target, forbidden):
                where = f"{MODULES[i.source].relative_to(ROOT)}:{i.line}"
                found.append(f"  {i.source} imports {i.target}{' (lazily)' if i.lazy else ''} at {where}: "
                             f"{layer} may not import {', '.join(forbidden)}")
    return found


@pytest.mark.parametrize("layer", list(FORBIDDEN))
def test_layer_rules(layer):
    found = _violations({layer: FORBIDDEN[layer]})
    assert not found, "imports across the layers:\n" + "\n".join(found)


def test_passes_do_not_import_the_registry():
    found = [f"  {i.source} imports {REGISTRY} at {MODULES[i.source].relative_to(ROOT)}:{i.line}"
             for i in IMPORTS
             if _under(i.source, ("tfn.passes",)) and i.source not in REGISTRY_USERS and i.target == REGISTRY]
    assert not found, "passes that register themselves:\n" + "\n".join(found)
