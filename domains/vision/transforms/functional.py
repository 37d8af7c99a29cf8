"""Functional forms of the transforms (torchvision's ``transforms.functional`` names and semantics).

Each function accepts a PIL image, an ndarray (HW, HWC or CHW) or a tensor (..., C, H, W), uint8 or
float, and returns the same kind. PIL images go through Pillow's own operations; arrays and tensors
through numpy kernels that reproduce them. Anything else raises ``TypeError``.

Example:
    >>> import numpy as np
    >>> from ember.vision.transforms import functional as F
    >>> F.hflip(np.arange(6, dtype=np.uint8).reshape(2, 3)).tolist()
    [[2, 1, 0], [5, 4, 3]]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import ember
import numpy as np
from ember import Tensor

from . import _color_kernels, _geometry_kernels
from ._image import (
    InterpolationMode,
    array_to_pil,
    image_size,
    interpolation_mode,
    is_pil,
    like,
    max_value,
    num_channels,
    pil_resample,
    pil_to_array,
    to_float,
    unpack,
)

__all__ = [
    "InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue", "adjust_saturation",
    "adjust_sharpness", "affine", "autocontrast", "center_crop", "crop", "elastic_transform", "equalize", "erase",
    "five_crop",
    "gaussian_blur",
    "get_dimensions", "get_image_size", "get_size", "hflip", "invert", "normalize", "pad", "perspective",
    "pil_to_tensor", "posterize", "resize", "resized_crop", "rgb_to_grayscale", "rotate", "solarize",
    "ten_crop", "to_dtype", "to_grayscale", "to_image", "to_pil_image", "to_tensor", "vflip",
]


# --- conversion --------------------------------------------------------------------------------------


def get_size(img) -> list[int]:
    """``[height, width]`` of an image."""
    return list(image_size(img))


def get_image_size(img) -> list[int]:
    """``[width, height]`` (torchvision's v1 order)."""
    h, w = image_size(img)
    return [w, h]


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]``."""
    return [num_channels(img), *image_size(img)]


def to_tensor(pic) -> Tensor:
    """PIL image or HWC ndarray -> float32 CHW tensor; uint8 values are scaled to [0, 1]."""
    pil = is_pil(pic)
    if pil and pic.mode in ("L", "RGB", "RGBA"):  # the common case: one copy
        hwc = np.asarray(pic)
        out = (hwc[:, :, None] if hwc.ndim == 2 else hwc).transpose(2, 0, 1).astype(np.float32)
        out *= np.float32(1.0 / 255.0)
        return ember.from_numpy(out)
    arr, pack = unpack(pic, "to_tensor")
    if pil and pic.mode in ("I", "I;16", "F"):
        return ember.from_numpy(arr.astype(np.float32))
    out = arr.astype(np.float32) if arr.dtype.kind == "f" else arr.astype(np.float32) / np.float32(
        max_value(arr.dtype))
    if isinstance(pic, Tensor):
        return pack(out)
    return ember.from_numpy(np.ascontiguousarray(out))


def pil_to_tensor(pic) -> Tensor:
    """PIL image -> CHW tensor of the image's own dtype (no scaling)."""
    if not is_pil(pic):
        raise TypeError(f"pil_to_tensor: expected a PIL image, got {type(pic).__name__}")
    return ember.from_numpy(pil_to_array(pic))


def to_pil_image(pic, mode: str | None = None):
    """CHW tensor or HWC ndarray -> PIL image; float values are taken to be in [0, 1]."""
    if is_pil(pic):
        return pic if mode is None else pic.convert(mode)
    arr, _ = unpack(pic, "to_pil_image")
    return array_to_pil(arr, mode)


def to_dtype(img, dtype, scale: bool = False):
    """Casts an array image; with ``scale`` the value range follows (uint8 [0, 255] <-> float [0, 1]).

    torchvision v2's rules, number for number: float -> int multiplies by ``max + 1 - 1e-3`` and
    truncates (so 0.5 -> 127 in uint8), int -> float multiplies by ``1 / max``, int -> int shifts bits.
    """
    target = _numpy_dtype(dtype) if not isinstance(dtype, (type, np.dtype)) else np.dtype(dtype)
    if is_pil(img):
        raise TypeError("to_dtype: expected an ndarray or tensor, got a PIL image (use PILToTensor first)")
    arr, pack = unpack(img, "to_dtype")
    if not scale or arr.dtype == target:
        return pack(arr.astype(target))
    return pack(_scale_dtype(arr, target))


def _int_max(dtype: np.dtype) -> int:
    return int(np.iinfo(dtype).max) if dtype.kind in "iu" else 1


def _scale_dtype(arr: np.ndarray, target: np.dtype) -> np.ndarray:
    if arr.dtype.kind == "f":
        if target.kind == "f":
            return arr.astype(target)
        if target.itemsize >= arr.dtype.itemsize and target.kind == "i" and target.itemsize >= 4:
            raise RuntimeError(f"The conversion from {arr.dtype} to {target} cannot be performed safely.")
        return (arr * arr.dtype.type(_int_max(target) + 1.0 - 1e-3)).astype(target)
    if target.kind == "f":
        return arr.astype(target) * target.type(1.0 / _int_max(arr.dtype))
    bits_in = np.iinfo(arr.dtype).bits - (arr.dtype.kind == "i")
    bits_out = np.iinfo(target).bits - (target.kind == "i")
    if bits_in > bits_out:
        return (arr >> (bits_in - bits_out)).astype(target)
    return arr.astype(target) << (bits_out - bits_in)


def _numpy_dtype(dtype) -> np.dtype:
    """The numpy dtype of an Ember dtype or dtype name (``ember.float32``, ``"float32"``, ``"half"``).

    Core has no public converter; an empty tensor of that dtype names it, with core's own error for
    an unknown name.
    """
    return ember.empty(0, dtype=dtype).numpy().dtype


def normalize(tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
    """``(x - mean) / std`` per channel, on a float tensor or ndarray."""
    if is_pil(tensor):
        raise TypeError("normalize: expected a float tensor or ndarray, got a PIL image (use ToTensor first)")
    arr, pack = unpack(tensor, "normalize")
    if arr.dtype.kind != "f":
        raise TypeError(f"normalize: expected a float image, got {arr.dtype} (use ToDtype(float32, scale=True))")
    mean_a = np.asarray(mean, dtype=arr.dtype).reshape(-1, 1, 1)
    std_a = np.asarray(std, dtype=arr.dtype).reshape(-1, 1, 1)
    if not std_a.all():
        raise ValueError(f"normalize: std contains a zero: {list(std)}")
    if inplace and arr.flags.writeable:
        arr -= mean_a
        arr /= std_a
        return tensor
    out = arr - mean_a
    out /= std_a
    return pack(out)


# --- geometry ----------------------------------------------------------------------------------------


def _output_size(h: int, w: int, size, max_size: int | None) -> tuple[int, int]:
    if size is None:  # v2: only the longer edge is given, as max_size
        if max_size is None:
            raise ValueError("resize: size can be None only when max_size is given")
        short, long = (w, h) if w <= h else (h, w)
        new_short = int(max_size * short / long)
        return (max_size, new_short) if w <= h else (new_short, max_size)
    if isinstance(size, numbers.Number):
        size = [int(size)]
    size = list(size)
    if len(size) == 2:
        return int(size[0]), int(size[1])
    if len(size) != 1:
        raise ValueError(f"resize: size must be an int or a sequence of one or two ints, got {size}")
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"resize: max_size ({max_size}) must be larger than size ({new_short})")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool = True):
    """Resizes to ``size`` (h, w), or matches the smaller edge to ``size`` when it is an int.

    Tensors follow torchvision's tensor kernels (``torch.nn.functional.interpolate``: NEAREST takes
    source pixel ``floor(i * in / out)``, antialiasing as ``antialias`` says); PIL images and ndarrays
    follow Pillow (NEAREST takes the pixel under each output pixel's centre, always antialiased).
    """
    mode = interpolation_mode(interpolation)
    h, w = image_size(img)
    oh, ow = _output_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    if is_pil(img):
        return img.resize((ow, oh), pil_resample(mode))
    arr, pack = unpack(img, "resize")
    if isinstance(img, Tensor):
        return pack(_geometry_kernels.interpolate(arr, (oh, ow), mode, antialias))
    return pack(like(_geometry_kernels.resize(to_float(arr), (oh, ow), mode, antialias), arr.dtype))


def crop(img, top: int, left: int, height: int, width: int):
    """Crops the box at (top, left) of size (height, width); parts outside the image are zero."""
    if is_pil(img):
        return img.crop((left, top, left + width, top + height))
    arr, pack = unpack(img, "crop")
    h, w = arr.shape[-2:]
    if top < 0 or left < 0 or top + height > h or left + width > w:
        out = np.zeros(arr.shape[:-2] + (height, width), dtype=arr.dtype)
        y0, x0 = max(top, 0), max(left, 0)
        y1, x1 = min(top + height, h), min(left + width, w)
        if y1 > y0 and x1 > x0:
            out[..., y0 - top:y1 - top, x0 - left:x1 - left] = arr[..., y0:y1, x0:x1]
        return pack(out)
    return pack(arr[..., top:top + height, left:left + width])


def center_crop(img, output_size):
    """Crops the centre; pads with zeros when the image is smaller than ``output_size``.

    As torchvision: an odd amount of padding puts the extra row (column) at the bottom (right);
    an odd crop margin is split with Python's ``round`` (ties to even).
    """
    oh, ow = _pair(output_size)
    top, left = center_crop_origin(image_size(img), (oh, ow))
    return crop(img, top, left, oh, ow)


def center_crop_origin(size: tuple[int, int], output_size: tuple[int, int]) -> tuple[int, int]:
    """``(top, left)`` of torchvision's centre crop (negative where it pads)."""
    (h, w), (oh, ow) = size, output_size
    top = -((oh - h) // 2) if oh > h else round((h - oh) / 2.0)
    left = -((ow - w) // 2) if ow > w else round((w - ow) / 2.0)
    return top, left


def five_crop(img, size) -> tuple:
    """The four corner crops and the centre crop of ``size``: ``(top_left, top_right, bottom_left,
    bottom_right, center)``."""
    ch, cw = _pair(size)
    h, w = image_size(img)
    if ch > h or cw > w:
        raise ValueError(f"five_crop: requested crop size {(ch, cw)} is bigger than the image size {(h, w)}")
    return (crop(img, 0, 0, ch, cw), crop(img, 0, w - cw, ch, cw), crop(img, h - ch, 0, ch, cw),
            crop(img, h - ch, w - cw, ch, cw), center_crop(img, (ch, cw)))


def ten_crop(img, size, vertical_flip: bool = False) -> tuple:
    """:func:`five_crop` of the image, then of its horizontally (or vertically) flipped copy."""
    flipped = vflip(img) if vertical_flip else hflip(img)
    return five_crop(img, size) + five_crop(flipped, size)


def to_image(inpt) -> Tensor:
    """PIL image or HWC ndarray -> CHW tensor of the same dtype; tensors pass through (v2's ``to_image``)."""
    if isinstance(inpt, Tensor):
        return inpt
    if is_pil(inpt):
        return pil_to_tensor(inpt)
    if isinstance(inpt, np.ndarray):
        arr = np.atleast_3d(inpt)
        return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    raise TypeError(f"to_image: expected a PIL image, an ndarray or a tensor, got {type(inpt).__name__}")


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool = True):
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def _padding(padding) -> tuple[int, int, int, int]:
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding[0], padding[0], padding[0], padding[0]
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError(f"pad: padding must be an int or 1, 2 or 4 ints, got {padding}")


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pads (left, top, right, bottom); ``padding_mode`` is constant, edge, reflect or symmetric."""
    left, top, right, bottom = _padding(padding)
    if is_pil(img) and padding_mode == "constant" and min(left, top, right, bottom) >= 0 and img.mode in (
            "L", "RGB", "RGBA"):
        from PIL import ImageOps

        return ImageOps.expand(img, (left, top, right, bottom), _pil_fill(fill, len(img.getbands())) or 0)
    arr, pack = unpack(img, "pad")
    return pack(_geometry_kernels.pad(arr, left, top, right, bottom, fill, padding_mode))


def hflip(img):
    """Flips left-right."""
    if is_pil(img):
        from PIL import Image

        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    arr, pack = unpack(img, "hflip")
    return pack(arr[..., ::-1])


def vflip(img):
    """Flips top-bottom."""
    if is_pil(img):
        from PIL import Image

        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    arr, pack = unpack(img, "vflip")
    return pack(arr[..., ::-1, :])


def _pil_fill(fill, channels: int):
    if fill is None:
        return None
    values = np.atleast_1d(np.asarray(fill, dtype=np.float64))
    if values.size == 1:
        values = np.repeat(values, channels)
    values = [round(v) for v in values]
    return values[0] if channels == 1 else tuple(values)


def warp(img, matrix: np.ndarray, out_size: tuple[int, int], interpolation=InterpolationMode.NEAREST, fill=None):
    """Applies a 3x3 output->input matrix (affine or projective) in Pillow's pixel convention."""
    mode = interpolation_mode(interpolation)
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                    InterpolationMode.BILINEAR) and not is_pil(img):
        raise ValueError(f"only nearest and bilinear interpolation are supported for warps, got {mode.value}")
    if is_pil(img):
        from PIL import Image

        projective = not np.allclose(matrix[2], [0.0, 0.0, 1.0])
        m = matrix / matrix[2, 2]
        kind = Image.Transform.PERSPECTIVE if projective else Image.Transform.AFFINE
        data = tuple(m.ravel()[:8]) if projective else tuple(m[:2].ravel())
        return img.transform((out_size[1], out_size[0]), kind, data, pil_resample(mode),
                             fillcolor=_pil_fill(fill, len(img.getbands())))
    arr, pack = unpack(img, "warp")
    return pack(like(_geometry_kernels.warp(to_float(arr), matrix, out_size, mode, fill), arr.dtype))


def rotate_matrix(size: tuple[int, int], angle: float, expand: bool = False, center=None):
    """(output->input matrix, output size) of a counter-clockwise rotation by ``angle`` degrees."""
    h, w = size
    c = (w * 0.5, h * 0.5) if center is None else (float(center[0]), float(center[1]))
    matrix = _geometry_kernels.inverse_affine_matrix(c, -angle, (0.0, 0.0), 1.0, (0.0, 0.0))
    if not expand:
        return matrix, (h, w)
    forward = np.linalg.inv(matrix)
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], dtype=np.float64) @ forward.T
    # round away float noise before ceil/floor (as Pillow does for 90-degree turns)
    xs, ys = np.round(corners[:, 0], 8), np.round(corners[:, 1], 8)
    nw = int(math.ceil(xs.max()) - math.floor(xs.min()))
    nh = int(math.ceil(ys.max()) - math.floor(ys.min()))
    shift = np.array([[1, 0, -(nw - w) / 2.0], [0, 1, -(nh - h) / 2.0], [0, 0, 1]])
    return matrix @ shift, (nh, nw)


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
           fill=None):
    """Rotates counter-clockwise by ``angle`` degrees about ``center`` (default: the image centre).

    Tensors follow torchvision's tensor kernel (``grid_sample``: nearest rounds half to even, the
    outside is zero unless ``fill`` is given; quarter turns are exact); PIL images and ndarrays
    follow Pillow.
    """
    if isinstance(img, Tensor):
        return _tensor_rotate(img, angle, interpolation, expand, center, fill)
    matrix, out_size = rotate_matrix(image_size(img), angle, expand, center)
    return warp(img, matrix, out_size, interpolation, fill)


def _tensor_rotate(img: Tensor, angle: float, interpolation, expand: bool, center, fill) -> Tensor:
    arr, pack = unpack(img, "rotate")
    angle = angle % 360
    if center is None:
        quarter_turns = {0: 0, 180: 2}
        if expand or arr.shape[-1] == arr.shape[-2]:
            quarter_turns.update({90: 1, 270: 3})
        if angle in quarter_turns:
            return pack(np.ascontiguousarray(np.rot90(arr, quarter_turns[angle], axes=(-2, -1))))
    h, w = arr.shape[-2:]
    center_f = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    matrix = _geometry_kernels.inverse_affine_matrix(center_f, -angle, (0.0, 0.0), 1.0, (0.0, 0.0))
    out_size = _geometry_kernels.affine_output_size(matrix, w, h) if expand else (h, w)
    return pack(_geometry_kernels.grid_warp(arr, matrix, out_size, interpolation_mode(interpolation), fill))


def elastic_transform(img, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Moves each pixel by ``displacement`` (``(1, H, W, 2)``, in grid units of [-1, 1]), as torchvision's
    tensor kernel: output pixel ``(y, x)`` samples the input at ``identity_grid + displacement``."""
    if is_pil(img):
        arr = pil_to_array(img)
        return to_pil_image(elastic_transform(ember.from_numpy(arr), displacement, interpolation, fill))
    arr, pack = unpack(img, "elastic_transform")
    h, w = arr.shape[-2:]
    shift = np.asarray(displacement)
    if shift.shape != (1, h, w, 2):
        raise ValueError(f"elastic_transform: displacement must have shape (1, {h}, {w}, 2), got {shift.shape}")
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
    gx, gy = _geometry_kernels.identity_grid(h, w, dtype)
    gx, gy = gx + shift[0, ..., 0].astype(dtype), gy + shift[0, ..., 1].astype(dtype)
    return pack(_geometry_kernels.grid_sample(arr, gx, gy, interpolation_mode(interpolation), fill))


def affine_matrix(size: tuple[int, int], angle: float, translate, scale: float, shear, center=None) -> np.ndarray:
    h, w = size
    if isinstance(shear, numbers.Number):
        shear = (float(shear), 0.0)
    shear = [shear[0], shear[0]] if len(shear) == 1 else list(shear)  # torchvision: one value shears both
    c = (w * 0.5, h * 0.5) if center is None else (float(center[0]), float(center[1]))
    return _geometry_kernels.inverse_affine_matrix(c, angle, [float(t) for t in translate], float(scale), shear)


def affine(img, angle: float, translate: Sequence[float], scale: float, shear,
           interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotation (clockwise, as torchvision's ``affine``), translation, scale and shear about the centre.

    Tensors follow torchvision's tensor kernel (see :func:`rotate`); PIL images and ndarrays follow Pillow.
    """
    if scale <= 0:
        raise ValueError(f"affine: scale must be positive, got {scale}")
    size = image_size(img)
    if isinstance(img, Tensor):  # torchvision's tensor kernel: centred coordinates, grid_sample
        h, w = size
        center_f = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
        matrix = affine_matrix(size, angle, translate, scale, shear, center_f)
        arr, pack = unpack(img, "affine")
        return pack(_geometry_kernels.grid_warp(arr, matrix, size, interpolation_mode(interpolation), fill))
    return warp(img, affine_matrix(size, angle, translate, scale, shear, center), size, interpolation, fill)


def perspective(img, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Maps the four ``startpoints`` corners onto ``endpoints`` (each [[x, y], ...] top-left clockwise)."""
    matrix = _geometry_kernels.perspective_coefficients(startpoints, endpoints)
    return warp(img, matrix, image_size(img), interpolation, fill)


# --- colour ------------------------------------------------------------------------------------------


def _pil_enhance(img, name: str, factor: float):
    from PIL import ImageEnhance

    if factor < 0:
        raise ValueError(f"{name} factor must be non-negative, got {factor}")
    return getattr(ImageEnhance, name)(img).enhance(factor)


def _color_op(img, name: str, kernel, *args):
    arr, pack = unpack(img, name)
    return pack(kernel(arr, *args))


def adjust_brightness(img, brightness_factor: float):
    """Multiplies by ``brightness_factor`` (0 gives black, 1 the original)."""
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor must be non-negative, got {brightness_factor}")
    if is_pil(img):
        return _pil_enhance(img, "Brightness", brightness_factor)
    return _color_op(img, "adjust_brightness", _color_kernels.adjust_brightness, brightness_factor)


def adjust_contrast(img, contrast_factor: float):
    """Blends with the mean grey level (0 gives solid grey, 1 the original)."""
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor must be non-negative, got {contrast_factor}")
    if is_pil(img):
        return _pil_enhance(img, "Contrast", contrast_factor)
    return _color_op(img, "adjust_contrast", _color_kernels.adjust_contrast, contrast_factor)


def adjust_saturation(img, saturation_factor: float):
    """Blends with the greyscale image (0 gives grey, 1 the original)."""
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor must be non-negative, got {saturation_factor}")
    if is_pil(img):
        return _pil_enhance(img, "Color", saturation_factor)
    return _color_op(img, "adjust_saturation", _color_kernels.adjust_saturation, saturation_factor)


def adjust_sharpness(img, sharpness_factor: float):
    """Blends with a smoothed image (0 blurs, 1 the original, 2 sharpens)."""
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor must be non-negative, got {sharpness_factor}")
    if is_pil(img):
        return _pil_enhance(img, "Sharpness", sharpness_factor)
    return _color_op(img, "adjust_sharpness", _color_kernels.adjust_sharpness, sharpness_factor)


def adjust_hue(img, hue_factor: float):
    """Shifts the hue by ``hue_factor`` turns (in [-0.5, 0.5])."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor must be in [-0.5, 0.5], got {hue_factor}")
    if is_pil(img):
        from PIL import Image

        if img.mode in ("L", "1", "I", "F"):
            return img
        mode = img.mode
        alpha = img.getchannel("A") if "A" in img.getbands() else None
        h, s, v = img.convert("HSV").split()
        np_h = np.array(h, dtype=np.uint8)
        with np.errstate(over="ignore"):
            np_h += np.array(hue_factor * 255).astype(np.uint8)
        out = Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert("RGB")
        if alpha is not None:
            out.putalpha(alpha)
        return out.convert(mode) if out.mode != mode else out
    return _color_op(img, "adjust_hue", _color_kernels.adjust_hue, hue_factor)


def adjust_gamma(img, gamma: float, gain: float = 1.0):
    """``gain * x ** gamma`` on values scaled to [0, 1]."""
    if is_pil(img):
        arr, pack = unpack(img, "adjust_gamma")
        return pack(_color_kernels.adjust_gamma(arr, gamma, gain))
    return _color_op(img, "adjust_gamma", _color_kernels.adjust_gamma, gamma, gain)


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """ITU-R 601-2 luma; ``num_output_channels`` 1 or 3."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels}")
    if is_pil(img):
        gray = img.convert("L")
        return gray.convert("RGB") if num_output_channels == 3 else gray
    arr, pack = unpack(img, "rgb_to_grayscale")
    if isinstance(img, Tensor):
        return pack(_tensor_grayscale(arr, num_output_channels))
    gray = like(_color_kernels.grayscale(arr[..., :3, :, :] if arr.shape[-3] == 4 else arr), arr.dtype)
    if num_output_channels == 3:
        gray = np.concatenate([gray] * 3, axis=-3)
    return pack(gray)


to_grayscale = rgb_to_grayscale


def _tensor_grayscale(arr: np.ndarray, num_output_channels: int) -> np.ndarray:
    """torchvision's tensor kernel: 0.2989 R + 0.587 G + 0.114 B in float32 (or the image's float
    dtype), cast back with truncation for integer images."""
    if arr.shape[-3] == 1:
        return np.repeat(arr, num_output_channels, axis=-3)
    work = arr if arr.dtype.kind == "f" else arr.astype(np.float32)
    r, g, b = work[..., 0:1, :, :], work[..., 1:2, :, :], work[..., 2:3, :, :]
    gray = (r * work.dtype.type(0.2989) + g * work.dtype.type(0.587) + b * work.dtype.type(0.114)).astype(arr.dtype)
    return np.repeat(gray, num_output_channels, axis=-3) if num_output_channels == 3 else gray


def gaussian_blur(img, kernel_size, sigma=None):
    """Blurs with a Gaussian kernel (odd ``kernel_size``; ``sigma`` defaults as torchvision's)."""
    ks = _pair(kernel_size)
    if any(k <= 0 or k % 2 == 0 for k in ks):
        raise ValueError(f"gaussian_blur: kernel_size must be odd and positive, got {kernel_size}")
    if sigma is None:
        sig = tuple(k * 0.15 + 0.35 for k in ks)
    else:
        sig = _pair(sigma, float)
    if any(s <= 0 for s in sig):
        raise ValueError(f"gaussian_blur: sigma must be positive, got {sigma}")
    arr, pack = unpack(img, "gaussian_blur")
    return pack(like(_geometry_kernels.gaussian_blur(to_float(arr), (ks[1], ks[0]), (sig[1], sig[0])), arr.dtype))


def invert(img):
    if is_pil(img):
        from PIL import ImageOps

        return ImageOps.invert(img)
    return _color_op(img, "invert", _color_kernels.invert)


def posterize(img, bits: int):
    if not 0 <= bits <= 8:
        raise ValueError(f"posterize: bits must be in [0, 8], got {bits}")
    if is_pil(img):
        from PIL import ImageOps

        return ImageOps.posterize(img, bits)
    return _color_op(img, "posterize", _color_kernels.posterize, bits)


def solarize(img, threshold: float):
    if is_pil(img):
        from PIL import ImageOps

        return ImageOps.solarize(img, threshold)
    return _color_op(img, "solarize", _color_kernels.solarize, threshold)


def autocontrast(img):
    if is_pil(img):
        from PIL import ImageOps

        return ImageOps.autocontrast(img)
    return _color_op(img, "autocontrast", _color_kernels.autocontrast)


def equalize(img):
    if is_pil(img):
        from PIL import ImageOps

        return ImageOps.equalize(img)
    return _color_op(img, "equalize", _color_kernels.equalize)


def erase(img, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Sets the (h, w) box at (i, j) to ``v`` (a scalar or an array broadcastable to (C, h, w))."""
    arr, pack = unpack(img, "erase")
    out = arr if inplace and arr.flags.writeable and not is_pil(img) else arr.copy()
    out[..., i:i + h, j:j + w] = np.asarray(v, dtype=out.dtype)
    return img if out is arr and not is_pil(img) else pack(out)


def _pair(value, kind=int) -> tuple:
    if isinstance(value, numbers.Number):
        return kind(value), kind(value)
    value = list(value)
    if len(value) == 1:
        return kind(value[0]), kind(value[0])
    if len(value) != 2:
        raise ValueError(f"expected one or two values, got {value}")
    return kind(value[0]), kind(value[1])
