"""lit configuration: tfn-opt, stock mlir-opt and FileCheck, all found through the repository's venv."""
import os
import sys
from pathlib import Path

import lit.formats

config.name = "tfn"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".py"]
config.excludes = ["lit.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)

repo = Path(__file__).resolve().parents[2]
venv_python = repo / ".venv" / "bin" / "python"
# lit runs under the venv's python when started as .venv/bin/lit; fall back to it either way.
python = str(venv_python) if venv_python.exists() else sys.executable


def _site_packages() -> Path:
    import sysconfig
    venv_site = list((repo / ".venv" / "lib").glob("python3*/site-packages"))
    return venv_site[0] if venv_site else Path(sysconfig.get_paths()["purelib"])


site = _site_packages()
llvm_bin = site / "llvm" / "bin"
mlir_bin = site / "mlir" / "bin"

config.environment["PATH"] = os.pathsep.join([str(llvm_bin), str(mlir_bin), config.environment.get("PATH", "")])
config.environment["PYTHONPATH"] = os.pathsep.join(
    [str(repo / "python"), config.environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)

config.substitutions.append(("%tfn-opt", str(repo / "tools" / "tfn-opt")))
config.substitutions.append(("%mlir-opt", str(mlir_bin / "mlir-opt")))
config.substitutions.append(("%dialect", str(repo / "dialect" / "tfn.irdl.mlir")))
config.substitutions.append(("%PYTHON", python))
