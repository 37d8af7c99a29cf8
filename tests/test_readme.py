"""The README's commands and examples are what users copy: they must keep working."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _section_code(title: str, language: str) -> str:
    text = README.read_text()
    section = text.split(f"## {title}", 1)[1]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def test_readme_starts_with_fresh_machine_setup():
    text = README.read_text()
    first_section = text.split("\n## ", 2)[1]
    assert first_section.startswith("Set-up on a fresh machine")
    commands = re.findall(r"```bash\n(.*?)```", first_section, re.S)
    assert "pip install" in commands[0] and "ember fit" in commands[0]
    assert commands[1].strip() == "python -m pytest"


def test_autograd_example_runs_verbatim_and_fits_the_line():
    code = _section_code("Autograd in ten lines", "python")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    values = dict(item.split("=") for item in result.stdout.split())
    assert abs(float(values["w"]) - 3.0) < 0.05
    assert abs(float(values["b"]) - 0.5) < 0.05
    assert float(values["loss"]) < 1e-3
