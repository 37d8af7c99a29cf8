"""Transforms that fit no other family: a user function, dtype casts, normalisation and blur."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import ember
import numpy as np

from .. import tv_tensors
from . import _v2_functional as F2
from . import functional as F
from ._base import Transform, is_pure_tensor, uniform
from ._image import is_pil

__all__ = ["ConvertImageDtype", "GaussianBlur", "GaussianNoise", "Identity", "Lambda", "LinearTransformation",
           "Normalize", "ToDtype"]


class Identity(Transform):
    """Returns its input unchanged (a placeholder in a pipeline)."""

    def _call_tv(self, structure):
        return structure

    def apply_image(self, img, params):
        return img


class Lambda(Transform):
    """Applies a user function to its input: an image, or anything else (a label, a list), as torchvision's
    ``Lambda`` does, e.g. a one-hot ``target_transform``. In a sample dict it applies to the image.

    Example:
        >>> one_hot = Lambda(lambda y: ember.zeros(3).scatter_(0, ember.tensor([y]), value=1))
        >>> one_hot(2).tolist()
        [0.0, 0.0, 1.0]
    """

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Lambda needs a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, *inputs):
        if len(inputs) == 1 and not isinstance(inputs[0], dict) and not isinstance(inputs[0], tv_tensors.TVTensor):
            return self.lambd(inputs[0])
        return super().__call__(*inputs)

    def apply_image(self, img, params):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.lambd, '__name__', repr(self.lambd))})"


class ToDtype(Transform):
    """Casts the image to ``dtype`` (e.g. ``"float32"``); ``scale=True`` rescales the value range.

    As torchvision v2's, ``dtype`` may be a dict from tv_tensor types (and ``"others"``) to dtypes, e.g.
    ``{tv_tensors.Image: ember.float32, tv_tensors.Mask: ember.int64, "others": None}``; ``None`` leaves
    that type alone. With one dtype only images (and videos) are cast.
    """

    def __init__(self, dtype, scale: bool = False):
        if isinstance(dtype, dict):
            self.dtype = dict(dtype)
        else:
            self.dtype = dtype if isinstance(dtype, str) else str(dtype).replace("ember.", "")
        self.scale = scale

    def apply_image(self, img, params):
        if isinstance(self.dtype, dict):
            return self.transform_leaf(img, params)
        return F.to_dtype(img, self.dtype, self.scale)

    def transform_leaf(self, leaf, params):
        if not isinstance(self.dtype, dict):
            return super().transform_leaf(leaf, params)
        key = ember.Tensor if is_pure_tensor(leaf) else type(leaf)
        if key in self.dtype:
            dtype = self.dtype[key]
        elif "others" in self.dtype:
            dtype = self.dtype["others"]
        else:
            raise ValueError(f"No dtype was specified for type {type(leaf)}. If you only need to convert the dtype "
                             f"of images or videos, you can just pass e.g. dtype=ember.float32. If you're passing "
                             f"a dict as dtype, you can use \"others\" as a catch-all key e.g. "
                             f"dtype={{tv_tensors.Mask: ember.int64, \"others\": None}} to pass-through the rest "
                             f"of the inputs.")
        if dtype is None:
            return leaf
        if is_pure_tensor(leaf) or isinstance(leaf, (tv_tensors.Image, tv_tensors.Video)):
            return F2.to_dtype(leaf, dtype, self.scale)
        return leaf.to(dtype)


class ConvertImageDtype(Transform):
    """[deprecated in torchvision: use ``ToDtype(dtype, scale=True)``] images to ``dtype`` with their range."""

    def __init__(self, dtype="float32"):
        self.dtype = dtype if isinstance(dtype, str) else str(dtype).replace("ember.", "")

    def apply_image(self, img, params):
        return F2.convert_image_dtype(img, self.dtype)


class GaussianNoise(Transform):
    """Adds Gaussian noise ``mean + sigma * N(0, 1)`` to float images in [0, 1] (uint8: scaled by 255);
    ``clip`` keeps the range. Masks and boxes pass through."""

    def __init__(self, mean: float = 0.0, sigma: float = 0.1, clip: bool = True):
        if sigma < 0:
            raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
        self.mean = float(mean)
        self.sigma = float(sigma)
        self.clip = clip

    def apply_image(self, img, params):
        return F2.gaussian_noise(img, self.mean, self.sigma, self.clip)


class LinearTransformation(Transform):
    """``(x.flatten() - mean_vector) @ transformation_matrix`` per image (e.g. ZCA whitening), as torchvision.

    Args:
        transformation_matrix: a (D, D) tensor, D = C * H * W.
        mean_vector: a (D,) tensor.
    """

    def __init__(self, transformation_matrix, mean_vector):
        m, v = transformation_matrix, mean_vector
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"transformation_matrix should be square. Got {tuple(m.shape)} rectangular matrix.")
        if v.shape[0] != m.shape[0]:
            raise ValueError(f"mean_vector should have the same length {v.shape[0]} as any one of the dimensions "
                             f"of the transformation_matrix [{tuple(m.shape)}]")
        if m.dtype != v.dtype:
            raise ValueError(f"Input tensors should have the same dtype. Got {m.dtype} and {v.dtype}")
        self.transformation_matrix = m
        self.mean_vector = v

    def _repr_items(self):
        return [("transformation_matrix", self.transformation_matrix), ("mean_vector", self.mean_vector)]

    def apply_image(self, img, params):
        if is_pil(img):
            raise TypeError("LinearTransformation() does not support PIL images.")
        if not isinstance(img, ember.Tensor):
            raise TypeError(f"LinearTransformation() takes tensors, got {type(img).__name__}")
        shape = tuple(img.shape)
        n = shape[-3] * shape[-2] * shape[-1]
        if n != self.transformation_matrix.shape[0]:
            raise ValueError("Input tensor and transformation matrix have incompatible shape."
                             f"[{shape[-3]} x {shape[-2]} x {shape[-1]}] != {self.transformation_matrix.shape[0]}")
        flat = img.reshape(-1, n) - self.mean_vector
        return (flat @ self.transformation_matrix.to(flat.dtype)).reshape(shape)


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
