"""Augmentations that erase part of the image (torchvision v2's ``_augment``; batch mixing is in ``mixup``)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import _v2_functional as F2
from . import functional as F
from ._base import Transform, rand, randint, rng, uniform
from ._image import is_pil, unpack

__all__ = ["JPEG", "RandomErasing"]


class JPEG(Transform):
    """Compresses uint8 images with PIL's JPEG encoder at a quality drawn from ``quality`` (an int, or a
    (min, max) range of ints in [1, 100]) and decodes them: compression artefacts as an augmentation."""

    def __init__(self, quality):
        if isinstance(quality, numbers.Integral):
            quality = [int(quality), int(quality)]
        elif not (isinstance(quality, (list, tuple)) and len(quality) == 2
                  and all(isinstance(q, numbers.Integral) for q in quality)):
            raise TypeError(f"quality can either be an integer or a sequence of two integers. Got {quality}")
        if not 1 <= quality[0] <= quality[1] <= 100:
            raise ValueError(f"quality must be an integer from 1 to 100, got quality={quality}")
        self.quality = list(quality)

    def make_params(self, size):
        return {"quality": randint(self.quality[0], self.quality[1] + 1)}

    def apply_image(self, img, params):
        return F2.jpeg(img, params["quality"])


class RandomErasing(Transform):
    """With probability ``p``, erases a random rectangle (area ``scale``, aspect ``ratio``) with ``value``
    (a number, per-channel values, or ``"random"`` for Gaussian noise)."""

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value: Any = 0, inplace: bool = False):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomErasing: p must be in [0, 1], got {p}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value must be a number, a sequence or 'random', got {value!r}")
        self.p = p
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)
        self.value = value if isinstance(value, (numbers.Number, str)) else list(value)
        self.inplace = inplace

    def make_params(self, size):
        h, w = size
        if rand() >= self.p:
            return {"box": None}
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            erase_area = area * uniform(*self.scale)
            aspect = math.exp(uniform(*log_ratio))
            eh = round(math.sqrt(erase_area * aspect))
            ew = round(math.sqrt(erase_area / aspect))
            if eh < h and ew < w:
                return {"box": (randint(0, h - eh + 1), randint(0, w - ew + 1), eh, ew)}
        return {"box": None}

    def apply_image(self, img, params):
        if params["box"] is None:
            return img
        i, j, eh, ew = params["box"]
        arr, _ = unpack(img, "RandomErasing")
        if self.value == "random":
            noise = rng().standard_normal((arr.shape[-3], eh, ew)).astype(np.float32)
            v = noise if arr.dtype.kind == "f" else np.clip(noise * 64 + 128, 0, 255)
        else:
            v = np.asarray(self.value, dtype=np.float64).reshape(-1, 1, 1)
        return F.erase(img, i, j, eh, ew, v, self.inplace and not is_pil(img))
