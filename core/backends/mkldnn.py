"""``ember.backends.mkldnn``: PyTorch's CPU library probe; Ember computes with numpy and numba instead."""

from __future__ import annotations


def is_available() -> bool:
    return False
