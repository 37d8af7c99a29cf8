"""What a transform accepts: PIL images, HWC/CHW ndarrays and tensors (uint8 or float), boxes and masks.

Every array operation works on one internal layout, a numpy array of shape ``(..., C, H, W)``;
``unpack`` converts an input to it and returns a function that converts a result back to the
input's own kind (PIL stays PIL, a tensor stays a tensor, an HWC ndarray stays HWC). Anything
else raises ``TypeError``: a transform never passes through an input it does not understand.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable

import ember
import numpy as np
from ember import Tensor

_ARRAY_DTYPES = (np.uint8, np.uint16, np.float16, np.float32, np.float64)
_CHANNELS = (1, 2, 3, 4)


class InterpolationMode(str, enum.Enum):
    """Interpolation methods, as in torchvision (strings such as ``"bilinear"`` are accepted too)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"

    def __repr__(self) -> str:
        return f"InterpolationMode.{self.name}"

    __str__ = __repr__


def interpolation_mode(mode) -> InterpolationMode:
    """Accepts an ``InterpolationMode`` or its name (any case)."""
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, str):
        key = mode.lower().replace("_", "-")
        for m in InterpolationMode:
            if m.value == key:
                return m
    names = ", ".join(repr(m.value) for m in InterpolationMode)
    raise ValueError(f"unknown interpolation {mode!r}; expected an InterpolationMode or one of {names}")


def pil_resample(mode: InterpolationMode) -> int:
    from PIL import Image

    return {
        InterpolationMode.NEAREST: Image.Resampling.NEAREST,
        InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
        InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
        InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
        InterpolationMode.BOX: Image.Resampling.BOX,
        InterpolationMode.HAMMING: Image.Resampling.HAMMING,
        InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
    }[mode]


def is_pil(obj) -> bool:
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(obj, module.Image)


def is_image(obj) -> bool:
    return is_pil(obj) or isinstance(obj, (np.ndarray, Tensor))


def _describe(obj) -> str:
    if isinstance(obj, (np.ndarray, Tensor)):
        return f"{type(obj).__name__} of dtype {obj.dtype} and shape {tuple(obj.shape)}"
    return type(obj).__name__


def unsupported(obj, where: str) -> TypeError:
    return TypeError(
        f"{where}: expected a PIL image, a numpy array (HW, HWC or CHW) or an ember Tensor (..., C, H, W) "
        f"of dtype uint8 or float, got {_describe(obj)}"
    )


def _check_array(arr: np.ndarray, obj, where: str) -> None:
    if arr.dtype.type not in _ARRAY_DTYPES or arr.ndim < 2:
        raise unsupported(obj, where)


def unpack(img, where: str = "transform") -> tuple[np.ndarray, Callable[[np.ndarray], object]]:
    """Returns ``(array (..., C, H, W), pack)`` where ``pack(result)`` rebuilds the caller's kind."""
    if isinstance(img, Tensor):
        arr = img.numpy(force=True)
        _check_array(arr, img, where)
        if arr.ndim == 2:
            return arr[None], lambda out: ember.from_numpy(np.ascontiguousarray(out[0]))
        return arr, lambda out: ember.from_numpy(np.ascontiguousarray(out))
    if isinstance(img, np.ndarray):
        _check_array(img, img, where)
        if img.ndim == 2:
            return img[None], lambda out: np.ascontiguousarray(out[0])
        if channels_last(img):
            return np.moveaxis(img, -1, -3), lambda out: np.ascontiguousarray(np.moveaxis(out, -3, -1))
        return img, lambda out: np.ascontiguousarray(out)
    if is_pil(img):
        arr = pil_to_array(img)
        mode = img.mode
        return arr, lambda out: array_to_pil(out, mode)
    raise unsupported(img, where)


def channels_last(arr: np.ndarray) -> bool:
    """An ndarray is HWC when its last axis looks like channels (1-4), else CHW (PIL/numpy convention first)."""
    if arr.ndim == 2:
        return False
    return arr.shape[-1] in _CHANNELS or arr.shape[-3] not in _CHANNELS


def image_size(img) -> tuple[int, int]:
    """``(height, width)`` of any accepted image."""
    if is_pil(img):
        return img.height, img.width
    if isinstance(img, (np.ndarray, Tensor)):
        arr = img.numpy(force=True) if isinstance(img, Tensor) else img
        _check_array(arr, img, "get_size")
        if arr.ndim == 2:
            return arr.shape[0], arr.shape[1]
        if isinstance(img, np.ndarray) and channels_last(arr):
            return arr.shape[-3], arr.shape[-2]
        return arr.shape[-2], arr.shape[-1]
    raise unsupported(img, "get_size")


def num_channels(img) -> int:
    if is_pil(img):
        return len(img.getbands())
    arr, _ = unpack(img, "get_dimensions")
    return arr.shape[-3]


def pil_to_array(img) -> np.ndarray:
    """A PIL image as a CHW array (uint8 for 8-bit modes, int32/float32 for I/F)."""
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "1":
        img = img.convert("L")
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def array_to_pil(arr: np.ndarray, mode: str | None = None):
    """A CHW array as a PIL image (float arrays are taken to be in [0, 1])."""
    from PIL import Image

    if arr.ndim != 3:
        raise ValueError(f"to_pil_image: expected a single image (C, H, W), got shape {arr.shape}")
    if arr.dtype.kind == "f" and mode != "F":
        arr = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
    c = arr.shape[0]
    if c == 1:
        data = arr[0]
        if mode == "F":
            return Image.fromarray(data.astype(np.float32))
        if mode in ("I", "I;16"):
            return Image.fromarray(data.astype(np.int32))
        return Image.fromarray(data.astype(np.uint8, copy=False))
    if c not in (2, 3, 4):
        raise ValueError(f"to_pil_image: cannot make a PIL image from {c} channels")
    hwc = np.ascontiguousarray(arr.transpose(1, 2, 0)).astype(np.uint8, copy=False)
    if c == 3 and mode in ("YCbCr", "HSV", "LAB"):  # the data is already in that colour space
        return Image.frombytes(mode, (hwc.shape[1], hwc.shape[0]), hwc.tobytes())
    return Image.fromarray(hwc)  # LA, RGB or RGBA


def max_value(dtype: np.dtype) -> float:
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0


def to_float(arr: np.ndarray) -> np.ndarray:
    return arr if arr.dtype.kind == "f" else arr.astype(np.float32)


def like(result: np.ndarray, reference_dtype: np.dtype) -> np.ndarray:
    """Casts a float result back to the input's dtype (rounding and clipping integer images)."""
    if reference_dtype.kind == "f":
        return result.astype(reference_dtype, copy=False)
    top = max_value(reference_dtype)
    return np.clip(np.rint(result), 0, top).astype(reference_dtype)
