"""Transforms of the time axis of videos ``(..., T, C, H, W)``."""

from __future__ import annotations

from . import _v2_functional as F2
from ._base import Transform

__all__ = ["UniformTemporalSubsample"]


class UniformTemporalSubsample(Transform):
    """Keeps ``num_samples`` frames evenly spaced over the video, first and last included (torchvision's)."""

    def __init__(self, num_samples: int):
        self.num_samples = num_samples

    def apply_image(self, img, params):
        return F2.uniform_temporal_subsample(img, self.num_samples)
