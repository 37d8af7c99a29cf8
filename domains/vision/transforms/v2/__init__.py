"""``ember.vision.transforms.v2``: torchvision's ``transforms.v2`` path, a view of ``ember.vision.transforms``.

The classes are those of ``ember.vision.transforms`` (one implementation): every transform takes
torchvision v2's inputs -- several arguments, tuples, dicts holding ``ember.vision.tv_tensors`` -- and
dispatches on their types. ``functional`` holds v2's functional names (``resize``, ``horizontal_flip``,
``to_image``, ``to_dtype``, ...). A script importing ``torchvision.transforms.v2`` runs after renaming.

Example:
    >>> import ember
    >>> from ember.vision import tv_tensors
    >>> from ember.vision.transforms import v2
    >>> image = tv_tensors.Image(ember.zeros(3, 8, 8, dtype=ember.uint8))
    >>> boxes = tv_tensors.BoundingBoxes([[0, 0, 2, 4]], format="XYXY", canvas_size=(8, 8))
    >>> out_image, out_boxes = v2.RandomHorizontalFlip(p=1.0)(image, boxes)
    >>> out_boxes.tolist()
    [[6, 0, 8, 4]]
"""

from __future__ import annotations

from .. import (
    JPEG,
    RGB,
    AugMix,
    AutoAugment,
    AutoAugmentPolicy,
    CenterCrop,
    ClampBoundingBoxes,
    ClampKeyPoints,
    ColorJitter,
    Compose,
    ConvertBoundingBoxFormat,
    ConvertImageDtype,
    CutMix,
    ElasticTransform,
    FiveCrop,
    GaussianBlur,
    GaussianNoise,
    Grayscale,
    Identity,
    InterpolationMode,
    Lambda,
    LinearTransformation,
    MixUp,
    Normalize,
    Pad,
    PILToTensor,
    RandAugment,
    RandomAdjustSharpness,
    RandomAffine,
    RandomApply,
    RandomAutocontrast,
    RandomChannelPermutation,
    RandomChoice,
    RandomCrop,
    RandomEqualize,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomInvert,
    RandomIoUCrop,
    RandomOrder,
    RandomPerspective,
    RandomPhotometricDistort,
    RandomPosterize,
    RandomResize,
    RandomResizedCrop,
    RandomRotation,
    RandomShortestSize,
    RandomSolarize,
    RandomVerticalFlip,
    RandomZoomOut,
    Resize,
    SanitizeBoundingBoxes,
    SanitizeKeyPoints,
    ScaleJitter,
    SetClampingMode,
    TenCrop,
    ToDtype,
    ToImage,
    ToPILImage,
    ToPureTensor,
    ToTensor,
    Transform,
    TrivialAugmentWide,
    UniformTemporalSubsample,
    check_type,
    get_bounding_boxes,
    get_keypoints,
    has_all,
    has_any,
    query_chw,
    query_size,
)
from . import functional

__all__ = [
    "JPEG", "RGB", "AugMix", "AutoAugment", "AutoAugmentPolicy", "CenterCrop", "ClampBoundingBoxes", "ClampKeyPoints",
    "ColorJitter", "Compose", "ConvertBoundingBoxFormat", "ConvertImageDtype", "CutMix", "ElasticTransform",
    "FiveCrop", "GaussianBlur", "GaussianNoise", "Grayscale", "Identity", "InterpolationMode", "Lambda",
    "LinearTransformation", "MixUp", "Normalize", "PILToTensor", "Pad", "RandAugment", "RandomAdjustSharpness",
    "RandomAffine", "RandomApply", "RandomAutocontrast", "RandomChannelPermutation", "RandomChoice", "RandomCrop",
    "RandomEqualize", "RandomErasing", "RandomGrayscale", "RandomHorizontalFlip", "RandomInvert", "RandomIoUCrop",
    "RandomOrder", "RandomPerspective", "RandomPhotometricDistort", "RandomPosterize", "RandomResize",
    "RandomResizedCrop", "RandomRotation", "RandomShortestSize", "RandomSolarize", "RandomVerticalFlip",
    "RandomZoomOut", "Resize", "SanitizeBoundingBoxes", "SanitizeKeyPoints", "ScaleJitter", "SetClampingMode",
    "TenCrop", "ToDtype", "ToImage", "ToPILImage", "ToPureTensor", "ToTensor", "Transform", "TrivialAugmentWide",
    "UniformTemporalSubsample", "check_type", "functional", "get_bounding_boxes", "get_keypoints", "has_all",
    "has_any", "query_chw", "query_size",
]
