"""Pytrees: nested tuples, lists, dicts, namedtuples (and None) with array leaves.

Containers come back as they went in: a namedtuple as its class, an OrderedDict
as an OrderedDict, a dict with its keys in their original order. The leaves of a
plain dict are ordered by sorted key (so `{"a", "b"}` and `{"b", "a"}` line up
leaf for leaf, as in JAX); an OrderedDict keeps its own order. Other classes
become containers with `register_pytree_node`.

    >>> leaves, tree = flatten({"w": 1, "b": (2, 3)})
    >>> leaves
    [2, 3, 1]
    >>> unflatten(tree, [4, 5, 6])
    {'w': 6, 'b': (4, 5)}
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Any, Callable, NamedTuple


class TreeDef(NamedTuple):
    """Structure of a pytree: a node kind, its static data and its children's TreeDefs.

    For "dict" nodes `data` is the keys in children order and `extra` says how to
    rebuild the container when it is not a plain dict in that order:
    `(type, key order, default_factory)`. For "custom" nodes `data` is
    `(type, aux_data)` of a registered class."""
    kind: str  # "leaf", "none", "tuple", "list", "dict", "namedtuple", "custom"
    data: Any
    children: tuple
    extra: Any = None

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def canonical(self) -> "TreeDef":
        """The structure with the key order of plain dicts forgotten (what matching cares about)."""
        if self.kind == "leaf" or self.kind == "none":
            return self
        extra = None if self.kind == "dict" and self.extra is not None and self.extra[0] is dict else self.extra
        return TreeDef(self.kind, self.data, tuple(c.canonical() for c in self.children), extra)

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(map(repr, self.children))
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.data, self.children))
            kind = self.extra[0] if self.extra is not None else dict
            return "{" + inner + "}" if kind is dict else f"{kind.__name__}({{{inner}}})"
        if self.kind == "tuple":
            return f"({inner},)" if len(self.children) == 1 else f"({inner})"
        if self.kind == "list":
            return f"[{inner}]"
        if self.kind == "custom":
            return f"{self.data[0].__name__}({inner})"
        return f"{self.data.__name__}({inner})"


LEAF = TreeDef("leaf", None, ())
NONE = TreeDef("none", None, ())

# type -> (flatten(node) -> (children, aux_data), unflatten(aux_data, children) -> node)
_REGISTRY: dict[type, tuple[Callable, Callable]] = {}


def register_pytree_node(nodetype: type, flatten_fn: Callable, unflatten_fn: Callable) -> None:
    """Makes instances of `nodetype` containers: `flatten_fn(node)` returns `(children, aux_data)`
    (aux_data hashable and static), `unflatten_fn(aux_data, children)` rebuilds the node.

        >>> class Pair:
        ...     def __init__(self, a, b): self.a, self.b = a, b
        >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
        >>> flatten(Pair(1, 2))[0]
        [1, 2]
    """
    if nodetype in (tuple, list, dict, OrderedDict, defaultdict, type(None)):
        raise ValueError(f"register_pytree_node: {nodetype.__name__} is already a pytree node")
    _REGISTRY[nodetype] = (flatten_fn, unflatten_fn)


def flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeDef]:
    leaves: list = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(node, leaves, is_leaf) -> TreeDef:
    if is_leaf is not None and is_leaf(node):
        leaves.append(node)
        return LEAF
    if node is None:
        return NONE
    kids = _children(node)
    if kids is None:
        leaves.append(node)
        return LEAF
    kind, data, children, extra = kids
    return TreeDef(kind, data, tuple(_flatten(c, leaves, is_leaf) for c in children), extra)


def _children(node):
    """(kind, data, children, extra) of a container node, None for a leaf."""
    registered = _REGISTRY.get(type(node))
    if registered is not None:
        children, aux = registered[0](node)
        return "custom", (type(node), aux), list(children), None
    if isinstance(node, tuple):
        if hasattr(node, "_fields"):
            return "namedtuple", type(node), list(node), None
        return "tuple", None, list(node), None
    if isinstance(node, list):
        return "list", None, list(node), None
    if isinstance(node, dict):
        order = tuple(node)
        if isinstance(node, OrderedDict):
            keys, extra = order, (OrderedDict, None, None)
        else:
            keys = _sorted_keys(node)
            factory = getattr(node, "default_factory", None)
            if isinstance(node, defaultdict):
                extra = (defaultdict, None if keys == order else order, factory)
            else:
                extra = None if keys == order else (dict, order, None)
        return "dict", keys, [node[k] for k in keys], extra
    return None


def children_of(node) -> list[tuple[Any, Any]] | None:
    """One level of a pytree: (key, child) pairs in leaf order, or None for a leaf (or None)."""
    if node is None:
        return None
    kids = _children(node)
    if kids is None:
        return None
    kind, data, children, _ = kids
    keys = data if kind == "dict" else range(len(children))
    return list(zip(keys, children))


def _key_order(key):
    return (type(key).__name__, key)


def _sorted_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d, key=_key_order))
    except TypeError:  # keys of one type that do not order: keep the dict's own order
        return tuple(d)


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
        by_key = dict(zip(tree.data, children))
        if tree.extra is None:
            return by_key
        kind, order, factory = tree.extra
        items = [(k, by_key[k]) for k in order] if order is not None else by_key.items()
        return defaultdict(factory, items) if kind is defaultdict else kind(items)
    if tree.kind == "custom":
        nodetype, aux = tree.data
        return _REGISTRY[nodetype][1](aux, children)
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


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeDef]:
    return flatten(tree, is_leaf)


def tree_unflatten(tree: TreeDef, leaves) -> Any:
    return unflatten(tree, leaves)
