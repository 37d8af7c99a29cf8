"""Learned and random augmentation policies: ``AutoAugment``, ``RandAugment``, ``TrivialAugmentWide``.

The operation spaces and magnitudes are torchvision's. These transforms act on the image only; a
sample dict that also holds masks or boxes is refused rather than silently misaligned.
"""

from __future__ import annotations

import math

import numpy as np

from . import functional as F
from ._base import Transform, rand, randint, rng
from ._image import interpolation_mode, is_pil, max_value, unpack

__all__ = ["AugMix", "AutoAugment", "AutoAugmentPolicy", "RandAugment", "TrivialAugmentWide"]


class AutoAugmentPolicy:
    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"


_IMAGENET_POLICY = (
    (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
    (("Equalize", 0.8, None), ("Equalize", 0.6, None)), (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
    (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
    (("Solarize", 0.6, 3), ("Equalize", 0.6, None)), (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
    (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)), (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
    (("Rotate", 0.8, 8), ("Color", 0.4, 0)), (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
    (("Equalize", 0.0, None), ("Equalize", 0.8, None)), (("Invert", 0.6, None), ("Equalize", 1.0, None)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)), (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
    (("Color", 0.8, 8), ("Solarize", 0.8, 7)), (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
    (("ShearX", 0.6, 5), ("Equalize", 1.0, None)), (("Color", 0.4, 0), ("Equalize", 0.6, None)),
    (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
    (("Invert", 0.6, None), ("Equalize", 1.0, None)), (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
)

_CIFAR10_POLICY = (
    (("Invert", 0.1, None), ("Contrast", 0.2, 6)), (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
    (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)), (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)), (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
    (("Color", 0.4, 3), ("Brightness", 0.6, 7)), (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
    (("Equalize", 0.6, None), ("Equalize", 0.5, None)), (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
    (("Color", 0.7, 7), ("TranslateX", 0.5, 8)), (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
    (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)), (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
    (("Solarize", 0.5, 2), ("Invert", 0.0, None)), (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
    (("Equalize", 0.2, None), ("Equalize", 0.6, None)), (("Color", 0.9, 9), ("Equalize", 0.6, None)),
    (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)), (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
    (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)), (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)), (("Equalize", 0.8, None), ("Invert", 0.1, None)),
    (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
)


def _space(num_bins: int, size: tuple[int, int], wide: bool) -> dict:
    h, w = size
    lin = np.linspace
    if wide:
        return {
            "Identity": (np.zeros(1), False), "ShearX": (lin(0.0, 0.99, num_bins), True),
            "ShearY": (lin(0.0, 0.99, num_bins), True), "TranslateX": (lin(0.0, 32.0, num_bins), True),
            "TranslateY": (lin(0.0, 32.0, num_bins), True), "Rotate": (lin(0.0, 135.0, num_bins), True),
            "Brightness": (lin(0.0, 0.99, num_bins), True), "Color": (lin(0.0, 0.99, num_bins), True),
            "Contrast": (lin(0.0, 0.99, num_bins), True), "Sharpness": (lin(0.0, 0.99, num_bins), True),
            "Posterize": (8 - np.round(np.arange(num_bins) / ((num_bins - 1) / 6)).astype(int), False),
            "Solarize": (lin(255.0, 0.0, num_bins), False), "AutoContrast": (np.zeros(1), False),
            "Equalize": (np.zeros(1), False),
        }
    return {
        "Identity": (np.zeros(1), False), "ShearX": (lin(0.0, 0.3, num_bins), True),
        "ShearY": (lin(0.0, 0.3, num_bins), True), "TranslateX": (lin(0.0, 150.0 / 331.0 * w, num_bins), True),
        "TranslateY": (lin(0.0, 150.0 / 331.0 * h, num_bins), True), "Rotate": (lin(0.0, 30.0, num_bins), True),
        "Brightness": (lin(0.0, 0.9, num_bins), True), "Color": (lin(0.0, 0.9, num_bins), True),
        "Contrast": (lin(0.0, 0.9, num_bins), True), "Sharpness": (lin(0.0, 0.9, num_bins), True),
        "Posterize": (8 - np.round(np.arange(num_bins) / ((num_bins - 1) / 4)).astype(int), False),
        "Solarize": (lin(255.0, 0.0, num_bins), False), "AutoContrast": (np.zeros(1), False),
        "Equalize": (np.zeros(1), False), "Invert": (np.zeros(1), False),
    }


def _on_uint8(img, fn):
    """Posterize/equalize are defined on uint8; a float array goes there and back."""
    if is_pil(img):
        return fn(img)
    arr, pack = unpack(img, "augment")
    if arr.dtype == np.uint8:
        return fn(img)
    as_uint8 = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
    return pack((np.asarray(fn(as_uint8)).astype(np.float32) / 255.0).astype(arr.dtype))


def apply_op(img, name: str, magnitude: float, interpolation, fill):
    if name == "Identity":
        return img
    if name == "ShearX":
        return F.affine(img, 0.0, [0, 0], 1.0, [math.degrees(math.atan(magnitude)), 0.0], interpolation, fill,
                        center=[0, 0])
    if name == "ShearY":
        return F.affine(img, 0.0, [0, 0], 1.0, [0.0, math.degrees(math.atan(magnitude))], interpolation, fill,
                        center=[0, 0])
    if name == "TranslateX":
        return F.affine(img, 0.0, [int(magnitude), 0], 1.0, [0.0, 0.0], interpolation, fill)
    if name == "TranslateY":
        return F.affine(img, 0.0, [0, int(magnitude)], 1.0, [0.0, 0.0], interpolation, fill)
    if name == "Rotate":
        return F.rotate(img, magnitude, interpolation, fill=fill)
    if name == "Brightness":
        return F.adjust_brightness(img, 1.0 + magnitude)
    if name == "Color":
        return F.adjust_saturation(img, 1.0 + magnitude)
    if name == "Contrast":
        return F.adjust_contrast(img, 1.0 + magnitude)
    if name == "Sharpness":
        return F.adjust_sharpness(img, 1.0 + magnitude)
    if name == "Posterize":
        return _on_uint8(img, lambda x: F.posterize(x, int(magnitude)))
    if name == "Solarize":
        top = 255.0 if is_pil(img) else max_value(unpack(img)[0].dtype)
        return F.solarize(img, magnitude / 255.0 * top)
    if name == "AutoContrast":
        return F.autocontrast(img)
    if name == "Equalize":
        return _on_uint8(img, F.equalize)
    if name == "Invert":
        return F.invert(img)
    raise ValueError(f"unknown augmentation {name!r}")


class _Augment(Transform):
    def _call_sample(self, sample: dict) -> dict:
        if any(sample.get(k) is not None for k in ("mask", "masks", "boxes")):
            raise ValueError(f"{type(self).__name__} transforms images only; it cannot keep masks or boxes "
                             "aligned (apply it before building the sample, or use the geometric transforms)")
        return super()._call_sample(sample)


class AutoAugment(_Augment):
    """AutoAugment (Cubuk et al., 2019) with the ImageNet or CIFAR10 policy."""

    def __init__(self, policy: str = "imagenet", interpolation="nearest", fill=None):
        policy = str(getattr(policy, "value", policy)).lower()
        if policy not in ("imagenet", "cifar10"):
            raise ValueError(f"AutoAugment: policy must be 'imagenet' or 'cifar10', got {policy!r}")
        self.policy = policy
        self.interpolation = interpolation_mode(interpolation)
        self.fill = fill

    def apply_image(self, img, params):
        policies = _IMAGENET_POLICY if self.policy == "imagenet" else _CIFAR10_POLICY
        space = _space(10, F.get_size(img), wide=False)
        for name, p, level in policies[randint(0, len(policies))]:
            if rand() <= p:
                magnitudes, signed = space[name]
                magnitude = float(magnitudes[level]) if level is not None else 0.0
                if signed and rand() < 0.5:
                    magnitude = -magnitude
                img = apply_op(img, name, magnitude, self.interpolation, self.fill)
        return img


class RandAugment(_Augment):
    """RandAugment (Cubuk et al., 2020): ``num_ops`` random operations at a fixed ``magnitude``."""

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation="nearest", fill=None):
        if not 0 <= magnitude < num_magnitude_bins:
            raise ValueError(f"RandAugment: magnitude must be in [0, {num_magnitude_bins}), got {magnitude}")
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = interpolation_mode(interpolation)
        self.fill = fill

    def apply_image(self, img, params):
        space = _space(self.num_magnitude_bins, F.get_size(img), wide=False)
        space.pop("Invert")
        names = list(space)
        for _ in range(self.num_ops):
            name = names[randint(0, len(names))]
            magnitudes, signed = space[name]
            magnitude = float(magnitudes[self.magnitude]) if magnitudes.size > 1 else 0.0
            if signed and rand() < 0.5:
                magnitude = -magnitude
            img = apply_op(img, name, magnitude, self.interpolation, self.fill)
        return img


class TrivialAugmentWide(_Augment):
    """TrivialAugment (Müller & Hutter, 2021): one random operation at a random magnitude."""

    def __init__(self, num_magnitude_bins: int = 31, interpolation="nearest", fill=None):
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = interpolation_mode(interpolation)
        self.fill = fill

    def apply_image(self, img, params):
        space = _space(self.num_magnitude_bins, F.get_size(img), wide=True)
        names = list(space)
        name = names[randint(0, len(names))]
        magnitudes, signed = space[name]
        magnitude = float(magnitudes[randint(0, magnitudes.size)]) if magnitudes.size > 1 else 0.0
        if signed and rand() < 0.5:
            magnitude = -magnitude
        return apply_op(img, name, magnitude, self.interpolation, self.fill)


def _augmix_space(num_bins: int, size: tuple[int, int], all_ops: bool) -> dict:
    h, w = size
    lin = np.linspace
    space = {
        "ShearX": (lin(0.0, 0.3, num_bins), True), "ShearY": (lin(0.0, 0.3, num_bins), True),
        "TranslateX": (lin(0.0, w / 3.0, num_bins), True), "TranslateY": (lin(0.0, h / 3.0, num_bins), True),
        "Rotate": (lin(0.0, 30.0, num_bins), True),
        "Posterize": (4 - np.round(np.arange(num_bins) / ((num_bins - 1) / 4)).astype(int), False),
        "Solarize": (lin(255.0, 0.0, num_bins), False),  # apply_op takes the threshold on a 0-255 scale
        "AutoContrast": (np.zeros(1), False), "Equalize": (np.zeros(1), False),
    }
    if all_ops:
        space.update({name: (lin(0.0, 0.9, num_bins), True) for name in ("Brightness", "Color", "Contrast",
                                                                          "Sharpness")})
    return space


class AugMix(_Augment):
    """AugMix (Hendrycks et al., 2020): a Dirichlet-weighted mix of ``mixture_width`` random augmentation
    chains, blended with the original by a Beta(alpha, alpha) weight (torchvision v2's ``AugMix``).

    Args:
        severity: operations' strength, 1 to 10.
        mixture_width: number of augmentation chains.
        chain_depth: operations per chain; -1 draws 1 to 3 per chain.
        alpha: Dirichlet / Beta concentration.
        all_ops: include brightness, colour, contrast and sharpness.
        interpolation: for the geometric operations.
        fill: for the area the geometric operations uncover.

    Example:
        >>> import numpy as np
        >>> AugMix()(np.zeros((3, 8, 8), np.uint8)).shape
        (3, 8, 8)
    """

    _PARAMETER_MAX = 10

    def __init__(self, severity: int = 3, mixture_width: int = 3, chain_depth: int = -1, alpha: float = 1.0,
                 all_ops: bool = True, interpolation="bilinear", fill=None):
        if not 1 <= severity <= self._PARAMETER_MAX:
            raise ValueError(f"AugMix: severity must be between [1, {self._PARAMETER_MAX}], got {severity}")
        self.severity = severity
        self.mixture_width = mixture_width
        self.chain_depth = chain_depth
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = interpolation_mode(interpolation)
        self.fill = fill

    def apply_image(self, img, params):
        pil = is_pil(img)
        image = F.pil_to_tensor(img) if pil else img
        arr, pack = unpack(image, "AugMix")
        space = _augmix_space(self._PARAMETER_MAX, F.get_size(image), self.all_ops)
        names = list(space)
        generator = rng()
        beta = generator.dirichlet([self.alpha, self.alpha])
        weights = generator.dirichlet([self.alpha] * self.mixture_width) * beta[1]
        mix = beta[0] * arr.astype(np.float32)
        for weight in weights:
            aug = image
            depth = self.chain_depth if self.chain_depth > 0 else randint(1, 4)
            for _ in range(depth):
                name = names[randint(0, len(names))]
                magnitudes, signed = space[name]
                magnitude = float(magnitudes[randint(0, self.severity)]) if magnitudes.size > 1 else 0.0
                if signed and rand() < 0.5:
                    magnitude = -magnitude
                aug = apply_op(aug, name, magnitude, self.interpolation, self.fill)
            mix += np.float32(weight) * unpack(aug)[0].astype(np.float32)
        out = pack(mix.astype(arr.dtype))  # truncating back to the dtype, as torchvision's .to(dtype)
        return F.to_pil_image(out) if pil else out
