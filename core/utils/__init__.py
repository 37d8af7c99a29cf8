"""``ember.utils``: PyTorch's ``torch.utils`` paths for ported scripts (``ember.utils.data`` is ``ember.data``)."""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    if name in ("data", "checkpoint", "hooks", "benchmark"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ember.utils' has no attribute {name!r}")
