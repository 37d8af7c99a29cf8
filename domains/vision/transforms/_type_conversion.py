"""Type conversions between PIL images, ndarrays and tensors."""

from __future__ import annotations

from . import functional as F
from ._base import Transform

__all__ = ["PILToTensor", "ToImage", "ToPILImage", "ToPureTensor", "ToTensor"]


class ToTensor(Transform):
    """PIL image or HWC ndarray (uint8 in [0, 255]) -> float32 CHW tensor in [0, 1]."""

    def apply_image(self, img, params):
        return F.to_tensor(img)


class PILToTensor(Transform):
    """PIL image -> uint8 CHW tensor (no scaling)."""

    def apply_image(self, img, params):
        return F.pil_to_tensor(img)


class ToPILImage(Transform):
    """CHW tensor or HWC ndarray -> PIL image."""

    def __init__(self, mode: str | None = None):
        self.mode = mode

    def apply_image(self, img, params):
        return F.to_pil_image(img, self.mode)


class ToImage(Transform):
    """PIL image or HWC ndarray -> CHW tensor of the same dtype (v2's ``ToImage``; no scaling)."""

    def apply_image(self, img, params):
        return F.to_image(img)

    def apply_mask(self, mask, params):
        return mask


class ToPureTensor(Transform):
    """v2's ``ToPureTensor``: strips tensor subclasses; Ember's images already are plain tensors."""

    def apply_image(self, img, params):
        return img
