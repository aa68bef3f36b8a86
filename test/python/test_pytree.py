"""Pytrees: flatten/unflatten round trips, leaf order, structure equality, tree_map."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import tfn
from tfn.frontend import pytree

Point = namedtuple("Point", "x y")

TREES = [
    1, None, (), [], {}, (1,), [1, 2], {"a": 1}, (1, (2, [3, {"k": 4, "j": (5, None)}])),
    {"b": [1, 2], "a": (3,), "c": None}, Point(1, (2, 3)), [None, None, 1], {1: "x", 2: "y"},
    [np.zeros(2), np.float32(1.0), True, 2.5],
]


@pytest.mark.parametrize("tree", TREES, ids=repr)
def test_round_trip(tree):
    leaves, treedef = pytree.flatten(tree)
    assert treedef.num_leaves == len(leaves)
    rebuilt = pytree.unflatten(treedef, leaves)
    assert type(rebuilt) is type(tree)
    rebuilt_leaves, rebuilt_def = pytree.flatten(rebuilt)
    assert rebuilt_def == treedef
    assert all(a is b for a, b in zip(rebuilt_leaves, leaves))
    if not any(isinstance(leaf, np.ndarray) for leaf in leaves):
        assert rebuilt == tree


def test_treedef_repr():
    assert repr(pytree.tree_structure({"a": (1, [2, None]), "b": Point(3, 4), "c": (5,)})) == \
        "{'a': (*, [*, None]), 'b': Point(*, *), 'c': (*,)}"


def test_leaf_order_sorts_dict_keys_and_keeps_sequences():
    leaves, _ = pytree.flatten({"w": 1, "b": (2, 3), "a": [4, None, 5]})
    assert leaves == [4, 5, 2, 3, 1]


def test_none_is_a_node_without_leaves():
    leaves, tree = pytree.flatten((None, 1, [None]))
    assert leaves == [1]
    assert pytree.unflatten(tree, [7]) == (None, 7, [None])


def test_structure_equality_distinguishes_containers():
    s = pytree.tree_structure
    assert s((1, 2)) == s((3, 4))
    assert s((1, 2)) != s([1, 2])
    assert s({"a": 1}) != s({"b": 1})
    assert s((1, None)) != s((1, 2))
    assert s(Point(1, 2)) != s((1, 2))
    assert hash(s({"a": (1, [2])})) == hash(s({"a": (5, [6])}))


def test_unflatten_checks_leaf_count():
    _, tree = pytree.flatten((1, 2))
    with pytest.raises(ValueError, match="too many leaves"):
        pytree.unflatten(tree, [1, 2, 3])
    with pytest.raises((ValueError, StopIteration, RuntimeError)):
        pytree.unflatten(tree, [1])


def test_tree_map():
    tree = {"a": (1, 2), "b": [3, None]}
    assert tfn.tree_map(lambda v: v * 10, tree) == {"a": (10, 20), "b": [30, None]}
    assert tfn.tree_map(lambda u, v: u + v, tree, tree) == {"a": (2, 4), "b": [6, None]}
    assert tfn.tree_leaves(tree) == [1, 2, 3]
    assert tfn.tree_map(lambda v: -v, Point(1, 2)) == Point(-1, -2)


def test_is_leaf():
    leaves, tree = pytree.flatten({"a": (1, 2), "b": [3]}, is_leaf=lambda n: isinstance(n, tuple))
    assert leaves == [(1, 2), 3]
    assert pytree.unflatten(tree, ["x", "y"]) == {"a": "x", "b": ["y"]}


def test_jit_returns_namedtuples_and_nested_structures():
    f = tfn.jit(lambda p: Point(p.y * 2, {"s": p.x + p.y, "n": None}))
    out = f(Point(np.ones(2), np.arange(2.0)))
    assert isinstance(out, Point) and out.y["n"] is None
    np.testing.assert_array_equal(out.x, np.arange(2.0) * 2)
    np.testing.assert_array_equal(out.y["s"], np.ones(2) + np.arange(2.0))
