"""The ``Transform`` base class: one image, or a sample dict transformed consistently.

A transform is called on an image (PIL, ndarray or tensor) or on a sample dict with the keys
``image``, ``mask``, ``boxes`` (a ``BoundingBoxes``) and ``labels``. Random parameters are drawn once
per call, from Ember's default generator (which the DataLoader seeds per sample), and applied to every
entry: a geometric transform moves the mask with nearest interpolation and the boxes through the same
coordinate map; boxes that end up outside the image are dropped together with their labels. Other
keys pass through untouched.
"""

from __future__ import annotations

import inspect
from typing import Any

import ember
import ember.random as _random
import numpy as np
from ember import Tensor

from ._image import image_size, is_image, unsupported

BOX_FORMATS = ("XYXY", "XYWH", "CXCYWH")


def rng() -> np.random.Generator:
    """Ember's default generator (numpy API); looked up on each call since ``manual_seed`` replaces it."""
    return _random.default_generator.np


def uniform(low: float, high: float) -> float:
    return low + (high - low) * _random.default_generator.np.random()


def randint(low: int, high: int) -> int:
    """An int in ``[low, high)`` (``floor`` of a uniform draw: one cheap call instead of ``integers``)."""
    if high <= low:
        raise ValueError(f"randint: empty range [{low}, {high})")
    return low + min(int((high - low) * _random.default_generator.np.random()), high - low - 1)


def rand() -> float:
    return _random.default_generator.np.random()


class BoundingBoxes:
    """Boxes of one image: an (N, 4) float array, its ``format`` and the ``canvas_size`` (H, W) it lives on.

    Args:
        data: (N, 4) boxes (list, ndarray or tensor).
        format: ``"XYXY"``, ``"XYWH"`` or ``"CXCYWH"`` (pixel units, x to the right, y down).
        canvas_size: ``(height, width)`` of the image the boxes belong to.

    Example:
        >>> boxes = BoundingBoxes([[10, 20, 30, 40]], format="XYXY", canvas_size=(64, 64))
        >>> len(boxes)
        1
    """

    def __init__(self, data, format: str = "XYXY", canvas_size: tuple[int, int] | None = None):
        if canvas_size is None:
            raise ValueError("BoundingBoxes needs canvas_size=(height, width)")
        fmt = str(format).upper()
        if fmt not in BOX_FORMATS:
            raise ValueError(f"BoundingBoxes: format must be one of {BOX_FORMATS}, got {format!r}")
        arr = np.asarray(data, dtype=np.float32).reshape(-1, 4)
        self.data = arr
        self.format = fmt
        self.canvas_size = (int(canvas_size[0]), int(canvas_size[1]))

    def __len__(self) -> int:
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def to_tensor(self) -> Tensor:
        return ember.from_numpy(self.data.copy())

    def convert(self, format: str) -> BoundingBoxes:
        """The same boxes in another format."""
        return BoundingBoxes(from_xyxy(to_xyxy(self.data, self.format), format.upper()), format, self.canvas_size)

    def __repr__(self) -> str:
        return (f"BoundingBoxes({self.data.tolist()}, format={self.format!r}, "
                f"canvas_size={self.canvas_size})")


def to_xyxy(b: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "XYXY":
        return b.copy()
    if fmt == "XYWH":
        return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    return np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], axis=1)


def from_xyxy(b: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "XYXY":
        return b
    if fmt == "XYWH":
        return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    return np.concatenate([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]], axis=1)


def transform_boxes(boxes: BoundingBoxes, forward: np.ndarray, out_size: tuple[int, int],
                    min_size: float = 1.0) -> tuple[BoundingBoxes, np.ndarray]:
    """Maps boxes through a 3x3 input->output matrix; returns the clamped boxes and the kept-rows mask.

    Each box becomes the enclosing box of its four mapped corners, clamped to the new canvas; boxes
    narrower or shorter than ``min_size`` pixels after clamping (i.e. that left the image) are dropped.
    """
    xyxy = to_xyxy(boxes.data.astype(np.float64), boxes.format)
    x1, y1, x2, y2 = xyxy.T
    corners = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x2, y2], 1),
                        np.stack([x1, y2], 1)], axis=1)  # (N, 4, 2)
    homogeneous = np.concatenate([corners, np.ones(corners.shape[:2] + (1,))], axis=2) @ forward.T
    mapped = homogeneous[..., :2] / homogeneous[..., 2:3]
    h, w = out_size
    new = np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1)
    new[:, 0::2] = np.clip(new[:, 0::2], 0, w)
    new[:, 1::2] = np.clip(new[:, 1::2], 0, h)
    keep = ((new[:, 2] - new[:, 0]) >= min_size) & ((new[:, 3] - new[:, 1]) >= min_size)
    out = from_xyxy(new[keep], boxes.format).astype(np.float32)
    return BoundingBoxes(out, boxes.format, out_size), keep


def _filter_labels(labels, keep: np.ndarray):
    if isinstance(labels, Tensor):
        return ember.from_numpy(labels.numpy(force=True)[keep])
    if isinstance(labels, np.ndarray):
        return labels[keep]
    return [label for label, k in zip(labels, keep) if k]


class Transform:
    """Base class. Subclasses override ``make_params`` (random draws) and ``apply_image``; geometric
    transforms also set ``params["matrix"]`` (3x3, input -> output pixel coordinates) and
    ``params["size"]`` (output (H, W)) and override ``apply_mask``."""

    #: set by geometric transforms: their params carry a coordinate map for boxes
    geometric = False

    def __call__(self, inputs: Any, *rest: Any):
        if rest:
            raise TypeError(f"{type(self).__name__} takes one image or one sample dict, got {1 + len(rest)} "
                            "arguments")
        if isinstance(inputs, dict):
            return self._call_sample(inputs)
        if not is_image(inputs):
            raise unsupported(inputs, type(self).__name__)
        params = self.make_params(image_size(inputs))
        return self.apply_image(inputs, params)

    def _call_sample(self, sample: dict) -> dict:
        if "image" not in sample:
            raise KeyError(f"{type(self).__name__}: a sample dict needs an 'image' key, got keys {list(sample)}")
        image = sample["image"]
        if not is_image(image):
            raise unsupported(image, f"{type(self).__name__} (sample['image'])")
        size = image_size(image)
        params = self.make_params(size)
        out = dict(sample)
        out["image"] = self.apply_image(image, params)
        for key in ("mask", "masks"):
            if key in sample and sample[key] is not None:
                out[key] = self.apply_mask(sample[key], params)
        boxes = sample.get("boxes")
        if boxes is not None:
            if not isinstance(boxes, BoundingBoxes):
                raise TypeError(f"{type(self).__name__}: sample['boxes'] must be a BoundingBoxes (with format "
                                f"and canvas_size), got {type(boxes).__name__}")
            if tuple(boxes.canvas_size) != tuple(size):
                raise ValueError(f"{type(self).__name__}: boxes.canvas_size {boxes.canvas_size} does not match "
                                 f"the image size {size}")
            new_boxes, keep = self.apply_boxes(boxes, params)
            out["boxes"] = new_boxes
            if "labels" in sample and sample["labels"] is not None and not keep.all():
                out["labels"] = _filter_labels(sample["labels"], keep)
        return out

    def make_params(self, size: tuple[int, int]) -> dict:
        return {}

    def apply_image(self, img, params: dict):
        raise NotImplementedError

    def apply_mask(self, mask, params: dict):
        return mask

    def apply_boxes(self, boxes: BoundingBoxes, params: dict):
        if not self.geometric or params.get("matrix") is None:
            return boxes, np.ones(len(boxes), dtype=bool)
        return transform_boxes(boxes, params["matrix"], params["size"])

    # --- repr: the constructor call that rebuilds this transform ---------------------------------
    def _repr_items(self) -> list[tuple[str, Any]]:
        items = []
        for name, p in inspect.signature(type(self).__init__).parameters.items():
            if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or not hasattr(self, name):
                continue
            value = getattr(self, name)
            if p.default is p.empty or not _same(value, p.default):
                items.append((name, value))
        return items

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._repr_items())
        return f"{type(self).__name__}({args})"


def _same(a, b) -> bool:
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False


def mask_apply(mask, fn):
    """Runs an array function on a mask ((H, W) or (N, H, W), any integer/bool dtype) as (N, H, W) floats."""
    if isinstance(mask, Tensor):
        arr, wrap = mask.numpy(force=True), ember.from_numpy
    elif isinstance(mask, np.ndarray):
        arr, wrap = mask, (lambda a: a)
    else:
        raise TypeError(f"mask must be an ndarray or tensor (H, W) or (N, H, W), got {type(mask).__name__}")
    squeeze = arr.ndim == 2
    work = (arr[None] if squeeze else arr).astype(np.float32)
    out = fn(ember.from_numpy(work)).numpy(force=True)
    out = np.rint(out).astype(arr.dtype) if arr.dtype.kind in "iub" else out.astype(arr.dtype)
    return wrap(np.ascontiguousarray(out[0] if squeeze else out))
