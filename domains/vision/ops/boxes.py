"""Box operations with torchvision's names, signatures and numbers (``torchvision.ops.boxes``).

Boxes are ``(..., 4)`` tensors, ``(x1, y1, x2, y2)`` unless a ``fmt`` says otherwise. The IoU family is
built from ember ops, so gradients flow to both sets of boxes; ``nms`` and friends return int64 indices.
"""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor

__all__ = [
    "batched_nms", "box_area", "box_convert", "box_iou", "clip_boxes_to_image", "complete_box_iou",
    "distance_box_iou", "generalized_box_iou", "masks_to_boxes", "nms", "remove_small_boxes",
]

_FORMATS = ("xyxy", "xywh", "cxcywh")


def _upcast(t: Tensor) -> Tensor:
    """Integer boxes are computed in float32 and float16 in float32 (torchvision's ``_upcast``)."""
    if t.is_floating_point():
        return t if t.dtype in (ember.float32, ember.float64) else t.float()
    return t if t.dtype in (ember.int32, ember.int64) else t.int()


def _check_boxes(boxes: Tensor, where: str) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{where}: expected boxes as a Tensor, got {type(boxes).__name__}")
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"{where}: expected boxes of shape (..., 4), got {tuple(boxes.shape)}")


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Converts boxes between ``"xyxy"``, ``"xywh"`` (corner, size) and ``"cxcywh"`` (centre, size).

    Example:
        >>> box_convert(ember.tensor([[1.0, 2.0, 3.0, 4.0]]), "xywh", "xyxy").tolist()
        [[1.0, 2.0, 4.0, 6.0]]
    """
    for fmt in (in_fmt, out_fmt):
        if fmt not in _FORMATS:
            raise ValueError(f"box_convert: unsupported box format {fmt!r}; expected one of {_FORMATS}")
    _check_boxes(boxes, "box_convert")
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xywh":
        c, d = a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    if out_fmt == "xywh":
        c, d = c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return ember.stack((a, b, c, d), dim=-1)


def box_area(boxes: Tensor, fmt: str = "xyxy") -> Tensor:
    """Area of each box, ``(...)`` from ``(..., 4)``."""
    if fmt not in _FORMATS:
        raise ValueError(f"box_area: unsupported box format {fmt!r}; expected one of {_FORMATS}")
    _check_boxes(boxes, "box_area")
    boxes = _upcast(boxes)
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def _inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = ember.maximum(boxes1[..., :, None, :2], boxes2[..., None, :, :2])  # (..., N, M, 2)
    rb = ember.minimum(boxes1[..., :, None, 2:], boxes2[..., None, :, 2:])
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter, area1[..., :, None] + area2[..., None, :] - inter


def box_iou(boxes1: Tensor, boxes2: Tensor, fmt: str = "xyxy") -> Tensor:
    """Pairwise intersection over union, ``(..., N, M)`` from ``(..., N, 4)`` and ``(..., M, 4)``.

    Example:
        >>> box_iou(ember.tensor([[0.0, 0.0, 2.0, 2.0]]), ember.tensor([[1.0, 1.0, 3.0, 3.0]]))
        tensor([[0.1429]])
    """
    if fmt not in _FORMATS:
        raise ValueError(f"box_iou: unsupported box format {fmt!r}; expected one of {_FORMATS}")
    _check_boxes(boxes1, "box_iou")
    _check_boxes(boxes2, "box_iou")
    if fmt != "xyxy":
        boxes1, boxes2 = box_convert(boxes1, fmt, "xyxy"), box_convert(boxes2, fmt, "xyxy")
    inter, union = _inter_union(boxes1, boxes2)
    return inter / union


def _enclosing_wh(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    lti = ember.minimum(boxes1[..., :, None, :2], boxes2[..., None, :, :2])
    rbi = ember.maximum(boxes1[..., :, None, 2:], boxes2[..., None, :, 2:])
    return _upcast(rbi - lti).clamp(min=0)  # (..., N, M, 2)


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise generalized IoU: IoU minus the part of the enclosing box the union does not cover."""
    _check_boxes(boxes1, "generalized_box_iou")
    _check_boxes(boxes2, "generalized_box_iou")
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / union
    whi = _enclosing_wh(boxes1, boxes2)
    areai = whi[..., 0] * whi[..., 1]
    return iou - (areai - union) / areai


def _box_diou_iou(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    iou = box_iou(boxes1, boxes2)
    whi = _enclosing_wh(boxes1, boxes2)
    diagonal_distance_squared = whi[..., 0] ** 2 + whi[..., 1] ** 2 + eps
    x_p = (boxes1[..., 0] + boxes1[..., 2]) / 2
    y_p = (boxes1[..., 1] + boxes1[..., 3]) / 2
    x_g = (boxes2[..., 0] + boxes2[..., 2]) / 2
    y_g = (boxes2[..., 1] + boxes2[..., 3]) / 2
    centers_distance_squared = (_upcast(x_p[..., :, None] - x_g[..., None, :]) ** 2
                                + _upcast(y_p[..., :, None] - y_g[..., None, :]) ** 2)
    return iou - centers_distance_squared / diagonal_distance_squared, iou


def distance_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Pairwise distance IoU: IoU minus the squared centre distance over the enclosing box's diagonal."""
    _check_boxes(boxes1, "distance_box_iou")
    _check_boxes(boxes2, "distance_box_iou")
    diou, _ = _box_diou_iou(_upcast(boxes1), _upcast(boxes2), eps)
    return diou


def complete_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Pairwise complete IoU: distance IoU minus an aspect-ratio term ``alpha * v`` (alpha not differentiated)."""
    _check_boxes(boxes1, "complete_box_iou")
    _check_boxes(boxes2, "complete_box_iou")
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    diou, iou = _box_diou_iou(boxes1, boxes2, eps)
    w_pred = boxes1[..., :, None, 2] - boxes1[..., :, None, 0]
    h_pred = boxes1[..., :, None, 3] - boxes1[..., :, None, 1]
    w_gt = boxes2[..., None, :, 2] - boxes2[..., None, :, 0]
    h_gt = boxes2[..., None, :, 3] - boxes2[..., None, :, 1]
    v = (4 / math.pi**2) * (ember.atan(w_pred / h_pred) - ember.atan(w_gt / h_gt)) ** 2
    with ember.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Clips ``(x1, y1, x2, y2)`` boxes to an image of ``size = (height, width)``."""
    _check_boxes(boxes, "clip_boxes_to_image")
    height, width = size
    x = boxes[..., 0::2].clamp(min=0, max=width)
    y = boxes[..., 1::2].clamp(min=0, max=height)
    return ember.stack((x, y), dim=boxes.ndim).reshape(boxes.shape)


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """Indices of the boxes whose width and height are both at least ``min_size``."""
    _check_boxes(boxes, "remove_small_boxes")
    ws, hs = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    return ember.where((ws >= min_size) & (hs >= min_size))[0]


def masks_to_boxes(masks: Tensor) -> Tensor:
    """``(N, 4)`` float boxes around the nonzero pixels of ``(N, H, W)`` masks; an empty mask gives zeros."""
    arr = np.asarray(masks)
    if arr.size == 0:
        return ember.zeros((0, 4))
    if arr.ndim != 3:
        raise ValueError(f"masks_to_boxes: expected masks of shape (N, H, W), got {arr.shape}")
    _, h, w = arr.shape
    rows, cols = arr.astype(bool).any(axis=2), arr.astype(bool).any(axis=1)
    y1, x1 = rows.argmax(axis=1), cols.argmax(axis=1)
    y2, x2 = (h - 1) - rows[:, ::-1].argmax(axis=1), (w - 1) - cols[:, ::-1].argmax(axis=1)
    out = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32)
    out[~rows.any(axis=1)] = 0
    return ember.from_numpy(out)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression.

    Keeps the highest-scoring box, drops every box whose IoU with it is above ``iou_threshold``,
    and repeats. Returns the int64 indices of the kept boxes, by decreasing score.

    Example:
        >>> boxes = ember.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
        >>> nms(boxes, ember.tensor([0.9, 0.8, 0.7]), 0.5).tolist()
        [0, 2]
    """
    _check_boxes(boxes, "nms")
    b = np.asarray(boxes.detach(), dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores.detach()).reshape(-1)
    if b.shape[0] != s.shape[0]:
        raise ValueError(f"nms: boxes {tuple(boxes.shape)} and scores {tuple(scores.shape)} differ in length")
    return ember.from_numpy(_nms_kernel()(b, np.argsort(-s, kind="stable"), float(iou_threshold)))


def _nms_kernel():
    import numba  # lazy: heavy

    global _NMS
    if _NMS is None:
        _NMS = numba.njit(cache=True)(_nms_loop)
    return _NMS


_NMS = None


def _nms_loop(boxes: np.ndarray, order: np.ndarray, threshold: float) -> np.ndarray:
    # torchvision's CPU kernel: areas without +1, a box is suppressed when IoU > threshold
    n = order.shape[0]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed = np.zeros(n, np.bool_)
    keep = np.empty(n, np.int64)
    count = 0
    for a in range(n):
        i = order[a]
        if suppressed[i]:
            continue
        keep[count] = i
        count += 1
        for b in range(a + 1, n):
            j = order[b]
            if suppressed[j]:
                continue
            w = max(0.0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            h = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = w * h
            if inter / (areas[i] + areas[j] - inter) > threshold:
                suppressed[j] = True
    return keep[:count].copy()


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS done independently per category ``idxs``; indices of the kept boxes by decreasing score."""
    _check_boxes(boxes, "batched_nms")
    if boxes.numel() == 0:
        return ember.zeros(0, dtype=ember.int64)
    # torchvision's coordinate trick: shift each category's boxes so no two categories overlap
    b = np.asarray(boxes.detach(), dtype=np.float64)
    offsets = np.asarray(idxs).astype(np.float64) * (b.max() + 1)
    shifted = ember.from_numpy(b + offsets[:, None])
    return nms(shifted, scores, iou_threshold)
