"""``import ember`` stays light: heavy and optional libraries load on first use."""

from __future__ import annotations

import subprocess
import sys


def test_import_ember_does_not_load_heavy_modules():
    code = (
        "import sys, ember\n"
        "heavy = [m for m in ('numba', 'PIL', 'soundfile', 'tqdm', 'torch', 'scipy', 'yaml', 'click')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"import ember loaded: {result.stdout.strip()}"


def test_lazy_submodules_are_reachable():
    code = "import ember; print(ember.autograd.__name__, callable(ember.autograd.grad))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["ember.autograd", "True"]
