"""``ember.backends.cpu``: the CPU's vector instruction set, as PyTorch reports it."""

from __future__ import annotations

import numpy as np


def get_cpu_capability() -> str:
    """What numpy's own kernels use; PyTorch answers "DEFAULT", "AVX2" or "AVX512" likewise."""
    umath = getattr(getattr(np, "_core", None), "_multiarray_umath", None)
    features = getattr(umath, "__cpu_features__", {})
    if features.get("AVX512F"):
        return "AVX512"
    if features.get("AVX2"):
        return "AVX2"
    return "DEFAULT"
