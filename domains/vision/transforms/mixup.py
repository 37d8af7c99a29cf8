"""Batch-level augmentations: ``MixUp`` and ``CutMix`` (torchvision v2 semantics).

Both take a batch as torchvision's do: ``mix(images, labels)``, ``mix((images, labels))``, or any nested
dict / list / tuple whose labels ``labels_getter`` finds (by default the second item of a pair, or a
``"labels"``-like key of a dict). Images are (N, C, H, W) float tensors or arrays (a ``tv_tensors.Video``
(N, T, C, H, W)); labels are (N,) class indices (``num_classes`` then required) or (N, num_classes) soft
labels. The result has the input's structure, with the images mixed and the labels soft: each sample is
mixed with its neighbour in the batch (the batch rolled by one), with a ratio drawn from Beta(alpha, alpha).

Example:
    >>> import ember
    >>> from ember.vision.transforms import CutMix
    >>> images, labels = CutMix(num_classes=10)(ember.rand(4, 3, 8, 8), ember.tensor([0, 1, 2, 3]))
    >>> labels.shape
    ember.Size([4, 10])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ember
import numpy as np
from ember import Tensor

from .. import tv_tensors
from ._base import randint, rng
from ._image import is_pil

__all__ = ["CutMix", "MixUp"]


def _default_labels(batch):
    """torchvision's heuristic: the second item of a pair, itself the labels or a dict holding them under a key
    equal to (or else containing) "labels", case-insensitively."""
    if isinstance(batch, (tuple, list)):
        batch = batch[1]
    if isinstance(batch, (Tensor, np.ndarray)) and not isinstance(batch, tv_tensors.TVTensor):
        return batch
    if not isinstance(batch, Mapping):
        raise ValueError(  # noqa: TRY004 (torchvision's exception type)
            f"When using the default labels_getter, the input passed to forward must be a dictionary "
            f"or a two-tuple whose second item is a dictionary or a tensor, but got {type(batch).__name__} instead.")
    key = next((k for k in batch if str(k).lower() == "labels"), None)
    if key is None:
        key = next((k for k in batch if "label" in str(k).lower()), None)
    if key is None:
        raise ValueError("Could not infer where the labels are in the sample. Try passing a callable as the "
                         "labels_getter parameter?")
    return batch[key]


def _flatten(tree, leaves: list) -> Callable:
    """Appends the leaves of a dict / list / tuple tree depth-first; returns the function that rebuilds it."""
    if isinstance(tree, Mapping):
        keys = list(tree)
        builders = [_flatten(tree[k], leaves) for k in keys]
        return lambda it: {k: b(it) for k, b in zip(keys, builders)}
    if isinstance(tree, (list, tuple)) and not isinstance(tree, Tensor):
        builders = [_flatten(item, leaves) for item in tree]
        if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # a namedtuple
            return lambda it: type(tree)(*(b(it) for b in builders))
        return lambda it: type(tree)(b(it) for b in builders)
    leaves.append(tree)
    return lambda it: next(it)


def _is_array(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


class _BatchMix:
    def __init__(self, alpha: float = 1.0, num_classes: int | None = None, labels_getter="default"):
        if alpha <= 0:
            raise ValueError(f"{type(self).__name__}: alpha must be positive, got {alpha}")
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"{type(self).__name__}: num_classes must be a positive int, got {num_classes}")
        self.alpha = float(alpha)
        self.num_classes = None if num_classes is None else int(num_classes)
        if labels_getter == "default":
            labels_getter = _default_labels
        elif not callable(labels_getter):
            raise ValueError(f"labels_getter should either be 'default' or a callable, got {labels_getter!r}")
        self._labels_getter = labels_getter

    def __call__(self, *inputs):
        batch = inputs if len(inputs) > 1 else inputs[0]
        leaves: list = []
        rebuild = _flatten(batch, leaves)
        name = type(self).__name__
        if any(is_pil(x) or isinstance(x, (tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints))
               for x in leaves):
            raise ValueError(f"{name}() does not support PIL images, bounding boxes, keypoints and masks.")
        labels = self._labels_getter(batch)
        if not _is_array(labels):
            raise ValueError(f"The labels must be a tensor, but got {type(labels)} instead.")
        y = labels.numpy(force=True) if isinstance(labels, Tensor) else np.asarray(labels)
        self._check_labels(y)
        # the images: the explicit tv_tensors Image / Video, else the first plain tensor (torchvision's heuristic)
        explicit = any(isinstance(x, (tv_tensors.Image, tv_tensors.Video)) for x in leaves)
        images = [i for i, x in enumerate(leaves) if x is not labels and _is_array(x)
                  and (isinstance(x, (tv_tensors.Image, tv_tensors.Video)) if explicit
                       else not isinstance(x, tv_tensors.TVTensor))]
        images = images if explicit else images[:1]
        if not images:
            raise ValueError(f"{name}: found no batch of images in the input")
        first = leaves[images[0]]
        lam = float(rng().beta(self.alpha, self.alpha))
        params = self._params(lam, first.shape[-2], first.shape[-1])
        out = list(leaves)
        for i in images:
            out[i] = self._mix_images(leaves[i], len(y), params)
        out[next(i for i, x in enumerate(leaves) if x is labels)] = self._mix_labels(labels, y, params["lam"])
        return rebuild(iter(out))

    def _check_labels(self, y: np.ndarray) -> None:
        if y.ndim not in (1, 2):
            raise ValueError(f"labels should be index based with shape (batch_size,) or probability based with "
                             f"shape (batch_size, num_classes), but got a tensor of shape {y.shape} instead.")
        if y.ndim == 2 and self.num_classes is not None and y.shape[-1] != self.num_classes:
            raise ValueError(f"When passing 2D labels, the number of elements in last dimension must match "
                             f"num_classes: {y.shape[-1]} != {self.num_classes}. You can Leave num_classes to None.")
        if y.ndim == 1:
            if self.num_classes is None:
                raise ValueError("num_classes must be passed if the labels are index-based (1D)")
            if y.dtype.kind not in "iu":
                raise TypeError(f"{type(self).__name__}: 1-D labels must be class indices, got dtype {y.dtype}")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(f"{type(self).__name__}: labels must be in [0, {self.num_classes}), got "
                                 f"[{y.min()}, {y.max()}]")

    def _mix_images(self, images, batch_size: int, params: dict):
        name = type(self).__name__
        expected = 5 if isinstance(images, tv_tensors.Video) else 4
        if images.ndim != expected:
            raise ValueError(f"Expected a batched input with {expected} dims, but got {images.ndim} dimensions "
                             f"instead.")
        if images.shape[0] != batch_size:
            raise ValueError(f"The batch size of the image or video does not match the batch size of the labels: "
                             f"{images.shape[0]} != {batch_size}.")
        x = images.numpy(force=True) if isinstance(images, Tensor) else images
        if x.dtype.kind != "f":
            raise TypeError(f"{name}: images must be float, got {x.dtype}")
        mixed = self._mix(x, params).astype(x.dtype, copy=False)
        if isinstance(images, tv_tensors.TVTensor):
            return tv_tensors.wrap(ember.from_numpy(mixed), like=images)
        return ember.from_numpy(mixed) if isinstance(images, Tensor) else mixed

    def _mix_labels(self, labels, y: np.ndarray, lam: float):
        soft = np.eye(self.num_classes, dtype=np.float32)[y] if y.ndim == 1 else y
        if soft.dtype.kind != "f":
            soft = soft.astype(np.float32)
        mixed = (lam * soft + (1.0 - lam) * np.roll(soft, 1, axis=0)).astype(soft.dtype, copy=False)
        return ember.from_numpy(mixed) if isinstance(labels, Tensor) else mixed

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

    def _params(self, lam: float, height: int, width: int) -> dict:
        return {"lam": lam}

    def _mix(self, x: np.ndarray, params: dict) -> np.ndarray:
        lam = params["lam"]
        return lam * x + (1.0 - lam) * np.roll(x, 1, axis=0)


class CutMix(_BatchMix):
    """CutMix (Yun et al., 2019): pastes a box of the rolled batch; labels mix by the pasted area."""

    def _params(self, lam: float, height: int, width: int) -> dict:
        cx, cy = randint(0, width), randint(0, height)
        r = 0.5 * np.sqrt(1.0 - lam)
        half_w, half_h = int(r * width), int(r * height)
        x1, y1 = max(cx - half_w, 0), max(cy - half_h, 0)
        x2, y2 = min(cx + half_w, width), min(cy + half_h, height)
        # the labels mix by the area actually pasted
        return {"box": (x1, y1, x2, y2), "lam": 1.0 - (x2 - x1) * (y2 - y1) / (width * height)}

    def _mix(self, x: np.ndarray, params: dict) -> np.ndarray:
        x1, y1, x2, y2 = params["box"]
        images = x.copy()
        images[..., y1:y2, x1:x2] = np.roll(x, 1, axis=0)[..., y1:y2, x1:x2]
        return images
