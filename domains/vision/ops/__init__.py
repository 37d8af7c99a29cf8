"""``ember.vision.ops``: torchvision.ops' detection operators and blocks, same names and numbers.

Box utilities (``nms``, ``box_iou``, ``box_convert``, ...), RoI pooling (``roi_align``, ``roi_pool``, the
position-sensitive ``ps_roi_align`` / ``ps_roi_pool``, ``MultiScaleRoIAlign``), deformable convolution,
detection losses (``sigmoid_focal_loss``, ``*_box_iou_loss``) and layers (``FeaturePyramidNetwork``,
``Conv2dNormActivation``, ``DeformConv2d``, ``FrozenBatchNorm2d``, ``StochasticDepth``, ...).

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
from .deform_conv import DeformConv2d, deform_conv2d
from .feature_pyramid_network import ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool, LastLevelP6P7
from .losses import complete_box_iou_loss, distance_box_iou_loss, generalized_box_iou_loss, sigmoid_focal_loss
from .misc import (
    MLP,
    Conv2dNormActivation,
    Conv3dNormActivation,
    DropBlock2d,
    DropBlock3d,
    FrozenBatchNorm2d,
    Permute,
    SqueezeExcitation,
    StochasticDepth,
    drop_block2d,
    drop_block3d,
    stochastic_depth,
)
from .poolers import MultiScaleRoIAlign
from .ps_roi import PSRoIAlign, PSRoIPool, ps_roi_align, ps_roi_pool
from .roi import RoIAlign, RoIPool, roi_align, roi_pool

__all__ = [
    "MLP",
    "Conv2dNormActivation",
    "Conv3dNormActivation",
    "DeformConv2d",
    "DropBlock2d",
    "DropBlock3d",
    "ExtraFPNBlock",
    "FeaturePyramidNetwork",
    "FrozenBatchNorm2d",
    "LastLevelMaxPool",
    "LastLevelP6P7",
    "MultiScaleRoIAlign",
    "PSRoIAlign",
    "PSRoIPool",
    "Permute",
    "RoIAlign",
    "RoIPool",
    "SqueezeExcitation",
    "StochasticDepth",
    "batched_nms",
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes_to_image",
    "complete_box_iou",
    "complete_box_iou_loss",
    "deform_conv2d",
    "distance_box_iou",
    "distance_box_iou_loss",
    "drop_block2d",
    "drop_block3d",
    "generalized_box_iou",
    "generalized_box_iou_loss",
    "masks_to_boxes",
    "nms",
    "ps_roi_align",
    "ps_roi_pool",
    "remove_small_boxes",
    "roi_align",
    "roi_pool",
    "sigmoid_focal_loss",
    "stochastic_depth",
]
