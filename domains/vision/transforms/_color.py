"""Colour transforms: they change pixel values only, so masks and boxes in a sample dict pass through."""

from __future__ import annotations

import math
import numbers

from . import _v2_functional as F2
from . import functional as F
from ._base import Transform, rand, rng, uniform

__all__ = [
    "RGB", "ColorJitter", "Grayscale", "RandomAdjustSharpness", "RandomAutocontrast", "RandomChannelPermutation",
    "RandomEqualize", "RandomGrayscale", "RandomInvert", "RandomPhotometricDistort", "RandomPosterize",
    "RandomSolarize",
]


def _permutation(img, params: dict):
    """The call's channel permutation, drawn on first use (the number of channels is known only then)."""
    if "permutation" not in params:
        params["permutation"] = [int(i) for i in rng().permutation(F.get_dimensions(img)[0])]
    return params["permutation"]


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order.

    Each of ``brightness``, ``contrast``, ``saturation`` is a number ``b`` (factor drawn from
    ``[max(0, 1 - b), 1 + b]``) or a (min, max) pair; ``hue`` is ``h`` (shift in ``[-h, h]``, h <= 0.5).
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check(brightness, "brightness")
        self.contrast = self._check(contrast, "contrast")
        self.saturation = self._check(saturation, "saturation")
        self.hue = self._check(hue, "hue", center=0.0, bound=(-0.5, 0.5))

    @staticmethod
    def _check(value, name, center=1.0, bound=(0.0, math.inf)):
        if value is None:
            return None
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"ColorJitter: {name} must be non-negative, got {value}")
            value = (max(center - value, bound[0]), center + value)
        value = tuple(float(v) for v in value)
        if len(value) != 2 or not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"ColorJitter: {name} must be a number or a (min, max) pair within {bound}, got {value}")
        return None if value[0] == value[1] == center else value

    def _repr_items(self):
        return [(k, v) for k, v in super()._repr_items() if v is not None]

    def make_params(self, size):
        order = rng().permutation(4)
        factors = [None if not r else uniform(*r) for r in (self.brightness, self.contrast, self.saturation, self.hue)]
        return {"order": order, "factors": factors}

    def apply_image(self, img, params):
        ops = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for index in params["order"]:
            factor = params["factors"][index]
            if factor is not None:
                img = ops[index](img, factor)
        return img


class Grayscale(Transform):
    """Converts to greyscale with 1 or 3 output channels."""

    def __init__(self, num_output_channels: int = 1):
        self.num_output_channels = num_output_channels

    def apply_image(self, img, params):
        return F.rgb_to_grayscale(img, self.num_output_channels)


class RandomGrayscale(Transform):
    """With probability ``p``, greyscale keeping the number of channels."""

    def __init__(self, p: float = 0.1):
        self.p = p

    def make_params(self, size):
        return {"apply": rand() < self.p}

    def apply_image(self, img, params):
        if not params["apply"]:
            return img
        channels = F.get_dimensions(img)[0]
        return F.rgb_to_grayscale(img, 3 if channels >= 3 else 1)


class _RandomColorOp(Transform):
    """Applies ``self._op(img, *self._args())`` with probability ``p``."""

    def make_params(self, size):
        return {"apply": rand() < self.p}

    def apply_image(self, img, params):
        return self._op(img, *self._args()) if params["apply"] else img

    def _args(self) -> tuple:
        return ()


class RandomInvert(_RandomColorOp):
    """Inverts the colours with probability ``p``."""

    _op = staticmethod(F.invert)

    def __init__(self, p: float = 0.5):
        self.p = p


class RandomPosterize(_RandomColorOp):
    """Keeps ``bits`` bits per channel with probability ``p`` (uint8 images)."""

    _op = staticmethod(F.posterize)

    def __init__(self, bits: int, p: float = 0.5):
        self.bits = bits
        self.p = p

    def _args(self):
        return (self.bits,)


class RandomSolarize(_RandomColorOp):
    """Inverts the values at or above ``threshold`` with probability ``p``."""

    _op = staticmethod(F.solarize)

    def __init__(self, threshold: float, p: float = 0.5):
        self.threshold = threshold
        self.p = p

    def _args(self):
        return (self.threshold,)


class RandomAdjustSharpness(_RandomColorOp):
    """Adjusts the sharpness by ``sharpness_factor`` with probability ``p``."""

    _op = staticmethod(F.adjust_sharpness)

    def __init__(self, sharpness_factor: float, p: float = 0.5):
        self.sharpness_factor = sharpness_factor
        self.p = p

    def _args(self):
        return (self.sharpness_factor,)


class RandomAutocontrast(_RandomColorOp):
    """Stretches each channel to the full range with probability ``p``."""

    _op = staticmethod(F.autocontrast)

    def __init__(self, p: float = 0.5):
        self.p = p


class RandomEqualize(_RandomColorOp):
    """Equalises the histogram with probability ``p`` (uint8 images)."""

    _op = staticmethod(F.equalize)

    def __init__(self, p: float = 0.5):
        self.p = p


class RGB(Transform):
    """Grayscale images to 3 channels (repeated); RGB images pass (v2's ``RGB``, PIL's ``convert("RGB")``)."""

    def apply_image(self, img, params):
        return F2.grayscale_to_rgb(img)


class RandomChannelPermutation(Transform):
    """Permutes the channels at random (the same permutation for every image of a sample)."""

    def apply_image(self, img, params):
        return F2.permute_channels(img, _permutation(img, params))


class RandomPhotometricDistort(Transform):
    """SSD's photometric distortion (Liu et al., 2016), as torchvision v2's: each of brightness, contrast,
    saturation and hue is applied with probability ``p`` (factor uniform in its range), contrast before or
    after the others at even odds, then the channels are permuted with probability ``p``."""

    def __init__(self, brightness=(0.875, 1.125), contrast=(0.5, 1.5), saturation=(0.5, 1.5), hue=(-0.05, 0.05),
                 p: float = 0.5):
        check = ColorJitter._check
        self.brightness = check(brightness, "brightness")
        self.contrast = check(contrast, "contrast")
        self.saturation = check(saturation, "saturation")
        self.hue = check(hue, "hue", center=0.0, bound=(-0.5, 0.5))
        self.p = p

    def _repr_items(self):
        return [(k, v) for k, v in super()._repr_items() if v is not None]

    def make_params(self, size):
        params = {name: (uniform(*span) if rand() < self.p else None) if span else None
                  for name, span in (("brightness", self.brightness), ("contrast", self.contrast),
                                     ("saturation", self.saturation), ("hue", self.hue))}
        params["contrast_before"] = rand() < 0.5
        params["permute"] = rand() < self.p
        return params

    def apply_image(self, img, params):
        if params["brightness"] is not None:
            img = F.adjust_brightness(img, params["brightness"])
        if params["contrast"] is not None and params["contrast_before"]:
            img = F.adjust_contrast(img, params["contrast"])
        if params["saturation"] is not None:
            img = F.adjust_saturation(img, params["saturation"])
        if params["hue"] is not None:
            img = F.adjust_hue(img, params["hue"])
        if params["contrast"] is not None and not params["contrast_before"]:
            img = F.adjust_contrast(img, params["contrast"])
        if params["permute"]:
            img = F2.permute_channels(img, _permutation(img, params))
        return img
