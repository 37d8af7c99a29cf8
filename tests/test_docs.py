"""Every code block marked ``python runnable`` in the README and docs/ runs, so the docs cannot rot."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python runnable\n(.*?)```", re.S)


def _blocks():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]:
        for i, code in enumerate(BLOCK.findall(path.read_text())):
            yield pytest.param(path, code, id=f"{path.relative_to(ROOT)}#{i}")


@pytest.mark.parametrize("path, code", list(_blocks()))
def test_runnable_block(path, code, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, f"{path}:\n{code}\n--- stderr ---\n{result.stderr[-3000:]}"
