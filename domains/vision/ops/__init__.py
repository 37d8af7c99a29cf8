"""``ember.vision.ops``: torchvision.ops' detection operators and blocks, same names and numbers.

Box utilities (``nms``, ``box_iou``, ``box_convert``, ...), RoI pooling (``roi_align``, ``roi_pool``),
detection losses (``sigmoid_focal_loss``, ``*_box_iou_loss``) and layers (``FeaturePyramidNetwork``,
``Conv2dNormActivation``, ``FrozenBatchNorm2d``, ``StochasticDepth``, ...).

Example:
    >>> import ember
    >>> from ember.vision import ops
    >>> boxes = ember.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]])
    >>> ops.nms(boxes, ember.tensor([0.9, 0.8]), iou_threshold=0.5).tolist()
    [0]
"""

from __future__ import annotations

from .boxes import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    complete_box_iou,
    distance_box_iou,
    generalized_box_iou,
    masks_to_boxes,
    nms,
    remove_small_boxes,
)
from .feature_pyramid_network import ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool, LastLevelP6P7
from .losses import complete_box_iou_loss, distance_box_iou_loss, generalized_box_iou_loss, sigmoid_focal_loss
from .misc import (
    MLP,
    Conv2dNormActivation,
    DropBlock2d,
    FrozenBatchNorm2d,
    Permute,
    SqueezeExcitation,
    StochasticDepth,
    drop_block2d,
    stochastic_depth,
)
from .roi import RoIAlign, RoIPool, roi_align, roi_pool

__all__ = [
    "MLP", "Conv2dNormActivation", "DropBlock2d", "ExtraFPNBlock", "FeaturePyramidNetwork", "FrozenBatchNorm2d",
    "LastLevelMaxPool", "LastLevelP6P7", "Permute", "RoIAlign", "RoIPool", "SqueezeExcitation",
    "StochasticDepth", "batched_nms", "box_area", "box_convert", "box_iou", "clip_boxes_to_image",
    "complete_box_iou", "complete_box_iou_loss", "distance_box_iou", "distance_box_iou_loss", "drop_block2d",
    "generalized_box_iou", "generalized_box_iou_loss", "masks_to_boxes", "nms", "remove_small_boxes", "roi_align",
    "roi_pool", "sigmoid_focal_loss", "stochastic_depth",
]
