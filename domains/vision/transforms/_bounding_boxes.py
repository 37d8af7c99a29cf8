"""Box hygiene for detection pipelines: clamp boxes to the image, drop degenerate ones with their labels."""

from __future__ import annotations

from collections.abc import Callable

import ember
import numpy as np
from ember import Tensor

from .. import tv_tensors
from . import functional as F
from ._base import (
    BoundingBoxes,
    Transform,
    boxes_holder,
    flatten,
    from_xyxy,
    is_pure_tensor,
    mask_apply,
    rand,
    randint,
    to_xyxy,
)
from ._image import is_pil

__all__ = ["ClampBoundingBoxes", "RandomIoUCrop", "SanitizeBoundingBoxes"]


class ClampBoundingBoxes(Transform):
    """Clamps ``sample["boxes"]`` to their canvas; the image passes through."""

    def apply_image(self, img, params):
        return img

    def apply_boxes(self, boxes, params):
        xyxy = to_xyxy(boxes.data, boxes.format)
        h, w = boxes.canvas_size
        xyxy[:, 0::2] = np.clip(xyxy[:, 0::2], 0, w)
        xyxy[:, 1::2] = np.clip(xyxy[:, 1::2], 0, h)
        clamped = BoundingBoxes(from_xyxy(xyxy, boxes.format), boxes.format, boxes.canvas_size)
        return clamped, np.ones(len(boxes), dtype=bool)


class SanitizeBoundingBoxes(Transform):
    """Drops boxes smaller than ``min_size`` per side or ``min_area``, or outside the canvas, with their labels.

    Example:
        >>> import numpy as np
        >>> boxes = BoundingBoxes([[0, 0, 5, 5], [2, 2, 2.5, 9]], format="XYXY", canvas_size=(10, 10))
        >>> out = SanitizeBoundingBoxes()({"image": np.zeros((10, 10), np.uint8), "boxes": boxes, "labels": [1, 2]})
        >>> out["labels"]
        [1]
    """

    def __init__(self, min_size: float = 1.0, min_area: float = 1.0,
                 labels_getter: str | Callable | None = "default"):
        if min_size < 1:
            raise ValueError(f"SanitizeBoundingBoxes: min_size must be >= 1, got {min_size}")
        if min_area < 1:
            raise ValueError(f"SanitizeBoundingBoxes: min_area must be >= 1, got {min_area}")
        if not (labels_getter in ("default", None) or callable(labels_getter)):
            raise ValueError(f"labels_getter should either be 'default', a callable, or None, but got "
                             f"{labels_getter}.")
        self.min_size = min_size
        self.min_area = min_area
        self.labels_getter = labels_getter

    def _call_tv(self, structure):
        """torchvision's forward: the boxes, masks and labels (found by ``labels_getter``) lose the same rows."""
        leaves, rebuild = flatten(structure)
        boxes = next((leaf for leaf in leaves if isinstance(leaf, tv_tensors.BoundingBoxes)), None)
        if boxes is None:
            raise ValueError("SanitizeBoundingBoxes: no bounding boxes were found in the sample")
        getter = (find_labels if self.labels_getter == "default"
                  else self.labels_getter or (lambda _: None))
        labels = getter(structure)
        labels = () if labels is None else (tuple(labels) if isinstance(labels, (tuple, list)) else (labels,))
        for label in labels:
            if not isinstance(label, Tensor):
                raise ValueError(f"The labels in the input to forward() must be a tensor or None, got "  # noqa: TRY004 (torchvision's type)
                                 f"{type(label)} instead.")
            if label.shape[0] != boxes.shape[0]:
                raise ValueError(f"Number of boxes (shape={tuple(boxes.shape)}) and must match the number of "
                                 f"labels. Found labels with shape={tuple(label.shape)}).")
        _, valid = self.apply_boxes(boxes_holder(boxes, "SanitizeBoundingBoxes"), {})
        index = ember.from_numpy(valid)
        out = []
        for leaf in leaves:
            if any(leaf is label for label in labels):
                out.append(Tensor.__getitem__(leaf, index))
            elif isinstance(leaf, (tv_tensors.BoundingBoxes, tv_tensors.Mask)):
                out.append(tv_tensors.wrap(Tensor.__getitem__(leaf, index), like=leaf))
            else:
                out.append(leaf)
        return rebuild(out)

    def apply_image(self, img, params):
        return img

    def apply_boxes(self, boxes, params):
        xyxy = to_xyxy(boxes.data, boxes.format)
        ws, hs = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
        h, w = boxes.canvas_size
        valid = (ws >= self.min_size) & (hs >= self.min_size) & (xyxy >= 0).all(axis=1)
        valid &= (xyxy[:, 0] <= w) & (xyxy[:, 2] <= w) & (xyxy[:, 1] <= h) & (xyxy[:, 3] <= h)
        valid &= ws * hs >= self.min_area
        return BoundingBoxes(boxes.data[valid], boxes.format, boxes.canvas_size), valid


def _iou_with(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    lt = np.maximum(boxes[:, :2], box[:2])
    rb = np.minimum(boxes[:, 2:], box[2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / (area + np.prod(box[2:] - box[:2]) - inter)


class RandomIoUCrop(Transform):
    """SSD's random crop (Liu et al., 2016), as torchvision v2's ``RandomIoUCrop``.

    Draws a minimum IoU from ``sampler_options`` (1.0 or more leaves the sample as is), then up to
    ``trials`` crops of ``[min_scale, max_scale]`` of each side and aspect ratio in range, until one
    contains a box centre and overlaps such a box by at least that IoU. Boxes whose centre falls
    outside the crop become ``[0, 0, 0, 0]`` (follow with :class:`SanitizeBoundingBoxes`). Needs
    ``sample["boxes"]``.
    """

    geometric = True

    def __init__(self, min_scale: float = 0.3, max_scale: float = 1.0, min_aspect_ratio: float = 0.5,
                 max_aspect_ratio: float = 2.0, sampler_options: list[float] | None = None, trials: int = 40):
        self.min_scale = min_scale
        self.max_scale = max_scale
        self.min_aspect_ratio = min_aspect_ratio
        self.max_aspect_ratio = max_aspect_ratio
        self.sampler_options = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0] if sampler_options is None else sampler_options
        self.trials = trials

    def __call__(self, *inputs):
        if len(inputs) == 1 and isinstance(inputs[0], dict) and isinstance(inputs[0].get("boxes"), BoundingBoxes):
            self._boxes = inputs[0]["boxes"]
        else:
            leaves = flatten(inputs)[0]
            boxes = [leaf for leaf in leaves if isinstance(leaf, tv_tensors.BoundingBoxes)]
            has_image = any(isinstance(leaf, (tv_tensors.Image, tv_tensors.Video)) or is_pure_tensor(leaf)
                            or is_pil(leaf) for leaf in leaves)
            if not boxes or not has_image:
                raise TypeError("RandomIoUCrop() requires input sample to contain tensor or PIL images and "
                                "bounding boxes: it needs a sample dict with 'boxes' (a BoundingBoxes) or tv_tensors.BoundingBoxes")
            self._boxes = boxes_holder(boxes[0], "RandomIoUCrop")
        try:
            return super().__call__(*inputs)
        finally:
            del self._boxes

    def make_params(self, size):
        orig_h, orig_w = size
        boxes = to_xyxy(self._boxes.data.astype(np.float64), self._boxes.format)
        while True:
            min_iou = self.sampler_options[randint(0, len(self.sampler_options))]
            if min_iou >= 1.0:
                return {}
            for _ in range(self.trials):
                span = self.max_scale - self.min_scale
                new_w = int(orig_w * (self.min_scale + span * rand()))
                new_h = int(orig_h * (self.min_scale + span * rand()))
                if new_h == 0 or not self.min_aspect_ratio <= new_w / new_h <= self.max_aspect_ratio:
                    continue
                left, top = int((orig_w - new_w) * rand()), int((orig_h - new_h) * rand())
                right, bottom = left + new_w, top + new_h
                if left == right or top == bottom:
                    continue
                cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
                within = (left < cx) & (cx < right) & (top < cy) & (cy < bottom)
                if not within.any():
                    continue
                if _iou_with(boxes[within], np.array([left, top, right, bottom], np.float64)).max() < min_iou:
                    continue
                return {"box": (top, left, new_h, new_w), "within": within, "size": (new_h, new_w),
                        "matrix": np.array([[1.0, 0, -left], [0, 1.0, -top], [0, 0, 1.0]])}

    def apply_image(self, img, params):
        return F.crop(img, *params["box"]) if "box" in params else img

    def apply_mask(self, mask, params):
        return mask_apply(mask, lambda m: F.crop(m, *params["box"])) if "box" in params else mask

    def apply_boxes(self, boxes, params):
        if "box" not in params:
            return boxes, np.ones(len(boxes), dtype=bool)
        top, left, h, w = params["box"]
        xyxy = to_xyxy(boxes.data.astype(np.float64), boxes.format) - np.array([left, top, left, top])
        xyxy[:, 0::2] = np.clip(xyxy[:, 0::2], 0, w)
        xyxy[:, 1::2] = np.clip(xyxy[:, 1::2], 0, h)
        xyxy[~params["within"]] = 0
        out = BoundingBoxes(from_xyxy(xyxy, boxes.format).astype(np.float32), boxes.format, (h, w))
        return out, np.ones(len(boxes), dtype=bool)


def find_labels(inputs):
    """torchvision's default ``labels_getter``: a ``"labels"`` key (or one containing "label", any case) of the
    sample dict, or of the second item of an ``(image, target)`` pair; a plain tensor there is the labels."""
    if isinstance(inputs, (tuple, list)):
        inputs = inputs[1]
    if is_pure_tensor(inputs):
        return inputs
    if not isinstance(inputs, dict):  # torchvision raises ValueError here
        raise ValueError(f"When using the default labels_getter, the input passed to forward must be a dictionary "  # noqa: TRY004
                         f"or a two-tuple whose second item is a dictionary or a tensor, but got {inputs} instead.")
    key = next((k for k in inputs if isinstance(k, str) and k.lower() == "labels"), None)
    if key is None:
        key = next((k for k in inputs if isinstance(k, str) and "label" in k.lower()), None)
    if key is None:
        raise ValueError("Could not infer where the labels are in the sample. Try passing a callable as the "
                         "labels_getter parameter?If there are no labels in the sample by design, pass "
                         "labels_getter=None.")
    return inputs[key]
