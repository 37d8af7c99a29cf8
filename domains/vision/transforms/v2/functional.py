"""``ember.vision.transforms.v2.functional``: torchvision v2's functional names, as views.

Geometric functions and the v2-only kernels come from ``transforms._v2_functional`` (they dispatch on
``tv_tensors``: masks nearest, boxes and key points moved); the colour functions are v1's, wrapped so an
``Image`` / ``Video`` keeps its type and a mask or boxes raise ``TypeError``.
"""

from __future__ import annotations

from .. import functional as _v1
from .._image import InterpolationMode
from .._v2_functional import (
    affine,
    center_crop,
    clamp_bounding_boxes,
    clamp_keypoints,
    convert_bounding_box_format,
    convert_image_dtype,
    crop,
    gaussian_noise,
    get_dimensions,
    get_num_channels,
    get_num_frames,
    get_size,
    grayscale_to_rgb,
    horizontal_flip,
    image_only,
    is_pure_tensor,
    jpeg,
    pad,
    permute_channels,
    resize,
    resized_crop,
    rotate,
    sanitize_bounding_boxes,
    sanitize_keypoints,
    to_dtype,
    to_image,
    uniform_temporal_subsample,
    vertical_flip,
)

adjust_brightness = image_only(_v1.adjust_brightness)
adjust_contrast = image_only(_v1.adjust_contrast)
adjust_gamma = image_only(_v1.adjust_gamma)
adjust_hue = image_only(_v1.adjust_hue)
adjust_saturation = image_only(_v1.adjust_saturation)
adjust_sharpness = image_only(_v1.adjust_sharpness)
autocontrast = image_only(_v1.autocontrast)
elastic = elastic_transform = image_only(_v1.elastic_transform)
equalize = image_only(_v1.equalize)
erase = image_only(_v1.erase)
five_crop = image_only(_v1.five_crop)
gaussian_blur = image_only(_v1.gaussian_blur)
invert = image_only(_v1.invert)
normalize = image_only(_v1.normalize)
perspective = image_only(_v1.perspective)
posterize = image_only(_v1.posterize)
rgb_to_grayscale = image_only(_v1.rgb_to_grayscale)
to_grayscale = image_only(_v1.to_grayscale)
solarize = image_only(_v1.solarize)
ten_crop = image_only(_v1.ten_crop)
hflip = horizontal_flip
vflip = vertical_flip
get_image_num_channels = get_num_channels
get_image_size = _v1.get_image_size
pil_to_tensor = _v1.pil_to_tensor
to_pil_image = _v1.to_pil_image
to_tensor = _v1.to_tensor

__all__ = [
    "InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue", "adjust_saturation",
    "adjust_sharpness", "affine", "autocontrast", "center_crop", "clamp_bounding_boxes", "clamp_keypoints",
    "convert_bounding_box_format", "convert_image_dtype", "crop", "elastic", "elastic_transform", "equalize", "erase",
    "five_crop", "gaussian_blur", "gaussian_noise", "get_dimensions", "get_image_num_channels", "get_image_size",
    "get_num_channels", "get_num_frames", "get_size", "grayscale_to_rgb", "hflip", "horizontal_flip", "invert",
    "is_pure_tensor", "jpeg", "normalize", "pad", "permute_channels", "perspective", "pil_to_tensor", "posterize",
    "resize", "resized_crop", "rgb_to_grayscale", "rotate", "sanitize_bounding_boxes", "sanitize_keypoints",
    "solarize", "ten_crop", "to_dtype", "to_grayscale", "to_image", "to_pil_image", "to_tensor",
    "uniform_temporal_subsample", "vertical_flip", "vflip",
]
