"""Batch-level augmentations: ``MixUp`` and ``CutMix`` (torchvision v2 semantics).

Both take a batch ``(images, labels)`` (images (N, C, H, W) float, labels (N,) class indices) and return
the mixed images and soft labels (N, num_classes): each sample is mixed with its neighbour in the
batch (the batch rolled by one), with a ratio drawn from Beta(alpha, alpha).
"""

from __future__ import annotations

import ember
import numpy as np
from ember import Tensor

from ._base import randint, rng

__all__ = ["CutMix", "MixUp"]


class _BatchMix:
    def __init__(self, alpha: float = 1.0, num_classes: int | None = None):
        if alpha <= 0:
            raise ValueError(f"{type(self).__name__}: alpha must be positive, got {alpha}")
        if num_classes is None or num_classes < 1:
            raise ValueError(f"{type(self).__name__}: num_classes is required (a positive int)")
        self.alpha = float(alpha)
        self.num_classes = int(num_classes)

    def _unpack(self, batch):
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"{type(self).__name__} expects a batch (images, labels), got {type(batch).__name__}")
        images, labels = batch
        if not isinstance(images, (Tensor, np.ndarray)) or images.ndim != 4:
            raise TypeError(f"{type(self).__name__}: images must be a (N, C, H, W) tensor or ndarray, got "
                            f"{type(images).__name__} of shape {getattr(images, 'shape', None)}")
        x = images.numpy(force=True) if isinstance(images, Tensor) else images
        if x.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}: images must be float, got {x.dtype}")
        y = np.asarray(labels.numpy(force=True) if isinstance(labels, Tensor) else labels)
        if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
            raise TypeError(f"{type(self).__name__}: labels must be (N,) class indices for {len(x)} images, got "
                            f"shape {y.shape} dtype {y.dtype}")
        if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
            raise ValueError(f"{type(self).__name__}: labels must be in [0, {self.num_classes}), got "
                             f"[{y.min()}, {y.max()}]")
        one_hot = np.eye(self.num_classes, dtype=x.dtype)[y]
        wrap = ember.from_numpy if isinstance(images, Tensor) else (lambda a: a)
        return x, one_hot, wrap

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha!r}, num_classes={self.num_classes!r})"


class MixUp(_BatchMix):
    """MixUp (Zhang et al., 2018): ``lam * x + (1 - lam) * x_rolled`` for images and one-hot labels.

    Example:
        >>> import numpy as np
        >>> x, y = MixUp(num_classes=3)((np.ones((2, 1, 2, 2), np.float32), np.array([0, 2])))
        >>> y.shape
        (2, 3)
    """

    def __call__(self, batch):
        x, one_hot, wrap = self._unpack(batch)
        lam = float(rng().beta(self.alpha, self.alpha))
        images = lam * x + (1.0 - lam) * np.roll(x, 1, axis=0)
        labels = lam * one_hot + (1.0 - lam) * np.roll(one_hot, 1, axis=0)
        return wrap(images.astype(x.dtype)), wrap(labels.astype(x.dtype))


class CutMix(_BatchMix):
    """CutMix (Yun et al., 2019): pastes a box of the rolled batch; labels mix by the pasted area."""

    def __call__(self, batch):
        x, one_hot, wrap = self._unpack(batch)
        lam = float(rng().beta(self.alpha, self.alpha))
        h, w = x.shape[-2:]
        cx, cy = randint(0, w), randint(0, h)
        r = 0.5 * np.sqrt(1.0 - lam)
        half_w, half_h = int(r * w), int(r * h)
        x1, y1 = max(cx - half_w, 0), max(cy - half_h, 0)
        x2, y2 = min(cx + half_w, w), min(cy + half_h, h)
        images = x.copy()
        images[..., y1:y2, x1:x2] = np.roll(x, 1, axis=0)[..., y1:y2, x1:x2]
        lam = 1.0 - (x2 - x1) * (y2 - y1) / (w * h)
        labels = lam * one_hot + (1.0 - lam) * np.roll(one_hot, 1, axis=0)
        return wrap(images), wrap(labels.astype(x.dtype))
