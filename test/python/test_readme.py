"""The README's quickstart runs as printed (here, on the checkout; test_package runs it again in a fresh
venv where tfn is installed from its wheel)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart() -> str:
    """The code of the README's first ```python block, the quickstart."""
    return re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)


def test_quickstart_runs(capsys):
    namespace: dict = {}
    exec(compile(quickstart(), str(README), "exec"), namespace)
    assert namespace["per_sample"][0][0].shape == (64, 784, 128)
    np.testing.assert_allclose(np.sum(namespace["per_sample"][0][0], axis=0) / 64, namespace["grads"][0][0],
                               rtol=1e-4, atol=1e-6)
    assert "tfn.dot_general" in capsys.readouterr().out
