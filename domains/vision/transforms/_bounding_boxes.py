"""Box hygiene for detection pipelines: clamp boxes to the image, drop degenerate ones with their labels."""

from __future__ import annotations

import numpy as np

from . import functional as F
from ._base import BoundingBoxes, Transform, from_xyxy, mask_apply, rand, randint, to_xyxy

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

    def __init__(self, min_size: float = 1.0, min_area: float = 1.0):
        if min_size < 1:
            raise ValueError(f"SanitizeBoundingBoxes: min_size must be >= 1, got {min_size}")
        if min_area < 1:
            raise ValueError(f"SanitizeBoundingBoxes: min_area must be >= 1, got {min_area}")
        self.min_size = min_size
        self.min_area = min_area

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

    def __call__(self, inputs, *rest):
        if not isinstance(inputs, dict) or inputs.get("boxes") is None:
            raise TypeError("RandomIoUCrop needs a sample dict with 'boxes' (a BoundingBoxes)")
        self._boxes = inputs["boxes"]
        try:
            return super().__call__(inputs, *rest)
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
                return {"box": (top, left, new_h, new_w), "within": within}

    def apply_image(self, img, params):
        return F.crop(img, *params["box"]) if params else img

    def apply_mask(self, mask, params):
        return mask_apply(mask, lambda m: F.crop(m, *params["box"])) if params else mask

    def apply_boxes(self, boxes, params):
        if not params:
            return boxes, np.ones(len(boxes), dtype=bool)
        top, left, h, w = params["box"]
        xyxy = to_xyxy(boxes.data.astype(np.float64), boxes.format) - np.array([left, top, left, top])
        xyxy[:, 0::2] = np.clip(xyxy[:, 0::2], 0, w)
        xyxy[:, 1::2] = np.clip(xyxy[:, 1::2], 0, h)
        xyxy[~params["within"]] = 0
        out = BoundingBoxes(from_xyxy(xyxy, boxes.format).astype(np.float32), boxes.format, (h, w))
        return out, np.ones(len(boxes), dtype=bool)
