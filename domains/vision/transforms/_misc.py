"""Transforms that fit no other family: a user function, dtype casts, normalisation and blur."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import ember
import numpy as np

from . import functional as F
from ._base import Transform, uniform

__all__ = ["GaussianBlur", "Lambda", "Normalize", "ToDtype"]


class Lambda(Transform):
    """Applies a user function to the image (the one transform that needs a callable)."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Lambda needs a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def apply_image(self, img, params):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.lambd, '__name__', repr(self.lambd))})"


class ToDtype(Transform):
    """Casts the image to ``dtype`` (e.g. ``"float32"``); ``scale=True`` rescales the value range."""

    def __init__(self, dtype, scale: bool = False):
        self.dtype = dtype if isinstance(dtype, str) else str(dtype).replace("ember.", "")
        self.scale = scale

    def apply_image(self, img, params):
        return F.to_dtype(img, self.dtype, self.scale)


class Normalize(Transform):
    """``(x - mean) / std`` per channel on a float image."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        self.inplace = inplace

    def apply_image(self, img, params):
        arr = img.numpy(force=True) if isinstance(img, ember.Tensor) else None
        if arr is not None and arr.dtype == np.float32 and arr.ndim == 3 and (
                arr.shape[0] == len(self.mean) and not self.inplace):
            if not hasattr(self, "_arrays"):  # cached per instance: the common float32 CHW case
                self._arrays = (np.asarray(self.mean, np.float32).reshape(-1, 1, 1),
                                np.asarray(self.std, np.float32).reshape(-1, 1, 1))
                F.normalize(img, self.mean, self.std)  # validates std once
            out = arr - self._arrays[0]
            out /= self._arrays[1]
            return ember.from_numpy(out)
        return F.normalize(img, self.mean, self.std, self.inplace)


class GaussianBlur(Transform):
    """Gaussian blur with ``sigma`` drawn uniformly from ``(min, max)``."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = kernel_size if isinstance(kernel_size, numbers.Number) else tuple(kernel_size)
        ks = F._pair(kernel_size)
        if any(k <= 0 or k % 2 == 0 for k in ks):
            raise ValueError(f"GaussianBlur: kernel_size must be odd and positive, got {kernel_size}")
        self.sigma = (float(sigma), float(sigma)) if isinstance(sigma, numbers.Number) else tuple(
            float(s) for s in sigma)
        if not 0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(f"GaussianBlur: sigma must be positive with min <= max, got {sigma}")

    def make_params(self, size):
        return {"sigma": uniform(*self.sigma)}

    def apply_image(self, img, params):
        return F.gaussian_blur(img, self.kernel_size, params["sigma"])
