"""Imports torchvision for parity tests, or skips.

PyPI's torchvision wheel is built against CUDA torch; with the CPU torch of the test environment its
compiled operators (``torchvision::nms``, ``roi_pool``) do not load and ``import torchvision`` fails
while registering their fake kernels. The pure-Python parts (box ops, losses, layers, ``roi_align``'s
Python fallback, the v2 tensor kernels) still run, so we tolerate the failed registrations.
"""

from __future__ import annotations

import importlib

import pytest


def import_torchvision():
    pytest.importorskip("torch")
    import torch.library

    original = torch.library.register_fake

    def tolerant(op, func=None, /, *args, **kwargs):
        if func is None:  # decorator form
            return lambda fn: tolerant(op, fn, *args, **kwargs)
        try:
            return original(op, func, *args, **kwargs)
        except RuntimeError:  # the compiled operator does not exist in this build
            return func

    torch.library.register_fake = tolerant
    try:
        torchvision = pytest.importorskip("torchvision")
    finally:
        torch.library.register_fake = original
    # roi_align's Python fallback is wrapped in torch.compile (a minute per test on 2 cores); run it eagerly
    roi_align_module = importlib.import_module("torchvision.ops.roi_align")
    roi_align_module._roi_align = getattr(roi_align_module._roi_align, "__wrapped__", roi_align_module._roi_align)
    return torchvision
