"""FiveCrop and TenCrop: one image in, a tuple of crops out (test-time augmentation)."""

from __future__ import annotations

from . import functional as F
from ._base import Transform
from ._geometry import _size_tuple

__all__ = ["FiveCrop", "TenCrop"]


class FiveCrop(Transform):
    """The four corner crops and the centre crop of ``size``, as a tuple of five images.

    Example:
        >>> import numpy as np
        >>> [c.shape for c in FiveCrop(2)(np.zeros((4, 4), np.uint8))][:2]
        [(2, 2), (2, 2)]
    """

    def __init__(self, size):
        self.size = _size_tuple(size, "FiveCrop")

    def make_params(self, size):
        if self.size[0] > size[0] or self.size[1] > size[1]:
            raise ValueError(f"{type(self).__name__}: crop size {self.size} is bigger than the image size {size}")
        return {}

    def apply_image(self, img, params):
        return F.five_crop(img, self.size)

    def _call_sample(self, sample):
        raise TypeError(f"{type(self).__name__} returns a tuple of images; call it on an image, not a sample dict")


class TenCrop(FiveCrop):
    """:class:`FiveCrop` of the image and of its flipped copy (horizontal unless ``vertical_flip``)."""

    def __init__(self, size, vertical_flip: bool = False):
        super().__init__(size)
        self.vertical_flip = vertical_flip

    def apply_image(self, img, params):
        return F.ten_crop(img, self.size, self.vertical_flip)

