"""torchvision v2's functional API: kernels v1 lacks, and the forms that dispatch on ``tv_tensors``.

A geometric function (``resize``, ``crop``, ``horizontal_flip``, ...) called on a plain image is the v1
function of ``functional``; called on an ``Image`` / ``Video`` it returns the same type, on a ``Mask``
it uses nearest interpolation, on ``BoundingBoxes`` / ``KeyPoints`` it moves the coordinates and sets
the new ``canvas_size`` -- through the transform classes' own code (``Transform.transform_leaf``), so
a function and its transform can never disagree. Colour functions take images and videos; given a
mask or boxes they raise ``TypeError`` as torchvision's do. ``ember.vision.transforms.v2.functional``
shows these under torchvision's names.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import ember
import numpy as np
from ember import Tensor

from .. import tv_tensors
from . import functional as F
from ._base import (
    Transform,
    boxes_holder,
    from_xyxy,
    is_pure_tensor,
    leaf_size,
    rng,
    to_xyxy,
    tv_boxes_like,
)
from ._bounding_boxes import SanitizeBoundingBoxes
from ._geometry import (
    CenterCrop,
    Pad,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
    _Crop,
    _size_tuple,
    _translate,
)
from ._image import InterpolationMode, interpolation_mode, is_pil, unpack

__all__ = [
    "affine",
    "center_crop",
    "clamp_bounding_boxes",
    "clamp_keypoints",
    "convert_bounding_box_format",
    "convert_image_dtype",
    "crop",
    "gaussian_noise",
    "get_dimensions",
    "get_num_channels",
    "get_num_frames",
    "get_size",
    "grayscale_to_rgb",
    "horizontal_flip",
    "is_pure_tensor",
    "jpeg",
    "pad",
    "permute_channels",
    "resize",
    "resized_crop",
    "rotate",
    "sanitize_bounding_boxes",
    "sanitize_keypoints",
    "to_dtype",
    "to_image",
    "uniform_temporal_subsample",
    "vertical_flip",
]


# --- dispatch -----------------------------------------------------------------------------------
def _geometric(inpt, transform: Transform, params: Callable[[tuple[int, int]], dict]):
    """A tv_tensor through ``transform`` with ``params(size)`` (nothing is drawn at random)."""
    return transform.transform_leaf(inpt, dict(params(leaf_size(inpt)), min_box_size=0.0))


def image_only(fn: Callable) -> Callable:
    """Wraps a v1 image function: Image / Video keep their type; other tv_tensors raise TypeError."""

    def dispatch(inpt, *args, **kwargs):
        if isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)):
            out = fn(Tensor.detach(inpt), *args, **kwargs)
            return type(inpt).wrap_like(out, inpt) if isinstance(out, Tensor) else out
        if isinstance(inpt, tv_tensors.TVTensor):
            raise TypeError(f"{fn.__name__}() supports images and videos (tensors, PIL images, tv_tensors.Image / "
                            f"Video), but got {type(inpt).__name__}")
        return fn(inpt, *args, **kwargs)

    dispatch.__name__ = fn.__name__
    dispatch.__qualname__ = fn.__name__
    dispatch.__doc__ = fn.__doc__
    dispatch.images_only = True  # Transform._call_kernel passes other tv_tensors through
    return dispatch


def resize(inpt, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool = True):
    """v1's ``resize`` on images; masks resize with nearest interpolation, boxes and key points scale."""
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.resize(inpt, size, interpolation, max_size, antialias)
    t = Resize(size, interpolation, max_size, antialias)
    return _geometric(inpt, t, t.make_params)


def crop(inpt, top: int, left: int, height: int, width: int):
    """The ``height`` x ``width`` window at (``top``, ``left``), zero outside the image."""
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.crop(inpt, top, left, height, width)
    t = _Crop()
    return _geometric(inpt, t, lambda size: t._crop_params(top, left, height, width))


def center_crop(inpt, output_size):
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.center_crop(inpt, output_size)
    t = CenterCrop(output_size)
    return _geometric(inpt, t, t.make_params)


def resized_crop(inpt, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool = True):
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.resized_crop(inpt, top, left, height, width, size, interpolation, antialias)
    t = RandomResizedCrop(size, interpolation=interpolation, antialias=antialias)
    oh, ow = _size_tuple(size, "resized_crop")
    matrix = np.diag([ow / width, oh / height, 1.0]) @ _translate(-left, -top)
    return _geometric(inpt, t, lambda s: {"box": (top, left, height, width), "size": (oh, ow), "matrix": matrix})


def pad(inpt, padding, fill=0, padding_mode: str = "constant"):
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.pad(inpt, padding, fill, padding_mode)
    t = Pad(padding, fill, padding_mode)
    return _geometric(inpt, t, t.make_params)


def horizontal_flip(inpt):
    """Left-right flip (``hflip``)."""
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.hflip(inpt)
    t = RandomHorizontalFlip(1.0)
    return _geometric(inpt, t, t.flip_params)


def vertical_flip(inpt):
    """Top-bottom flip (``vflip``)."""
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.vflip(inpt)
    t = RandomVerticalFlip(1.0)
    return _geometric(inpt, t, t.flip_params)


def rotate(inpt, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
           fill=None):
    """Counter-clockwise rotation by ``angle`` degrees; boxes become the enclosing box of their corners."""
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.rotate(inpt, angle, interpolation, expand, center, fill)
    t = RandomRotation((angle, angle), interpolation_mode(interpolation), expand, center, fill or 0)
    return _geometric(inpt, t, lambda size: t._warp_params(*F.rotate_matrix(size, angle, expand, center)))


def affine(inpt, angle: float, translate: Sequence[float], scale: float, shear,
           interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    if not isinstance(inpt, tv_tensors.TVTensor):
        return F.affine(inpt, angle, translate, scale, shear, interpolation, fill, center)
    t = RandomRotation((0.0, 0.0), interpolation_mode(interpolation), False, center, fill or 0)
    shear = (float(shear), 0.0) if isinstance(shear, (int, float)) else tuple(shear)
    return _geometric(inpt, t, lambda size: t._warp_params(
        F.affine_matrix(size, angle, translate, scale, shear, center), size))


def to_dtype(inpt, dtype=ember.float32, scale: bool = False):
    """Images and videos: v1's ``to_dtype`` (``scale`` rescales the range); other tensors are only cast."""
    if isinstance(inpt, tv_tensors.TVTensor) and not isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)):
        return inpt.to(dtype)
    return image_only(F.to_dtype)(inpt, dtype, scale)


def to_image(inpt) -> tv_tensors.Image:
    """PIL image, HWC ndarray or tensor -> ``tv_tensors.Image`` (CHW, same dtype)."""
    out = F.to_image(inpt)
    return out if isinstance(out, tv_tensors.Image) else tv_tensors.Image(out)


def convert_image_dtype(image, dtype=ember.float32):
    """[deprecated in torchvision] ``to_dtype(image, dtype, scale=True)``."""
    return to_dtype(image, dtype, scale=True)


# --- colour and misc kernels v1 does not have ---------------------------------------------------
def get_size(inpt) -> list[int]:
    """``[height, width]`` of an image, video or mask, or the ``canvas_size`` of boxes and key points."""
    if isinstance(inpt, tv_tensors.TVTensor):
        return list(leaf_size(inpt))
    return F.get_size(inpt)


def get_dimensions(inpt) -> list[int]:
    """``[channels, height, width]`` of an image or video."""
    if isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)):
        return [int(s) for s in inpt.shape[-3:]]
    if isinstance(inpt, tv_tensors.TVTensor):
        raise TypeError(f"get_dimensions() supports images and videos, but got {type(inpt).__name__}")
    return F.get_dimensions(inpt)


def get_num_channels(inpt) -> int:
    """The number of channels of an image or video."""
    return get_dimensions(inpt)[0]


def get_num_frames(video) -> int:
    """The number of frames ``T`` of a ``(..., T, C, H, W)`` video."""
    if not isinstance(video, Tensor) or video.ndim < 4:
        raise TypeError(f"get_num_frames: expected a video tensor (..., T, C, H, W), got {type(video).__name__}")
    return int(video.shape[-4])


@image_only
def permute_channels(inpt, permutation: Sequence[int]):
    """The channels in the order ``permutation`` (``out[..., i, :, :] = inpt[..., permutation[i], :, :]``)."""
    arr, pack = unpack(inpt, "permute_channels")
    permutation = [int(p) for p in (permutation.tolist() if isinstance(permutation, Tensor) else permutation)]
    if sorted(permutation) != list(range(arr.shape[-3])):
        raise ValueError(f"permute_channels: permutation {permutation} does not permute the image's "
                         f"{arr.shape[-3]} channels")
    return pack(np.ascontiguousarray(arr[..., permutation, :, :]))


@image_only
def grayscale_to_rgb(inpt):
    """A 1-channel image repeated to 3 channels; images with 3 or more channels pass as they are."""
    if is_pil(inpt):
        return inpt.convert("RGB")
    arr, pack = unpack(inpt, "grayscale_to_rgb")
    if arr.shape[-3] >= 3:
        return inpt
    return pack(np.ascontiguousarray(np.repeat(arr, 3, axis=-3)))


@image_only
def gaussian_noise(inpt, mean: float = 0.0, sigma: float = 0.1, clip: bool = True):
    """Adds ``mean + sigma * N(0, 1)`` noise (in [0, 255] units times 255 for uint8 images, truncated to int16
    as torchvision does); ``clip`` keeps the result in the image's range."""
    if sigma < 0:
        raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
    if is_pil(inpt):
        raise TypeError("gaussian_noise() supports tensors, not PIL images")
    arr, pack = unpack(inpt, "gaussian_noise")
    noise = rng().standard_normal(arr.shape, dtype=np.float32)
    if arr.dtype.kind == "f":
        out = arr + (np.float32(mean) + noise.astype(arr.dtype) * arr.dtype.type(sigma))
        return pack(np.clip(out, 0, 1) if clip else out)
    if arr.dtype != np.uint8:
        raise ValueError(f"Input tensor is expected to be in uint8 or float dtype, got dtype={arr.dtype}")
    noise = (np.float32(mean * 255) + noise * np.float32(sigma * 255)).astype(np.int16)
    out = arr.astype(np.int16) + noise
    return pack((np.clip(out, 0, 255) if clip else out).astype(np.uint8))


@image_only
def jpeg(inpt, quality: int):
    """The image after a round trip through PIL's JPEG encoder at ``quality`` (1-100), as a compression
    artefact augmentation; uint8 images only."""
    from PIL import Image  # PIL loads on first use

    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be an integer from 1 to 100, got quality={quality}")
    if is_pil(inpt):
        buffer = io.BytesIO()
        inpt.save(buffer, format="JPEG", quality=int(quality))
        return Image.open(buffer)
    arr, pack = unpack(inpt, "jpeg")
    if arr.dtype != np.uint8:
        raise TypeError(f"Input image dtype should be uint8, but got {arr.dtype}")
    if arr.shape[-3] not in (1, 3):
        raise ValueError(f"jpeg: expected 1 or 3 channels, got {arr.shape[-3]}")
    flat = arr.reshape(-1, *arr.shape[-3:])
    out = np.empty_like(flat)
    for i, chw in enumerate(flat):
        buffer = io.BytesIO()
        Image.fromarray(chw[0] if chw.shape[0] == 1 else chw.transpose(1, 2, 0)).save(
            buffer, format="JPEG", quality=int(quality))
        decoded = np.asarray(Image.open(buffer))
        out[i] = decoded[None] if decoded.ndim == 2 else decoded.transpose(2, 0, 1)
    return pack(out.reshape(arr.shape))


def uniform_temporal_subsample(video, num_samples: int):
    """``num_samples`` frames evenly spaced over the video's ``T`` axis (dim -4), first and last included."""
    if not isinstance(video, Tensor) or video.ndim < 4:
        raise TypeError(f"uniform_temporal_subsample: expected a video tensor (..., T, C, H, W), got "
                        f"{type(video).__name__}")
    frames = int(video.shape[-4])
    index = np.linspace(0, frames - 1, num_samples).astype(np.int64)
    arr = np.ascontiguousarray(np.take(video.numpy(force=True), index, axis=-4))
    out = ember.from_numpy(arr)
    return type(video).wrap_like(out, video) if isinstance(video, tv_tensors.TVTensor) else out


# --- boxes and key points -----------------------------------------------------------------------
def _box_format_name(format) -> str:
    return (format.value if isinstance(format, tv_tensors.BoundingBoxFormat) else str(format)).upper()


def convert_bounding_box_format(inpt, old_format=None, new_format=None, inplace: bool = False):
    """Boxes in ``new_format``; a BoundingBoxes knows its own format, a plain tensor needs ``old_format``."""
    if new_format is None:
        raise TypeError("convert_bounding_box_format() missing 1 required argument: 'new_format'")
    new = _box_format_name(new_format)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if old_format is not None:
            raise ValueError("For bounding box tv_tensor inputs, `old_format` must not be passed.")
        holder = boxes_holder(inpt, "convert_bounding_box_format")
        values = from_xyxy(to_xyxy(inpt.numpy(force=True).astype(np.float64), holder.format), new)
        return tv_boxes_like(values, tv_tensors.wrap(inpt, like=inpt, format=new), inpt.canvas_size)
    if old_format is None:
        raise ValueError("For pure tensor inputs, `old_format` has to be passed.")
    old = _box_format_name(old_format)
    arr = inpt.numpy(force=True)
    values = from_xyxy(to_xyxy(arr.reshape(-1, 4).astype(np.float64), old), new).reshape(arr.shape)
    return ember.from_numpy(values.astype(arr.dtype) if arr.dtype.kind == "f" else np.trunc(values).astype(arr.dtype))


def clamp_bounding_boxes(inpt, format=None, canvas_size=None, clamping_mode="soft"):
    """Boxes clamped to ``[0, W] x [0, H]`` of their canvas (``clamping_mode=None``: unchanged)."""
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("For bounding box tv_tensor inputs, `format` and `canvas_size` must not be passed.")
        fmt, size, mode = inpt.format.value, inpt.canvas_size, inpt.clamping_mode
        like = inpt
    else:
        if format is None or canvas_size is None:
            raise ValueError("For pure tensor inputs, `format` and `canvas_size` have to be passed.")
        fmt, size, mode = _box_format_name(format), tuple(canvas_size), clamping_mode
        like = tv_tensors.BoundingBoxes(inpt, format=fmt, canvas_size=size, clamping_mode=mode)
    arr = like.numpy(force=True)
    xyxy = to_xyxy(arr.astype(np.float64).reshape(-1, 4), fmt)
    if mode is not None:
        xyxy[:, 0::2] = np.clip(xyxy[:, 0::2], 0, size[1])
        xyxy[:, 1::2] = np.clip(xyxy[:, 1::2], 0, size[0])
    out = tv_boxes_like(from_xyxy(xyxy, fmt), like, size)
    return out if isinstance(inpt, tv_tensors.BoundingBoxes) else Tensor.detach(out)


def clamp_keypoints(inpt, canvas_size=None):
    """Key points clamped to the pixel grid ``[0, W - 1] x [0, H - 1]``."""
    if isinstance(inpt, tv_tensors.KeyPoints):
        if canvas_size is not None:
            raise ValueError("For keypoints tv_tensor inputs, `canvas_size` must not be passed.")
        canvas_size = inpt.canvas_size
    elif canvas_size is None:
        raise ValueError("For pure tensor inputs, `canvas_size` has to be passed.")
    arr = inpt.numpy(force=True)
    out = arr.astype(np.float64)
    out[..., 0] = np.clip(out[..., 0], 0, canvas_size[1] - 1)
    out[..., 1] = np.clip(out[..., 1], 0, canvas_size[0] - 1)
    out = ember.from_numpy(out.astype(arr.dtype) if arr.dtype.kind == "f" else np.trunc(out).astype(arr.dtype))
    return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.KeyPoints) else out


def sanitize_bounding_boxes(bounding_boxes, format=None, canvas_size=None, min_size: float = 1.0,
                            min_area: float = 1.0):
    """``(valid boxes, valid mask)``: boxes smaller than ``min_size`` / ``min_area`` or outside the canvas go."""
    if isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("format and canvas_size must be None when bounding_boxes is a tv_tensors.BoundingBoxes")
        boxes = bounding_boxes
    else:
        if format is None or canvas_size is None:
            raise ValueError("format and canvas_size cannot be None if bounding_boxes is a pure tensor")
        boxes = tv_tensors.BoundingBoxes(bounding_boxes, format=_box_format_name(format), canvas_size=canvas_size)
    _, valid = SanitizeBoundingBoxes(min_size, min_area).apply_boxes(boxes_holder(boxes, "sanitize"), {})
    valid_tensor = ember.from_numpy(valid)
    kept = Tensor.__getitem__(bounding_boxes, valid_tensor)
    if isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        kept = tv_tensors.wrap(kept, like=bounding_boxes)
    return kept, valid_tensor


def keypoints_valid(points, canvas_size) -> np.ndarray:
    """Which key points (rows of ``points``; every point of a row) lie on the ``[0, W) x [0, H)`` canvas."""
    arr = points.numpy(force=True)
    h, w = canvas_size
    valid = (arr[..., 0] >= 0) & (arr[..., 0] < w) & (arr[..., 1] >= 0) & (arr[..., 1] < h)
    return valid.reshape(valid.shape[0], -1).all(axis=1) if valid.ndim > 1 else valid


def sanitize_keypoints(key_points, canvas_size=None):
    """``(valid key points, valid mask)``: rows with a point outside the canvas go."""
    if isinstance(key_points, tv_tensors.KeyPoints):
        if canvas_size is not None:
            raise ValueError("canvas_size must be None when key_points is a tv_tensors.KeyPoints")
        canvas_size = key_points.canvas_size
    elif canvas_size is None:
        raise ValueError("canvas_size cannot be None if key_points is a pure tensor")
    valid = ember.from_numpy(keypoints_valid(key_points, canvas_size))
    kept = Tensor.__getitem__(key_points, valid)
    if isinstance(key_points, tv_tensors.KeyPoints):
        kept = tv_tensors.wrap(kept, like=key_points)
    return kept, valid
