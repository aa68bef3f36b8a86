"""Ahead-of-time compilation: shared libraries called through the C API of their header,
the tfn-compile command line (exit codes and messages), and the CMake integration."""
from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import cmake_tools

import tfn
import tfn.numpy as tnp
from tfn import aot, nn
from tfn.tools import compile as cli

REPO = Path(__file__).resolve().parents[2]
TFN_COMPILE = REPO / "tools" / "tfn-compile"
CTYPES = {"float": ctypes.c_float, "double": ctypes.c_double, "int32_t": ctypes.c_int32,
          "int64_t": ctypes.c_int64, "uint8_t": ctypes.c_uint8}
NP = {"float": np.float32, "double": np.float64, "int32_t": np.int32, "int64_t": np.int64, "uint8_t": np.uint8}


def spec(*shape, dtype=np.float32):
    return tfn.ShapeDtype(tuple(shape), np.dtype(dtype))


class HeaderApi:
    """A shared library called only through what its header declares (ctypes, no tfn metadata)."""

    def __init__(self, so: Path, header: str, name: str):
        decl = re.search(rf"int {name}\((.*?)\);", header, re.S).group(1)
        self.params = re.findall(r"(const )?(\w+)\* (in|out)(\d+)", decl)
        up = name.upper()
        self.shapes = {}
        for _, c_type, kind, i in self.params:
            key = f"{up}_{kind.upper()}{i}"
            rank = int(re.search(rf"#define {key}_RANK (\d+)", header).group(1))
            dims = tuple(int(re.search(rf"#define {key}_DIM{k} (\d+)", header).group(1)) for k in range(rank))
            size = int(re.search(rf"#define {key}_SIZE (\d+)", header).group(1))
            assert size == int(np.prod(dims))
            assert re.search(rf"#define {key}_TYPE {c_type}\b", header)
            self.shapes[(kind, int(i))] = (dims, NP[c_type])
        self.function = getattr(ctypes.CDLL(str(so)), name)
        self.function.restype = ctypes.c_int
        self.function.argtypes = [ctypes.POINTER(CTYPES[c]) for _, c, _, _ in self.params]

    def __call__(self, *inputs):
        args, outs = [], []
        for (_, c_type, kind, i) in self.params:
            shape, dtype = self.shapes[(kind, int(i))]
            if kind == "in":
                a = np.ascontiguousarray(inputs[int(i)], dtype=dtype)
                assert a.shape == shape
            else:
                a = np.zeros(shape, dtype)
                outs.append(a)
            args.append(a.ctypes.data_as(ctypes.POINTER(CTYPES[c_type])))
        assert self.function(*args) == 0
        return outs


def build(fn, *args, tmp_path, name, **kwargs):
    art = aot.compile(fn, *args, name=name, **kwargs)
    paths = art.write(tmp_path / name, emit=("so", "header", "obj"))
    return art, HeaderApi(paths["so"][0], art.header, name)


# ---------------------------------------------------------------------------- Python API

def test_elementwise_f32_f64_and_bool(tmp_path):
    def f(x, y):
        return tnp.exp(x) * y + 1.0, x > y

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x, y = rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal((3, 5)).astype(dtype)
        art, lib = build(f, x, y, tmp_path=tmp_path, name=f"ew_{np.dtype(dtype).name}")
        z, mask = lib(x, y)
        np.testing.assert_allclose(z, np.exp(x) * y + 1, rtol=1e-6)
        assert mask.dtype == np.uint8 and (mask == (x > y)).all()
        assert art.inputs[0].path == "x" and art.outputs[1].path == "out[1]"


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = nn.relu(x @ w1 + b1)
    return -tnp.mean(tnp.sum(nn.log_softmax(h @ w2 + b2) * y, axis=-1))


def test_grad_of_mlp_loss_matches_jit(tmp_path):
    rng = np.random.default_rng(1)
    params = ((rng.standard_normal((6, 8)).astype(np.float32) * 0.5, np.zeros(8, np.float32)),
              (rng.standard_normal((8, 3)).astype(np.float32) * 0.5, np.zeros(3, np.float32)))
    x = rng.standard_normal((4, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 2, 1, 0]]
    art, lib = build(tfn.grad(mlp_loss), params, spec(4, 6), spec(4, 3), tmp_path=tmp_path, name="mlp_grad")
    assert "const float* in0,  /* f32[6,8] params[0][0] */" in art.header
    assert "#define MLP_GRAD_IN4_DIM1 6" in art.header
    got = lib(params[0][0], params[0][1], params[1][0], params[1][1], x, y)
    want = tfn.tree_leaves(tfn.jit(tfn.grad(mlp_loss))(params, x, y))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_vmap_and_static_argnums(tmp_path):
    def predict(w, x, power):
        return tnp.tanh(x @ w) ** power

    batched = tfn.vmap(predict, in_dims=(None, 0, None))
    w, xs = np.ones((3, 2), np.float64) * 0.3, np.arange(12.0).reshape(4, 3) / 10
    _, lib = build(batched, w, xs, 2, tmp_path=tmp_path, name="predict_batch", static_argnums=2)
    (out,) = lib(w, xs)
    np.testing.assert_allclose(out, np.tanh(xs @ w) ** 2, rtol=1e-12)


def test_null_pointer_and_integer_dtypes(tmp_path):
    art = aot.compile(lambda a, b: a * b + 2, spec(4, dtype=np.int64), spec(4, dtype=np.int64), name="imul")
    lib = art.load()
    a = np.arange(4, dtype=np.int64)
    (out,) = lib(a, a)
    assert out.tolist() == [2, 3, 6, 11]
    lib.function.argtypes = [ctypes.c_void_p] * 3
    assert lib.function(a.ctypes.data, None, out.ctypes.data) == 1  # TFN_AOT_ERROR_NULL_POINTER
    assert "int imul(" in art.header and "int64_t* out0" in art.header


def test_outputs_link_together_and_need_only_libc_libm(tmp_path):
    a = aot.compile(lambda x: tnp.sin(x) @ x.T, spec(3, 3, dtype=np.float64), name="first", cpu="generic")
    b = aot.compile(lambda x: tnp.log1p(x * x), spec(5, dtype=np.float64), name="second", opt_level=1)
    files = a.write(tmp_path, emit=("obj", "header", "mlir", "llvm"))
    b.write(tmp_path, emit="obj")
    assert {p.name for p in files["mlir"]} >= {"first.tfn.mlir", "first.linalg.mlir", "first.llvm.mlir"}
    assert "define i32 @first(ptr" in files["llvm"][0].read_text()
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    subprocess.run([cc, "-shared", "-o", str(tmp_path / "both.so"), str(tmp_path / "first.o"),
                    str(tmp_path / "second.o"), "-lm"], check=True)
    nm = shutil.which("nm")
    if nm:
        symbols = subprocess.run([nm, "-D", "--defined-only", str(tmp_path / "both.so")], capture_output=True,
                                 text=True, check=True).stdout.split()
        assert "first" in symbols and "second" in symbols and "_tfn_entry" not in symbols
        undefined = subprocess.run([nm, "-u", str(tmp_path / "first.o"), str(tmp_path / "second.o")],
                                   capture_output=True, text=True).stdout.split()
        allowed = {"U", "malloc", "free", "sin", "log1p", "first.o:", "second.o:", str(tmp_path / "first.o") + ":",
                   str(tmp_path / "second.o") + ":"}
        assert set(undefined) <= allowed | {s for s in undefined if s.endswith(".o:")}, undefined


@pytest.mark.parametrize("kwargs, message", [
    ({"cpu": "pentium9000"}, "unknown x86-64 CPU 'pentium9000'"),
    ({"opt_level": 5}, "optimization level"),
    ({"name": "2fast"}, "not a C identifier"),
    ({"name": "malloc"}, "C library function"),
    ({"name": "float"}, "reserved in C"),
])
def test_bad_options_are_rejected_before_llvm(kwargs, message):
    kwargs.setdefault("name", "ok_name")
    with pytest.raises(ValueError, match=message):
        aot.compile(lambda x: x + 1, spec(2), **kwargs)


# ---------------------------------------------------------------------------- tfn-compile

MODEL = '''\
import tfn.numpy as tnp

def affine(params, x):
    w, b = params
    return tnp.tanh(x @ w + b)

def broken(x, w):
    return x @ w

def raises(x):
    y = x + 1
    raise RuntimeError("no luck")
'''

GRAD_MLIR = '''\
func.func private @f(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "tfn.mul"(%x, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "tfn.reduce_sum"(%0) {dimensions = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %f = func.constant @f : (tensor<3xf32>) -> tensor<f32>
  %g = "tfn.grad"(%f) {argnums = array<i64: 0>, num_aux = 0 : i64, with_value = 0 : i64} : ((tensor<3xf32>) -> tensor<f32>) -> ((tensor<3xf32>) -> tensor<3xf32>)
  %r = func.call_indirect %g(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}
'''


@pytest.fixture
def sources(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "grad.mlir").write_text(GRAD_MLIR)
    (tmp_path / "bad.mlir").write_text(GRAD_MLIR.replace("-> tensor<3xf32>\n  return %r", "-> tensor<4xf32>\n  return %r"))
    return tmp_path


def run_cli(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.err


def test_cli_python_input(sources, capsys):
    out = sources / "out"
    status, err = run_cli(capsys, f"{sources}/model.py:affine", "--shapes", "(f32[3,2],f32[2]), f32[4,3]",
                          "-o", out, "--emit", "so,header,mlir,llvm")
    assert status == 0, err
    assert {p.name for p in out.iterdir()} >= {"libaffine.so", "affine.h", "affine.tfn.mlir", "affine.ll"}
    header = (out / "affine.h").read_text()
    lib = HeaderApi(out / "libaffine.so", header, "affine")
    w, b, x = np.full((3, 2), 0.5, np.float32), np.array([0.1, -0.2], np.float32), np.ones((4, 3), np.float32)
    np.testing.assert_allclose(lib(w, b, x)[0], np.tanh(x @ w + b), rtol=1e-6)


def test_cli_mlir_input_expands_transforms(sources, capsys):
    status, err = run_cli(capsys, sources / "grad.mlir", "--entry", "main", "--name", "sq_grad",
                          "-o", sources / "m", "--cpu", "generic")
    assert status == 0, err
    lib = HeaderApi(sources / "m" / "libsq_grad.so", (sources / "m" / "sq_grad.h").read_text(), "sq_grad")
    np.testing.assert_allclose(lib(np.array([1.0, -2.0, 3.0]))[0], [2.0, -4.0, 6.0])


@pytest.mark.parametrize("argv, expected", [
    (["{d}/model.py:affine", "--shapes", "f32[3,2"], "--shapes: expected ',' or ']' in the shape"),
    (["{d}/model.py:affine", "--shapes", "q8[3]"], "unknown dtype 'q8'"),
    (["{d}/model.py:affine"], "needs --shapes"),
    (["{d}/model.py:nothing", "--shapes", "f32[1]"], "has no function 'nothing' (functions there: affine, broken, raises)"),
    (["{d}/missing.py:f", "--shapes", "f32[1]"], "cannot open"),
    (["{d}/model.py:broken", "--shapes", "f32[2,3],f32[4,5]"], "model.py:8: error: ShapeError"),
    (["{d}/model.py:raises", "--shapes", "f32[2]"], "model.py:12: error: RuntimeError: no luck"),
    (["{d}/model.py:affine", "--shapes", "f32[2]"], "--shapes gives 1 argument"),
    (["{d}/model.py:affine", "--shapes", "f32[1]", "--cpu", "bogus"], "--cpu: unknown x86-64 CPU 'bogus'"),
    (["{d}/model.py:affine", "--shapes", "f32[1]", "--emit", "exe"], "unknown output kind 'exe'"),
    (["{d}/grad.mlir"], "needs --entry"),
    (["{d}/grad.mlir", "--entry", "nope"], "no function named 'nope'"),
    (["{d}/bad.mlir", "--entry", "main", "--name", "g"], "bad.mlir:9:27: error: use of value '%g' expects different type"),
    (["{d}/grad.mlir", "--entry", "main", "--name", "free"], "C library function"),
    (["{d}/grad.mlir", "--entry", "main"], "the function name 'main' is reserved in C"),
])
def test_cli_errors(sources, capsys, argv, expected):
    status, err = run_cli(capsys, *[a.format(d=sources) for a in argv])
    assert status == 1
    assert expected in err, err


def test_cli_executable_reports_without_traceback(sources):
    proc = subprocess.run([str(TFN_COMPILE), f"{sources}/model.py:broken", "--shapes", "f32[2,3],f32[4,5]"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "model.py:8: error: ShapeError" in proc.stderr and "return x @ w" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------- CMake

def test_cmake_example_builds_and_passes_ctest(tmp_path):
    cmake, ctest = cmake_tools()
    build_dir = tmp_path / "build"
    subprocess.run([cmake, "-S", str(REPO), "-B", str(build_dir), f"-DTFN_PYTHON={sys.executable}"],
                   check=True, capture_output=True, timeout=300)
    subprocess.run([cmake, "--build", str(build_dir), "-j", "2"], check=True, capture_output=True, timeout=300)
    proc = subprocess.run([ctest, "--test-dir", str(build_dir), "--output-on-failure"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "100% tests passed" in proc.stdout
