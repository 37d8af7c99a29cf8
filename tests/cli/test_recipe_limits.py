"""A hostile or broken recipe file is refused quickly with exit status 2 naming the file and the limit it hit:
alias bombs, huge files, deep nesting, bytes that are not UTF-8 (in files and in key.path=value overrides)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from ember.cli.main import main
from ember.cli.recipe import MAX_DEPTH, MAX_NODES


def alias_bomb(levels: int = 10, width: int = 9) -> str:
    """~1 KB of YAML whose aliases expand to width**levels strings."""
    lines = ["{", f"  a0: &a0 [{', '.join(['x'] * width)}],"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}],")
    return "\n".join(lines) + "\n}"


def ember_check(tmp_path, *args):
    """A real ``ember check`` process, killed (and the test failed) if it does not answer in 20 s."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "ember.cli.main", "check", *args],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
    )
    return result, time.monotonic() - started


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_alias_bomb_in_a_file_exits_2_at_once(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("extends: digits-lenet\ndescription: " + alias_bomb().replace("\n", "\n  ") + "\n")
    assert path.stat().st_size < 2000
    result, seconds = ember_check(tmp_path, str(path))
    assert result.returncode == 2, result.stderr
    assert f"{path}: " in result.stderr and "expand" in result.stderr and str(MAX_NODES) in result.stderr, (
        result.stderr
    )
    assert seconds < 10


def test_alias_bomb_in_an_override_exits_2_at_once(tmp_path):
    result, seconds = ember_check(tmp_path, "digits-lenet", "description=" + alias_bomb().replace("\n", " "))
    assert result.returncode == 2, result.stderr
    assert "override 'description=" in result.stderr and "expand" in result.stderr, result.stderr
    assert seconds < 10


def test_interpolation_cannot_expand_a_recipe_without_bound(tmp_path):
    lines = ["extends: digits-lenet", "description:", f"  a0: [{', '.join(['x'] * 9)}]"]
    for i in range(1, 10):
        reference = f"'${{description.a{i - 1}}}'"
        lines.append(f"  a{i}: [{', '.join([reference] * 9)}]")
    path = tmp_path / "interpolated.yaml"
    path.write_text("\n".join(lines) + "\n")
    result, seconds = ember_check(tmp_path, str(path))
    assert result.returncode == 2, result.stderr
    assert f"{path}: interpolation" in result.stderr and str(MAX_NODES) in result.stderr, result.stderr
    assert seconds < 10


def test_a_recipe_larger_than_the_limit_is_not_parsed(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("extends: digits-lenet\n" + "# padding\n" * 300_000)  # 3 MB of comments
    started = time.monotonic()
    result = run("check", str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}: the recipe is larger than" in result.output and "1 MB" in result.output, result.output
    assert time.monotonic() - started < 2


def test_deep_nesting_in_a_file_exits_2_naming_the_file(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("extends: digits-lenet\ndescription: " + "[" * 20_000 + "]" * 20_000 + "\n")
    result = run("check", str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}: " in result.output and f"nests deeper than {MAX_DEPTH} levels" in result.output, (
        result.output
    )
    assert "RecursionError" not in result.output


def test_deep_nesting_in_an_override_exits_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check", "digits-lenet", "description=" + "[" * 20_000 + "]" * 20_000)
    assert result.exit_code == 2, result.output
    assert (
        "override 'description=[[[" in result.output
        and f"nests deeper than {MAX_DEPTH} levels" in result.output
    )


@pytest.mark.parametrize("where", ["comment", "value"])
def test_a_recipe_that_is_not_utf8_exits_2_naming_the_file(tmp_path, where):
    path = tmp_path / "latin1.yaml"
    text = (
        "# caf\xe9\nextends: digits-lenet\n"
        if where == "comment"
        else "extends: digits-lenet\nname: caf\xe9\n"
    )
    path.write_bytes(text.encode("latin-1"))
    result = run("check", str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}: not UTF-8 text" in result.output and "UnicodeDecodeError" not in result.output, (
        result.output
    )


def test_an_ordinary_recipe_with_aliases_still_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ok.yaml"
    path.write_text(
        "extends: digits-lenet\ndescription: {a: &a [1, 2], b: *a}\ntrainer: {max_epochs: &n 2, "
        "min_epochs: *n}\n"
    )
    result = run("fit", str(path), "--print-config")
    assert result.exit_code == 0, result.output
    assert "max_epochs: 2" in result.output and "min_epochs: 2" in result.output
