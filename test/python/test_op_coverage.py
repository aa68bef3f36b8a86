"""Every op of the dialect has every rule, and all of an op's rules live in one module.

The dialect's ops are read from its IRDL file; the rules from the interpreters' tables
(builders, shape rules, JVP / transpose / no-derivative, batching, lowering). Which
ops need a transpose rule is declared with each JVP rule (`EMITTED_ON_TANGENTS`: the
ops it applies to tangents), and checked here against what the rule really emits.
"""
from __future__ import annotations

import ast
import re
import sys

import numpy as np
import pytest
from mlir import ir
from mlir.dialects import func

from tfn import ops
from tfn.autodiff import EMITTED_ON_TANGENTS, JVP_RULES, NO_DERIVATIVE, TRANSPOSE_RULES
from tfn.batching import BATCH_RULES
from tfn.dialect import dialect_path, new_context
from tfn.dialect.core import BUILDERS
from tfn.dialect.types import dtype_of
from tfn.dialect.verifier import SHAPE_RULES
from tfn.lowering.rules import CALL_LOWERINGS, LOWERINGS
from tfn.passes.ir_utils import FUNCTION_OPS, TRANSFORM_OPS

_OPERATION = re.compile(r"irdl\.operation @(\w+) \{(.*?)\n  \}", re.S)
_OPERANDS = re.compile(r"irdl\.operands\(([^)]*)\)")
_ATTRIBUTES = re.compile(r"irdl\.attributes \{([^}]*)\}")


def _irdl_ops() -> dict[str, tuple[int, set[str]]]:
    """tfn.<name> -> (operand count, attribute names), from the dialect's IRDL file."""
    found = {}
    for name, body in _OPERATION.findall(dialect_path().read_text()):
        operands = _OPERANDS.search(body)
        attributes = _ATTRIBUTES.search(body)
        found[f"tfn.{name}"] = (len(operands.group(1).split(",")) if operands else 0,
                                set(re.findall(r'"(\w+)"\s*=', attributes.group(1))) if attributes else set())
    return found


IRDL_OPS = {name: sig for name, sig in _irdl_ops().items() if name not in TRANSFORM_OPS + FUNCTION_OPS}
OPS = [f"tfn.{n}" for n in ops.ALL_OPS]


def test_the_dialect_and_the_op_families_define_the_same_ops():
    assert len(IRDL_OPS) > 40
    assert sorted(IRDL_OPS) == sorted(OPS)
    assert len(set(OPS)) == len(OPS)


# Function-valued ops (control flow, custom derivatives): their rules apply to the calls of
# the functions they make. Those linear in some operands when JVP rules emit them have a
# transpose rule; custom_jvp, custom_vjp and checkpoint are never emitted on tangents.
LINEAR_FUNCTION_OPS = {"tfn.switch", "tfn.while_loop", "tfn.scan", "tfn.linear_call"}


def test_function_valued_ops_are_declared_and_have_every_rule():
    declared = {name for name in _irdl_ops() if name not in TRANSFORM_OPS} - set(IRDL_OPS)
    assert declared == set(FUNCTION_OPS)
    assert {f"tfn.{n}" for n in ops.CONTROL_FLOW_OPS + ops.CUSTOM_DERIVATIVE_OPS} == set(FUNCTION_OPS)
    for name in FUNCTION_OPS:
        family = JVP_RULES[name].__module__
        assert family in ("tfn.ops.control_flow", "tfn.ops.custom_derivatives")
        for table in (SHAPE_RULES, BATCH_RULES, CALL_LOWERINGS):
            assert table[name].__module__ == family, name
        assert (name in TRANSPOSE_RULES) == (name in LINEAR_FUNCTION_OPS), name


def _family(name: str) -> str:
    return BUILDERS[name].__module__


@pytest.mark.parametrize("name", OPS)
def test_every_op_has_every_rule(name):
    builder = getattr(ops, name[len("tfn."):])
    assert BUILDERS[name] is builder and callable(builder)
    assert name in SHAPE_RULES, "shape rule (tfn.dialect.verifier.SHAPE_RULES)"
    assert name in LOWERINGS, "lowering (tfn.lowering.rules.LOWERINGS)"
    assert name in BATCH_RULES, "batching rule (tfn.batching.BATCH_RULES)"
    assert (name in JVP_RULES) != (name in NO_DERIVATIVE), "a JVP rule or a reason for none, not both"
    if name in NO_DERIVATIVE:
        assert len(NO_DERIVATIVE[name]) > 10
    else:
        assert name in EMITTED_ON_TANGENTS, "the ops its JVP rule applies to tangents (defjvp(..., emits=))"


def test_every_op_that_jvp_rules_emit_on_tangents_has_a_transpose_rule():
    linear = set().union(*EMITTED_ON_TANGENTS.values())
    assert linear <= set(OPS)
    assert sorted(linear - set(TRANSPOSE_RULES)) == []


@pytest.mark.parametrize("name", OPS)
def test_all_rules_of_an_op_are_defined_in_its_family_module(name):
    family = _family(name)
    assert family.startswith("tfn.ops.") and family in sys.modules
    tables = {"shape rule": SHAPE_RULES, "lowering": LOWERINGS, "batching rule": BATCH_RULES,
              "JVP rule": JVP_RULES, "transpose rule": TRANSPOSE_RULES}
    elsewhere = {kind: table[name].__module__ for kind, table in tables.items()
                 if name in table and table[name].__module__ != family}
    assert elsewhere == {}, f"{name} is defined in {family}"
    # Searching the family module for the op's name finds it.
    with open(sys.modules[family].__file__) as source:
        assert re.search(rf"\b{name[len('tfn.'):]}\b", source.read())


# ---------------------------------------------------------------- one instance of each op

def _samples(x, key):
    """One instance of each op, built with its builder from a f32[2, 3] `x` and an int32[2] key."""
    zero = ops.constant(np.zeros((), np.float32))
    square = ops.slice(x, [0, 0], [2, 2], [1, 1])
    k = ops.broadcast_in_dim(key, (2, 3), [0])  # the bitwise ops take integers only

    def operand(n):
        return k if n.startswith(("bitwise_", "shift_")) else x
    made = {f"tfn.{n}": BUILDERS[f"tfn.{n}"](operand(n)) for n in ops.UNARY_OPS}
    made.update({f"tfn.{n}": BUILDERS[f"tfn.{n}"](operand(n), operand(n)) for n in ops.BINARY_OPS})
    made.update({f"tfn.{n}": BUILDERS[f"tfn.{n}"](x, [1]) for n in ops.REDUCE_OPS})
    made.update({
        "tfn.broadcast_in_dim": ops.broadcast_in_dim(x, (4, 2, 3), [1, 2]),
        "tfn.reshape": ops.reshape(x, (3, 2)),
        "tfn.transpose": ops.transpose(x, (1, 0)),
        "tfn.slice": ops.slice(x, [0, 1], [2, 3], [1, 2]),
        "tfn.concatenate": ops.concatenate(x, x, 0),
        "tfn.pad": ops.pad(x, zero, [1, 0], [0, 2], [1, 0]),
        "tfn.constant": ops.constant(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "tfn.iota": ops.iota((2, 3), 1, np.int32),
        "tfn.compare": ops.compare("lt", x, x),
        "tfn.select": ops.select(ops.compare("lt", x, x), x, x),
        "tfn.convert": ops.convert(x, np.float64),
        "tfn.dot_general": ops.dot_general(x, x, ([], []), ([1], [1])),
        "tfn.conv_general_dilated": ops.conv_general_dilated(
            ops.reshape(x, (1, 2, 3)), ops.reshape(x, (3, 2, 1)), [2], [(1, 0)], [1], [1]),
        "tfn.random_bits": ops.random_bits(key, (3,)),
        "tfn.gather": ops.gather(x, ops.reshape(key, (2, 1))),
        "tfn.scatter": ops.scatter(x, ops.reshape(key, (2, 1)), x, "max"),
        "tfn.dynamic_slice": ops.dynamic_slice(x, key, [1, 2]),
        "tfn.dynamic_update_slice": ops.dynamic_update_slice(x, square, key),
        "tfn.cholesky": ops.cholesky(square),
        "tfn.triangular_solve": ops.triangular_solve(square, x, True, False, False),
        "tfn.lu": ops.lu(square, "factors"),
        "tfn.qr": ops.qr(ops.transpose(x, (1, 0)), "q"),
        "tfn.eigh": ops.eigh(square, "eigenvectors"),
    })
    return {name: value.owner for name, value in made.items()}


@pytest.fixture(scope="module")
def samples():
    with new_context(), ir.Location.unknown():
        module = ir.Module.create()
        f32, i32 = ir.F32Type.get(), ir.IntegerType.get_signless(32)
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp("f", ([ir.RankedTensorType.get([2, 3], f32), ir.RankedTensorType.get([2], i32)], []))
            block = fn.add_entry_block()
        with ir.InsertionPoint(block):
            made = _samples(*block.arguments)
            func.ReturnOp([])
        assert module.operation.verify()   # the IRDL definition accepts every sample
        yield made, block


@pytest.mark.parametrize("name", OPS)
def test_builders_make_the_operands_and_attributes_the_dialect_declares(samples, name):
    op = samples[0][name]
    operands, attributes = IRDL_OPS[name]
    assert op.name == name
    assert len(op.operands) == operands
    assert set(op.attributes) == attributes


@pytest.mark.parametrize("name", sorted(EMITTED_ON_TANGENTS))
def test_a_jvp_rule_applies_to_tangents_only_the_ops_it_declares(samples, name):
    made, block = samples
    op = made[name]
    with ir.InsertionPoint(block.operations[len(block.operations) - 1]), ir.Location.unknown():
        tangents = [ops.constant(np.zeros(ir.RankedTensorType(v.type).shape, dtype_of(v)))
                    if dtype_of(v).kind == "f" else None for v in op.operands]
        first = len(block.operations) - 1
        JVP_RULES[name](op, list(op.operands), tangents)
        emitted = list(block.operations)[first:len(block.operations) - 1]
    carries = {t for t in tangents if t is not None}
    applied = set()
    for new in emitted:
        if any(v in carries for v in new.operands):
            applied.add(new.name)
            carries.update(new.results)
    assert applied <= set(EMITTED_ON_TANGENTS[name])


@pytest.mark.parametrize("table", ["tfn.dialect.core", "tfn.dialect.verifier", "tfn.autodiff.rules",
                                   "tfn.batching.rules", "tfn.lowering.rules"])
def test_rule_tables_do_not_import_the_op_families(table):
    # ops -> tables, interpreters -> tables + ops: a table importing tfn.ops would be a cycle.
    tree = ast.parse(open(sys.modules[table].__file__).read())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    from_tfn = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "tfn"
                for a in node.names}
    assert not any(m and (m == "tfn.ops" or m.startswith("tfn.ops.")) for m in imported) and "ops" not in from_tfn
