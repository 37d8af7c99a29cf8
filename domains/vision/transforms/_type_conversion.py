"""Type conversions between PIL images, ndarrays and tensors."""

from __future__ import annotations

from ember import Tensor

from .. import tv_tensors
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
    """PIL image, HWC ndarray or tensor -> ``tv_tensors.Image`` (CHW, same dtype, no scaling), as v2's
    ``ToImage``; masks, boxes and other tv_tensors pass through."""

    def apply_image(self, img, params):
        out = F.to_image(img)
        return out if isinstance(out, tv_tensors.Image) else tv_tensors.Image(out)

    def apply_mask(self, mask, params):
        return mask

    def transform_leaf(self, leaf, params):
        return leaf if isinstance(leaf, tv_tensors.TVTensor) else self.apply_image(leaf, params)


class ToPureTensor(Transform):
    """v2's ``ToPureTensor``: every tv_tensor (image, mask, boxes, ...) becomes a plain ``Tensor`` (same
    memory, same graph); other inputs pass through."""

    def apply_image(self, img, params):
        return _pure(img)

    def transform_leaf(self, leaf, params):
        return _pure(leaf)


def _pure(obj):
    return Tensor.view(obj, tuple(obj.shape)) if isinstance(obj, tv_tensors.TVTensor) else obj
