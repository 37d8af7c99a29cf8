"""``ember.vision``: image IO, transforms, datasets, models and utilities (torchvision's names).

Sub-packages load on first use: ``ember.vision.transforms``, ``ember.vision.datasets``,
``ember.vision.models``, ``ember.vision.io``, ``ember.vision.utils``, ``ember.vision.data``,
``ember.vision.ops``, ``ember.vision.tv_tensors``.

Example:
    >>> from ember.vision import transforms as T
    >>> T.RandomHorizontalFlip(p=1.0)
    RandomHorizontalFlip(p=1.0)
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("io", "transforms", "datasets", "models", "utils", "data", "ops", "tv_tensors")


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember.vision' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
