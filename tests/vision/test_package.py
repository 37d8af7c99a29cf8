"""ember.vision loads lazily, and every docstring example runs."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

MODULES = [
    "ember.vision", "ember.vision.io", "ember.vision.utils", "ember.vision.data", "ember.vision.transforms",
    "ember.vision.transforms.functional", "ember.vision.transforms._base", "ember.vision.transforms._geometry",
    "ember.vision.transforms._misc", "ember.vision.transforms._container", "ember.vision.transforms._color",
    "ember.vision.transforms._type_conversion", "ember.vision.transforms._augment", "ember.vision.transforms._build",
    "ember.vision.transforms.mixup", "ember.vision.datasets.fakedata",
    "ember.vision.datasets.synthetic", "ember.vision.models", "ember.vision.models.lenet", "ember.vision.models.mlp",
    "ember.vision.models.resnet", "ember.vision.models.vit",
]


def test_import_ember_does_not_load_pil_or_vision():
    code = ("import sys, ember; import ember.vision.transforms, ember.vision.datasets, ember.vision.models; "
            "print('PIL' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # even the transforms, datasets and models load Pillow only when used


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
