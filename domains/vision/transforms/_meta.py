"""Transforms of box and key-point metadata: format conversion, clamping mode, clamping and sanitising key points."""

from __future__ import annotations

from collections.abc import Callable

import ember
import numpy as np
from ember import Tensor

from .. import tv_tensors
from . import _v2_functional as F2
from ._base import BoundingBoxes, Transform, flatten, from_xyxy, to_xyxy
from ._bounding_boxes import find_labels

__all__ = ["ClampKeyPoints", "ConvertBoundingBoxFormat", "SanitizeKeyPoints", "SetClampingMode"]


class ConvertBoundingBoxFormat(Transform):
    """Boxes in ``format`` (a ``BoundingBoxFormat`` or its name); everything else passes through."""

    def __init__(self, format):
        name = format.value if isinstance(format, tv_tensors.BoundingBoxFormat) else str(format).upper()
        if name not in tv_tensors.BoundingBoxFormat.__members__:
            raise ValueError(f"ConvertBoundingBoxFormat: unknown format {format!r}; expected one of "
                             f"{list(tv_tensors.BoundingBoxFormat.__members__)}")
        self.format = tv_tensors.BoundingBoxFormat[name]

    def transform_leaf(self, leaf, params):
        if isinstance(leaf, tv_tensors.BoundingBoxes):
            return F2.convert_bounding_box_format(leaf, new_format=self.format)
        return leaf

    def apply_image(self, img, params):
        return img

    def apply_boxes(self, boxes, params):
        fmt = self.format.value
        converted = from_xyxy(to_xyxy(boxes.data, boxes.format), fmt)
        return BoundingBoxes(converted, fmt, boxes.canvas_size), np.ones(len(boxes), dtype=bool)


class SetClampingMode(Transform):
    """Sets the ``clamping_mode`` (``"soft"``, ``"hard"`` or ``None``) of the boxes passing through."""

    def __init__(self, clamping_mode: str | None):
        if clamping_mode not in (None, "soft", "hard"):
            raise ValueError(f"clamping_mode must be soft, hard or None, got {clamping_mode}")
        self.clamping_mode = clamping_mode

    def transform_leaf(self, leaf, params):
        if isinstance(leaf, tv_tensors.BoundingBoxes):
            return tv_tensors.wrap(leaf.clone(), like=leaf, clamping_mode=self.clamping_mode)
        return leaf

    def apply_image(self, img, params):
        return img


class ClampKeyPoints(Transform):
    """Clamps ``KeyPoints`` to the pixel grid ``[0, W - 1] x [0, H - 1]`` of their canvas."""

    def transform_leaf(self, leaf, params):
        return F2.clamp_keypoints(leaf) if isinstance(leaf, tv_tensors.KeyPoints) else leaf

    def apply_image(self, img, params):
        return img


class SanitizeKeyPoints(Transform):
    """Drops the rows of ``KeyPoints`` with a point outside the canvas, and the same rows of the labels
    ``labels_getter`` finds (``None``, the default: only the key points; ``"default"``: torchvision's
    heuristic, a ``"labels"`` key)."""

    def __init__(self, labels_getter: str | Callable | None = None):
        if not (labels_getter in ("default", None) or callable(labels_getter)):
            raise ValueError(f"labels_getter should either be 'default', a callable, or None, but got "
                             f"{labels_getter}.")
        self.labels_getter = labels_getter

    def apply_image(self, img, params):
        return img

    def __call__(self, *inputs):
        if not inputs:
            raise TypeError("SanitizeKeyPoints needs a sample holding tv_tensors.KeyPoints, got no argument")
        return self._call_tv(inputs if len(inputs) > 1 else inputs[0])

    def _call_tv(self, structure):
        getter = find_labels if self.labels_getter == "default" else self.labels_getter or (lambda _: None)
        labels = getter(structure)
        if labels is not None:
            labels = (labels,) if isinstance(labels, Tensor) else labels
            if not isinstance(labels, (tuple, list)) or not all(isinstance(lab, Tensor) for lab in labels):
                raise ValueError(f"The labels in the input to forward() must be a tensor or None, got "
                                 f"{type(labels)} instead.")
        leaves, rebuild = flatten(structure)
        points = next((leaf for leaf in leaves if isinstance(leaf, tv_tensors.KeyPoints)), None)
        if points is None:
            raise ValueError("No keypoints were found in the sample")
        for label in labels or ():
            if points.shape[0] != label.shape[0]:
                raise ValueError(f"Number of kepyoints (shape={tuple(points.shape)}) must match the number of "
                                 f"labels.Found labels with shape={tuple(label.shape)}).")
        valid = ember.from_numpy(F2.keypoints_valid(points, points.canvas_size))
        out = []
        for leaf in leaves:
            if labels is not None and any(leaf is label for label in labels):
                out.append(Tensor.__getitem__(leaf, valid))
            elif isinstance(leaf, tv_tensors.KeyPoints):
                out.append(tv_tensors.wrap(Tensor.__getitem__(leaf, valid), like=leaf))
            else:
                out.append(leaf)
        return rebuild(out)
