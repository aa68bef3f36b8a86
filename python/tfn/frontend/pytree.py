"""Pytrees: nested tuples, lists, dicts (and None) with array leaves.

    >>> leaves, tree = flatten({"w": 1, "b": (2, 3)})
    >>> leaves
    [2, 3, 1]
    >>> unflatten(tree, [4, 5, 6])
    {'b': (4, 5), 'w': 6}
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple


class TreeDef(NamedTuple):
    """Structure of a pytree: a node kind, its static data and its children's TreeDefs."""
    kind: str  # "leaf", "none", "tuple", "list", "dict", "namedtuple"
    data: Any
    children: tuple

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(map(repr, self.children))
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.data, self.children))
            return "{" + inner + "}"
        if self.kind == "tuple":
            return f"({inner},)" if len(self.children) == 1 else f"({inner})"
        if self.kind == "list":
            return f"[{inner}]"
        return f"{self.data.__name__}({inner})"


LEAF = TreeDef("leaf", None, ())


def flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeDef]:
    leaves: list = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(node, leaves, is_leaf) -> TreeDef:
    if is_leaf is not None and is_leaf(node):
        leaves.append(node)
        return LEAF
    if node is None:
        return TreeDef("none", None, ())
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        return TreeDef("namedtuple", type(node), tuple(_flatten(c, leaves, is_leaf) for c in node))
    if isinstance(node, (tuple, list)):
        return TreeDef(type(node).__name__ if type(node) in (tuple, list) else "tuple", None,
                       tuple(_flatten(c, leaves, is_leaf) for c in node))
    if isinstance(node, dict):
        keys = tuple(sorted(node, key=_key_order))
        return TreeDef("dict", keys, tuple(_flatten(node[k], leaves, is_leaf) for k in keys))
    leaves.append(node)
    return LEAF


def _key_order(key):
    return (type(key).__name__, key)


def unflatten(tree: TreeDef, leaves) -> Any:
    it = iter(leaves)
    out = _unflatten(tree, it)
    rest = list(it)
    if rest:
        raise ValueError(f"too many leaves for {tree}: {len(rest)} left over")
    return out


def _unflatten(tree: TreeDef, it):
    if tree.kind == "leaf":
        return next(it)
    if tree.kind == "none":
        return None
    children = [_unflatten(c, it) for c in tree.children]
    if tree.kind == "tuple":
        return tuple(children)
    if tree.kind == "list":
        return children
    if tree.kind == "dict":
        return dict(zip(tree.data, children))
    return tree.data(*children)


def tree_map(fn: Callable, tree: Any, *rest: Any) -> Any:
    """Applies `fn` leafwise to one or more pytrees of the same structure."""
    leaves, treedef = flatten(tree)
    others = [flatten(r)[0] for r in rest]
    return unflatten(treedef, [fn(*xs) for xs in zip(leaves, *others)])


def tree_leaves(tree: Any) -> list:
    return flatten(tree)[0]


def tree_structure(tree: Any) -> TreeDef:
    return flatten(tree)[1]
