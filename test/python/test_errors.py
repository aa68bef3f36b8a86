"""Errors name the op, the shapes and the user's line; none of them aborts the process."""
from __future__ import annotations

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

import tfn
import tfn.numpy as tnp

HERE = os.path.basename(__file__)


def _line_after(marker: str) -> int:
    """The line number of the first source line of this file containing `marker`."""
    for number, text in enumerate(inspect.getsource(sys.modules[__name__]).splitlines(), 1):
        if marker in text and "_line_after" not in text:
            return number
    raise AssertionError(marker)


def _points_here(error: Exception, marker: str) -> None:
    message = str(error)
    assert f"{HERE}:{_line_after(marker)}" in message, message


def test_matmul_shape_mismatch_names_op_shapes_and_line():
    x, y = np.ones((3, 4), np.float32), np.ones((5, 6), np.float32)
    with pytest.raises((TypeError, ValueError)) as info:
        tfn.jit(lambda a, b: a @ b)(x, y)  # MATMUL-LINE
    message = str(info.value)
    assert "matmul" in message and "(3, 4)" in message and "(5, 6)" in message, message
    _points_here(info.value, "MATMUL-LINE")
    assert isinstance(info.value, tfn.ShapeError)


def test_errors_inside_nested_helpers_point_at_the_user_line():
    def helper(a, b):
        return tnp.dot(a, b)  # DOT-LINE

    with pytest.raises(ValueError) as info:
        tfn.jit(helper)(np.ones((2, 3)), np.ones((4, 2)))
    assert "dot" in str(info.value) and "(2, 3)" in str(info.value)
    _points_here(info.value, "DOT-LINE")


def test_broadcast_mismatch():
    with pytest.raises(ValueError) as info:
        tfn.jit(lambda a, b: a + b)(np.ones(3), np.ones(4))  # BROADCAST-LINE
    assert "add" in str(info.value) and "(3,)" in str(info.value) and "(4,)" in str(info.value)
    _points_here(info.value, "BROADCAST-LINE")


@pytest.mark.parametrize("fn,match", [
    (lambda x: tnp.sum(x, axis=2), "axis 2 is out of bounds"),
    (lambda x: tnp.mean(x, axis=-3), "axis -3 is out of bounds"),
    (lambda x: tnp.max(x, axis=(0, 0)), "repeated axis"),
    (lambda x: tnp.squeeze(x, axis=0), "size not equal to one"),
    (lambda x: tnp.expand_dims(x, 3), "out of bounds"),
    (lambda x: tnp.transpose(x, (0, 2)), "axis 2 is out of bounds"),
    (lambda x: tnp.transpose(x, (0,)), "axes"),
    (lambda x: tnp.moveaxis(x, 2, 0), "out of bounds"),
    (lambda x: tnp.swapaxes(x, 0, 5), "out of bounds"),
    (lambda x: tnp.concatenate([x, x], axis=2), "out of bounds"),
    (lambda x: tnp.stack([x, x[:1]]), "same shape"),
    (lambda x: tnp.concatenate([x, x[:, :1]], axis=0), "differ"),
    (lambda x: tnp.reshape(x, (4, 2)), "cannot reshape"),
    (lambda x: tnp.reshape(x, (-1, -1)), "one unknown dimension"),
    (lambda x: tnp.broadcast_to(x, (3,)), "broadcast"),
    (lambda x: tnp.einsum("ij,jk->ik", x, x), "sizes"),
    (lambda x: tnp.einsum("ii->i", x), "repeats an index"),
    (lambda x: tnp.tensordot(x, x, axes=([0], [0, 1])), "tensordot"),
    (lambda x: tnp.max(x[:0], axis=0), "zero-size"),
    (lambda x: x[0, 0, 0], "too many indices"),
    (lambda x: x[..., ...], "single ellipsis"),
    (lambda x: x[x > 0], "boolean mask known only at run time"),
    (lambda x: x[np.array([0, 2])], "index 2 is out of bounds for axis 0 with size 2"),
    (lambda x: x[[0.5, 1]], "arrays used as indices must be of integer"),
    (lambda x: x[np.array([True, False, True])], "boolean index of shape"),
    (lambda x: x.at[[0, 1]].add(np.ones((3, 3))), "shapes \\(3, 3\\), \\(2, 3\\) do not broadcast"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_arguments_raise_clear_errors(fn, match):
    x = np.ones((2, 3))
    with pytest.raises((TypeError, ValueError, IndexError), match=match) as info:
        tfn.jit(fn)(x)
    assert HERE in str(info.value), str(info.value)


def test_index_out_of_range_is_an_index_error():
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 3"):
        tfn.jit(lambda x: x[:, 5])(np.ones((2, 3)))


def test_bool_ops_numpy_rejects():
    b = np.array([True, False])
    for fn in (lambda x: -x, lambda x: x - x, lambda x: tnp.sign(x)):
        with pytest.raises(TypeError, match="bool"):
            tfn.jit(fn)(b)


def test_bool_of_tracer():
    def f(x):
        if x > 0:  # BOOL-LINE
            return x
        return -x

    with pytest.raises(tfn.TraceError, match="truth value of a traced array") as info:
        tfn.jit(f)(np.float32(1))
    _points_here(info.value, "BOOL-LINE")
    for convert in (float, int, np.asarray):
        with pytest.raises(TypeError):
            tfn.jit(lambda x: convert(x))(np.ones(()))


def test_non_array_argument_needs_static_argnums():
    f = tfn.jit(lambda x, how: getattr(tnp, how)(x))
    with pytest.raises(TypeError, match="static_argnums"):
        f(np.ones(3), "sum")
    np.testing.assert_array_equal(tfn.jit(f.__wrapped__, static_argnums=1)(np.ones(3), "sum"), np.float64(3))


def test_unhashable_static_argument():
    f = tfn.jit(lambda x, shape: tnp.reshape(x, shape), static_argnums=1)
    with pytest.raises(TypeError, match="hashable"):
        f(np.ones(6), [2, 3])
    assert f(np.ones(6), (2, 3)).shape == (2, 3)


def test_non_array_output():
    with pytest.raises(TypeError, match="not an array"):
        tfn.jit(lambda x: (x, "text"))(np.ones(2))


def test_leaked_tracer_outside_its_trace():
    leaked = []
    tfn.jit(lambda x: leaked.append(x * 2) or x)(np.ones(2))
    (tracer,) = leaked
    with pytest.raises(tfn.TraceError, match="escaped"):
        tracer + 1
    with pytest.raises(tfn.TraceError, match="escaped"):
        tnp.sin(tracer)
    with pytest.raises(tfn.TraceError, match="escaped"):
        tfn.jit(lambda y: y + tracer)(np.ones(2))
    with pytest.raises(tfn.TraceError, match="escaped"):
        tfn.jit(lambda y: y)(tracer)


def test_failed_trace_leaves_jit_usable():
    f = tfn.jit(lambda x: x @ x)
    with pytest.raises(ValueError):
        f(np.ones((2, 3)))
    np.testing.assert_allclose(f(np.ones((2, 2))), np.full((2, 2), 2.0))
    np.testing.assert_allclose(tfn.jit(lambda x: x + 1)(np.ones(2)), np.full(2, 2.0))


def test_einsum_forms_once_unsupported_work():
    # ellipses and more than two operands (test_numpy_extras checks many more forms)
    np.testing.assert_allclose(tfn.jit(lambda x: tnp.einsum("...i->...", x))(np.ones((2, 3))), np.full(2, 3.0))
    np.testing.assert_allclose(tfn.jit(lambda x: tnp.einsum("i,i,i->", x, x, x))(np.full(3, 2.0)), 24.0)


ERRORS_SCRIPT = r"""
import numpy as np, tfn, tfn.numpy as tnp
cases = [lambda: tfn.jit(lambda a, b: a @ b)(np.ones((3, 4)), np.ones((5, 6))),
         lambda: tfn.jit(lambda a: a[a > 0])(np.ones(3)),
         lambda: tfn.jit(lambda a: bool(a))(np.ones(())),
         lambda: tfn.jit(lambda a: tnp.sum(a, axis=4))(np.ones(3)),
         lambda: tfn.jit(lambda a, s: a)(np.ones(3), "s")]
for case in cases:
    try:
        case()
    except Exception as e:
        print(type(e).__name__)
print(tfn.jit(lambda a: a + 1)(np.ones(2)))
"""


def test_errors_do_not_abort_the_interpreter():
    """Each error is a Python exception; the process computes on afterwards and exits cleanly."""
    proc = subprocess.run([sys.executable, "-c", ERRORS_SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Fatal" not in proc.stderr
    assert proc.stdout.split() == ["ShapeError", "ShapeError", "TraceError", "ShapeError", "TypeError", "[2.", "2.]"]


def test_bitwise_operators_are_bitwise_on_integers_and_refused_on_floats():
    f = tfn.jit(lambda a, b: a & b)
    np.testing.assert_array_equal(f(np.arange(3), np.arange(1, 4)), np.arange(3) & np.arange(1, 4))
    with pytest.raises(TypeError, match=r"bitwise_and: not supported for float64"):
        f(np.ones(3), np.arange(3))
    g = tfn.jit(lambda a, b: (a | ~b) & (a > 0.5))
    a, b = np.array([True, False, True]), np.array([True, True, False])
    np.testing.assert_array_equal(g(a, b), (a | ~b) & (a > 0.5))
