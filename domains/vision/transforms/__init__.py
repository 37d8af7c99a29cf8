"""Image transforms with torchvision's names and semantics.

Every transform accepts a PIL image, an ndarray (HW, HWC or CHW) or an ember Tensor (..., C, H, W),
uint8 or float, returns the same kind, and raises ``TypeError`` for anything else. Called on a sample
dict (``image``, ``mask``, ``boxes`` as ``BoundingBoxes``, ``labels``), geometric transforms move all of
them together. Random parameters come from Ember's default generator, which ``ember.data.DataLoader``
seeds per sample, so pipelines are reproducible. ``repr(t)`` is the constructor call that rebuilds
``t``; ``build_transform`` builds one from recipe data.

Example:
    >>> import numpy as np
    >>> from ember.vision import transforms as T
    >>> pipeline = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
    ...                       T.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])])
    >>> pipeline(np.zeros((32, 32, 3), np.uint8)).shape
    ember.Size([3, 32, 32])
"""

from __future__ import annotations

from . import functional
from ._augment import JPEG, RandomErasing
from ._base import BoundingBoxes, Transform
from ._bounding_boxes import ClampBoundingBoxes, RandomIoUCrop, SanitizeBoundingBoxes
from ._build import build_transform
from ._color import (
    RGB,
    ColorJitter,
    Grayscale,
    RandomAdjustSharpness,
    RandomAutocontrast,
    RandomChannelPermutation,
    RandomEqualize,
    RandomGrayscale,
    RandomInvert,
    RandomPhotometricDistort,
    RandomPosterize,
    RandomSolarize,
)
from ._container import Compose, RandomApply, RandomChoice, RandomOrder
from ._geometry import (
    CenterCrop,
    ElasticTransform,
    Pad,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomPerspective,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    RandomZoomOut,
    Resize,
)
from ._image import InterpolationMode
from ._meta import ClampKeyPoints, ConvertBoundingBoxFormat, SanitizeKeyPoints, SetClampingMode
from ._misc import (
    ConvertImageDtype,
    GaussianBlur,
    GaussianNoise,
    Identity,
    Lambda,
    LinearTransformation,
    Normalize,
    ToDtype,
)
from ._multi_crop import FiveCrop, TenCrop
from ._resize import RandomResize, RandomShortestSize, ScaleJitter
from ._temporal import UniformTemporalSubsample
from ._type_conversion import PILToTensor, ToImage, ToPILImage, ToPureTensor, ToTensor
from ._utils import check_type, get_bounding_boxes, get_keypoints, has_all, has_any, query_chw, query_size
from .autoaugment import AugMix, AutoAugment, AutoAugmentPolicy, RandAugment, TrivialAugmentWide
from .mixup import CutMix, MixUp

__all__ = [
    "JPEG",
    "RGB",
    "AugMix",
    "AutoAugment",
    "AutoAugmentPolicy",
    "BoundingBoxes",
    "CenterCrop",
    "ClampBoundingBoxes",
    "ClampKeyPoints",
    "ColorJitter",
    "Compose",
    "ConvertBoundingBoxFormat",
    "ConvertImageDtype",
    "CutMix",
    "ElasticTransform",
    "FiveCrop",
    "GaussianBlur",
    "GaussianNoise",
    "Grayscale",
    "Identity",
    "InterpolationMode",
    "Lambda",
    "LinearTransformation",
    "MixUp",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandAugment",
    "RandomAdjustSharpness",
    "RandomAffine",
    "RandomApply",
    "RandomAutocontrast",
    "RandomChannelPermutation",
    "RandomChoice",
    "RandomCrop",
    "RandomEqualize",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomInvert",
    "RandomIoUCrop",
    "RandomOrder",
    "RandomPerspective",
    "RandomPhotometricDistort",
    "RandomPosterize",
    "RandomResize",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomShortestSize",
    "RandomSolarize",
    "RandomVerticalFlip",
    "RandomZoomOut",
    "Resize",
    "SanitizeBoundingBoxes",
    "SanitizeKeyPoints",
    "ScaleJitter",
    "SetClampingMode",
    "TenCrop",
    "ToDtype",
    "ToImage",
    "ToPILImage",
    "ToPureTensor",
    "ToTensor",
    "Transform",
    "TrivialAugmentWide",
    "UniformTemporalSubsample",
    "build_transform",
    "check_type",
    "functional",
    "get_bounding_boxes",
    "get_keypoints",
    "has_all",
    "has_any",
    "query_chw",
    "query_size",
]
