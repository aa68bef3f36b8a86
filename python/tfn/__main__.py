"""`python -m tfn --cmake-dir`: where CMake finds tfn (`-DTfn_DIR=...` for find_package).

    $ cmake -S . -B build -DTfn_DIR=$(python -m tfn --cmake-dir)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmake_dir() -> Path:
    """The folder holding `TfnConfig.cmake` and `TfnCompile.cmake`."""
    return Path(__file__).resolve().parent / "cmake"


def dialect_file() -> Path:
    """The IRDL file of the tfn dialect (`mlir-opt --irdl-file=...`)."""
    return Path(__file__).resolve().parent / "dialect" / "tfn.irdl.mlir"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfn", description="Paths of an installed tfn.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--cmake-dir", action="store_true", help="print the folder of TfnConfig.cmake")
    group.add_argument("--dialect-file", action="store_true", help="print the path of tfn.irdl.mlir")
    args = parser.parse_args(argv)
    print(cmake_dir() if args.cmake_dir else dialect_file())
    return 0


if __name__ == "__main__":
    sys.exit(main())
