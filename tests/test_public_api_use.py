"""Domains, the CLI and the ready-made tasks use only core's public API (issue 20).

``Tensor._wrap``, a tensor's array ``._data`` and ``ember._dtype`` are core internals that may change at any
time; code above core wraps arrays with ``ember.from_numpy`` / ``ember.as_tensor``, reads them with
``.numpy()`` / ``np.asarray``, and names dtypes publicly.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.joinpath("domains").rglob("*.py"), *ROOT.joinpath("cli").rglob("*.py"),
                  ROOT / "trainer" / "tasks.py"])
PRIVATE_MODULES = ("ember._dtype", "ember._format", "ember.tensor")
PRIVATE_ATTRIBUTES = ("_wrap", "_data")


def private_uses(source: str) -> list[str]:
    """``line: what`` for each use of a private core name in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in PRIVATE_MODULES:
            found.append(f"{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module == "ember":
            found += [f"{node.lineno}: from ember import {a.name}" for a in node.names
                      if a.name.startswith("_") and not (a.name.startswith("__") and a.name.endswith("__"))]
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name in PRIVATE_MODULES]
    return found


def test_the_checker_sees_private_uses():
    code = ("from ember._dtype import to_numpy_dtype\nfrom ember import _dtype\nx = Tensor._wrap(a)\ny = x._data\n"
            "from ember import __version__\n")  # (a dunder is public)
    assert sorted(private_uses(code)) == ["1: from ember._dtype import ...", "2: from ember import _dtype",
                                          "3: ._wrap", "4: ._data"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_uses_only_public_core_api(path):
    name = path.relative_to(ROOT).as_posix()
    uses = private_uses(path.read_text(encoding="utf-8"))
    assert uses == [], f"{name} uses core internals: {uses}"
