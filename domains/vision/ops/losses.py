"""Detection losses with torchvision's names and numbers: focal loss and the IoU-family box losses.

The box losses compare boxes one to one (``boxes1[i]`` with ``boxes2[i]``), unlike the pairwise
``*_box_iou`` functions; all are built from ember ops, so they are differentiable.
"""

from __future__ import annotations

import math

import ember
from ember import Tensor
from ember.nn import functional as F

__all__ = ["complete_box_iou_loss", "distance_box_iou_loss", "generalized_box_iou_loss", "sigmoid_focal_loss"]


def _reduce(loss: Tensor, reduction: str, where: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{where}: invalid reduction {reduction!r}; supported: 'none', 'mean', 'sum'")


def _float(boxes: Tensor) -> Tensor:
    return boxes if boxes.is_floating_point() else boxes.float()


def _inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    w = ember.minimum(x2, x2g) - ember.maximum(x1, x1g)
    h = ember.minimum(y2, y2g) - ember.maximum(y1, y1g)
    inter = ember.where((w > 0) & (h > 0), w * h, ember.zeros_like(w))
    return inter, (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter


def _enclosing(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    return ember.maximum(x2, x2g) - ember.minimum(x1, x1g), ember.maximum(y2, y2g) - ember.minimum(y1, y1g)


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                             eps: float = 1e-7) -> Tensor:
    """``1 - GIoU`` of matching ``(x1, y1, x2, y2)`` boxes (Rezatofighi et al., 2019)."""
    boxes1, boxes2 = _float(boxes1), _float(boxes2)
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    wc, hc = _enclosing(boxes1, boxes2)
    area_c = wc * hc
    loss = 1 - (iou - (area_c - union) / (area_c + eps))
    return _reduce(loss, reduction, "generalized_box_iou_loss")


def _diou_loss(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    wc, hc = _enclosing(boxes1, boxes2)
    diagonal_distance_squared = wc**2 + hc**2 + eps
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    centers_distance_squared = ((x2 + x1) / 2 - (x1g + x2g) / 2) ** 2 + ((y2 + y1) / 2 - (y1g + y2g) / 2) ** 2
    return 1 - iou + centers_distance_squared / diagonal_distance_squared, iou


def distance_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """``1 - DIoU`` of matching boxes (Zheng et al., 2019): IoU loss plus normalised centre distance."""
    loss, _ = _diou_loss(_float(boxes1), _float(boxes2), eps)
    return _reduce(loss, reduction, "distance_box_iou_loss")


def complete_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """``1 - CIoU`` of matching boxes: DIoU loss plus ``alpha * v`` for the aspect ratio (alpha held fixed)."""
    boxes1, boxes2 = _float(boxes1), _float(boxes2)
    diou_loss, iou = _diou_loss(boxes1, boxes2, eps)
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    v = (4 / math.pi**2) * (ember.atan((x2g - x1g) / (y2g - y1g)) - ember.atan((x2 - x1) / (y2 - y1))) ** 2
    with ember.no_grad():
        alpha = v / (1 - iou + v + eps)
    return _reduce(diou_loss + alpha * v, reduction, "complete_box_iou_loss")


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2,
                       reduction: str = "none") -> Tensor:
    """Focal loss (RetinaNet, Lin et al., 2017): BCE-with-logits scaled by ``(1 - p_t) ** gamma``.

    Args:
        inputs: logits of any shape.
        targets: same shape, 1 for the positive class and 0 for the negative.
        alpha: weight of positives in ``[0, 1]`` (negatives get ``1 - alpha``); negative disables it.
        gamma: focusing exponent.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Example:
        >>> sigmoid_focal_loss(ember.tensor([0.0]), ember.tensor([1.0])).tolist()  # 0.25 * 0.25 * log 2
        [0.043321...]
    """
    p = ember.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    return _reduce(loss, reduction, "sigmoid_focal_loss")
