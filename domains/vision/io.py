"""Image files <-> uint8 CHW tensors (PNG, JPEG, BMP, GIF, WebP, TIFF through Pillow).

Example:
    >>> import ember, tempfile, os
    >>> from ember.vision.io import read_image, write_png
    >>> path = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> write_png(ember.zeros(3, 4, 5, dtype=ember.uint8), path)
    >>> read_image(path).shape
    ember.Size([3, 4, 5])
"""

from __future__ import annotations

import enum
import io as _io
import os

import ember
import numpy as np
from ember import Tensor

__all__ = ["ImageReadMode", "decode_image", "encode_jpeg", "encode_png", "read_file", "read_image",
           "write_file", "write_jpeg", "write_png"]


class ImageReadMode(enum.Enum):
    """Colour mode to decode to: keep the file's (``UNCHANGED``) or convert."""

    UNCHANGED = "UNCHANGED"
    GRAY = "L"
    GRAY_ALPHA = "LA"
    RGB = "RGB"
    RGB_ALPHA = "RGBA"
    RGBA = "RGBA"  # noqa: PIE796 (an alias of RGB_ALPHA)


def _mode(mode) -> ImageReadMode:
    if isinstance(mode, ImageReadMode):
        return mode
    if isinstance(mode, str):
        key = mode.upper()
        if key in ImageReadMode.__members__:
            return ImageReadMode[key]
        for m in ImageReadMode:
            if m.value == key:
                return m
    raise ValueError(f"unknown ImageReadMode {mode!r}; expected one of {list(ImageReadMode.__members__)}")


def _to_chw(img, mode: ImageReadMode) -> Tensor:
    if mode is not ImageReadMode.UNCHANGED:
        img = img.convert(mode.value)
    elif img.mode not in ("L", "LA", "RGB", "RGBA"):
        if img.mode in ("I;16", "I;16B", "I;16L"):
            arr = np.asarray(img).astype(np.uint16)
            return ember.from_numpy(np.ascontiguousarray(arr[None]))
        img = img.convert("RGBA" if ("A" in img.getbands() or "transparency" in img.info) else
                          ("L" if img.mode in ("1", "I", "F") else "RGB"))
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def decode_image(input, mode=ImageReadMode.UNCHANGED, name: str = "<bytes>") -> Tensor:
    """Decodes image bytes (``bytes`` or a 1-D uint8 tensor), or the image file at a path (as torchvision's
    ``decode_image(path)``), to a uint8 (C, H, W) tensor."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(input, (str, os.PathLike)):
        return read_image(input, mode)
    if isinstance(input, Tensor):
        input = input.numpy(force=True).tobytes()
    elif isinstance(input, np.ndarray):
        input = input.tobytes()
    if not isinstance(input, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image: expected bytes or a uint8 tensor, got {type(input).__name__}")
    try:
        with Image.open(_io.BytesIO(input)) as img:
            img.load()
            return _to_chw(img, _mode(mode))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise RuntimeError(f"could not decode image {name}: {e}") from e


def read_file(path: str | os.PathLike) -> Tensor:
    """The raw bytes of a file as a 1-D uint8 tensor."""
    with open(path, "rb") as f:
        return ember.from_numpy(np.frombuffer(f.read(), dtype=np.uint8).copy())


def write_file(path: str | os.PathLike, data) -> None:
    with open(path, "wb") as f:
        f.write(np.asarray(data, dtype=np.uint8).tobytes())


def read_image(path: str | os.PathLike, mode=ImageReadMode.UNCHANGED) -> Tensor:
    """Reads an image file to a uint8 (C, H, W) tensor; a missing or corrupt file raises an error naming it.

    Example:
        >>> read_image("photo.jpg", mode="RGB")  # doctest: +SKIP
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_image: no such file: {path}")
    with open(path, "rb") as f:
        data = f.read()
    return decode_image(data, mode, name=path)


def _to_pil(input, where: str):
    from PIL import Image

    arr = input.numpy(force=True) if isinstance(input, Tensor) else input
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim not in (2, 3):
        raise TypeError(f"{where}: expected a uint8 (C, H, W) tensor, got {type(input).__name__} "
                        f"{getattr(arr, 'dtype', '')} {getattr(arr, 'shape', '')}")
    if arr.ndim == 2:
        arr = arr[None]
    c = arr.shape[0]
    modes = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
    if c not in modes:
        raise ValueError(f"{where}: expected 1, 2, 3 or 4 channels, got {c} (shape {arr.shape})")
    hwc = np.ascontiguousarray(arr.transpose(1, 2, 0))
    return Image.fromarray(hwc[:, :, 0] if c == 1 else hwc)


def encode_png(input, compression_level: int = 6) -> Tensor:
    """PNG bytes of a uint8 (C, H, W) tensor, as a 1-D uint8 tensor."""
    buf = _io.BytesIO()
    _to_pil(input, "encode_png").save(buf, format="PNG", compress_level=compression_level)
    return ember.from_numpy(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def encode_jpeg(input, quality: int = 75) -> Tensor:
    """JPEG bytes of a uint8 (C, H, W) tensor (1 or 3 channels), as a 1-D uint8 tensor."""
    if not 1 <= quality <= 100:
        raise ValueError(f"encode_jpeg: quality must be in [1, 100], got {quality}")
    img = _to_pil(input, "encode_jpeg")
    if img.mode not in ("L", "RGB"):
        raise ValueError(f"encode_jpeg: JPEG stores 1 or 3 channels, got mode {img.mode}")
    buf = _io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return ember.from_numpy(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def write_png(input, filename: str | os.PathLike, compression_level: int = 6) -> None:
    """Writes a uint8 (C, H, W) tensor as a PNG file."""
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input, filename: str | os.PathLike, quality: int = 75) -> None:
    """Writes a uint8 (C, H, W) tensor (1 or 3 channels) as a JPEG file."""
    write_file(filename, encode_jpeg(input, quality))
