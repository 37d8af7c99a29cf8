"""The import layers hold: ``lint-imports`` keeps every contract of pyproject.toml's ``[tool.importlinter]``.

Ember is one import package spread over several folders (``core/`` is ``ember``, ``trainer/`` is
``ember.trainer``, ...: the ``ROOTS`` of setup.py). import-linter reads a package from one folder, so the
test first links the folders into one ``ember`` tree and puts it ahead of the installed package.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _roots() -> dict:
    """setup.py's ``ROOTS``: import name -> folder."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "ROOTS":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py defines no ROOTS")


def _link(source: Path, target: Path) -> None:
    try:
        target.symlink_to(source, target_is_directory=source.is_dir())
    except OSError:  # no symlinks (e.g. Windows without developer mode): copy instead
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)


def _package_tree(destination: Path) -> Path:
    """A folder holding ``ember/`` laid out as the installed package is."""
    roots = _roots()
    package = destination / "ember"
    package.mkdir(parents=True)
    for entry in (REPO / roots["ember"]).iterdir():
        if entry.name != "__pycache__":
            _link(entry, package / entry.name)
    for name, folder in roots.items():
        if name != "ember":
            _link(REPO / folder, package.joinpath(*name.split(".")[1:]))
    return destination


def test_import_layers_hold(tmp_path):
    tree = _package_tree(tmp_path / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]))
    command = "import sys; from importlinter.cli import lint_imports_command as lint; sys.exit(lint())"
    result = subprocess.run(
        [sys.executable, "-c", command, "--no-cache", "--no-logo", str(REPO / "pyproject.toml")],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    output = result.stdout + result.stderr
    assert "No module named 'importlinter'" not in output, "import-linter is missing: pip install '.[test]'"
    assert "Contracts:" in output, f"lint-imports did not run:\n{output}"
    assert result.returncode == 0, f"an import breaks the layers (pyproject.toml's importlinter):\n{output}"
