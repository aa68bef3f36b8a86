"""tfn as a package: what the wheel carries, `python -m tfn`, and find_package(Tfn) from a
CMake project outside the tree."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import cmake_tools

REPO = Path(__file__).resolve().parents[2]


def test_python_m_tfn_prints_the_cmake_dir_and_the_dialect_file():
    out = subprocess.run([sys.executable, "-m", "tfn", "--cmake-dir"], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert (Path(out) / "TfnConfig.cmake").is_file() and (Path(out) / "TfnCompile.cmake").is_file()
    out = subprocess.run([sys.executable, "-m", "tfn", "--dialect-file"], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert "irdl.dialect @tfn" in Path(out).read_text()


def test_the_wheel_carries_the_dialect_and_the_cmake_files(tmp_path):
    # Built without isolation, offline, by the setuptools of the test extra (pyproject.toml).
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} is older than the build needs (77)")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("tfn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("tfn/dialect/tfn.irdl.mlir", "tfn/cmake/TfnConfig.cmake", "tfn/cmake/TfnCompile.cmake",
                   "tfn/__main__.py", "tfn/py.typed"):
        assert needed in names, needed


PROJECT = """\
cmake_minimum_required(VERSION 3.20)
project(user C)
find_package(Tfn CONFIG REQUIRED)
tfn_add_library(scale SOURCE model.py:scale SHAPES "f32[4]")
add_executable(check check.c)
target_link_libraries(check PRIVATE scale)
enable_testing()
add_test(NAME scale COMMAND check)
install(TARGETS scale check EXPORT userTargets ARCHIVE DESTINATION lib RUNTIME DESTINATION bin
        PUBLIC_HEADER DESTINATION include)
install(EXPORT userTargets NAMESPACE user:: DESTINATION lib/cmake/user)
"""
MODEL = """\
import tfn.numpy as tnp


def scale(x):
    return tnp.tanh(x) * 2.0
"""
CHECK = """\
#include <math.h>
#include <stdio.h>
#include "scale.h"

int main(void) {
  float x[SCALE_IN0_SIZE] = {-1.0f, 0.0f, 0.5f, 2.0f}, y[SCALE_OUT0_SIZE];
  if (scale(x, y) != TFN_AOT_OK) return 1;
  for (int i = 0; i < SCALE_OUT0_SIZE; i++)
    if (fabsf(y[i] - 2.0f * tanhf(x[i])) > 1e-5f) { fprintf(stderr, "y[%d] = %g\\n", i, y[i]); return 1; }
  return 0;
}
"""


def test_a_project_outside_the_tree_finds_tfn_with_find_package(tmp_path):
    cmake, ctest = cmake_tools()
    src = tmp_path / "user"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(PROJECT)
    (src / "model.py").write_text(MODEL)
    (src / "check.c").write_text(CHECK)
    tfn_dir = subprocess.run([sys.executable, "-m", "tfn", "--cmake-dir"], capture_output=True, text=True,
                             check=True, timeout=60).stdout.strip()
    build = tmp_path / "build"
    configure = subprocess.run([cmake, "-S", str(src), "-B", str(build), f"-DTfn_DIR={tfn_dir}",
                                f"-DTFN_PYTHON={sys.executable}"], capture_output=True, text=True, timeout=300)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    built = subprocess.run([cmake, "--build", str(build)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    proc = subprocess.run([ctest, "--test-dir", str(build), "--output-on-failure"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and "100% tests passed" in proc.stdout, proc.stdout + proc.stderr
    prefix = tmp_path / "installed"
    inst = subprocess.run([cmake, "--install", str(build), "--prefix", str(prefix)], capture_output=True,
                          text=True, timeout=300)
    assert inst.returncode == 0, inst.stdout + inst.stderr
    assert (prefix / "include" / "scale.h").is_file() and (prefix / "lib" / "libscale.a").is_file()
    exported = (prefix / "lib" / "cmake" / "user" / "userTargets.cmake").read_text()
    assert str(build) not in exported and "${_IMPORT_PREFIX}/include" in exported
    assert subprocess.run([str(prefix / "bin" / "check")], timeout=60).returncode == 0
