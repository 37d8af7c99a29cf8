"""Box hygiene for detection pipelines: clamp boxes to the image, drop degenerate ones with their labels."""

from __future__ import annotations

import numpy as np

from ._base import BoundingBoxes, Transform, from_xyxy, to_xyxy

__all__ = ["ClampBoundingBoxes", "SanitizeBoundingBoxes"]


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
