"""Looking at images: ``make_grid``, ``save_image``, ``draw_bounding_boxes``, ``draw_segmentation_masks``.

Example:
    >>> import ember
    >>> from ember.vision.utils import make_grid
    >>> make_grid(ember.rand(6, 3, 8, 8), nrow=3).shape
    ember.Size([3, 22, 32])
"""

from __future__ import annotations

import math
import os

import ember
import numpy as np
from ember import Tensor

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "make_grid", "save_image"]


def _array(x, where: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy(force=True)
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, (Tensor, np.ndarray)) for t in x):
        return np.stack([_array(t, where) for t in x])
    raise TypeError(f"{where}: expected a tensor (B, C, H, W) or a list of (C, H, W) tensors, got {type(x).__name__}")


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tiles a batch (B, C, H, W) into one (C, H', W') image, ``nrow`` images per row (torchvision's layout)."""
    arr = _array(tensor, "make_grid")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        arr = arr[:, None] if arr.shape[0] not in (1, 3) else arr[None]
    if arr.ndim != 4:
        raise ValueError(f"make_grid: expected (B, C, H, W), got shape {arr.shape}")
    if arr.shape[1] == 1:
        arr = np.concatenate([arr] * 3, axis=1)
    if normalize:
        arr = arr.astype(np.float32)
        def norm(x, lo, hi):
            return np.clip((x - lo) / max(hi - lo, 1e-5), 0, 1)
        if scale_each:
            arr = np.stack([norm(x, *(value_range or (x.min(), x.max()))) for x in arr])
        else:
            arr = norm(arr, *(value_range or (arr.min(), arr.max())))
    b, c, h, w = arr.shape
    ncols = min(nrow, b)
    nrows = math.ceil(b / ncols)
    hp, wp = h + padding, w + padding
    grid = np.full((c, nrows * hp + padding, ncols * wp + padding), pad_value, dtype=arr.dtype)
    for k in range(b):
        y, x = divmod(k, ncols)
        grid[:, y * hp + padding:y * hp + padding + h, x * wp + padding:x * wp + padding + w] = arr[k]
    return ember.from_numpy(grid)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Saves a tensor (or batch, tiled with ``make_grid(**kwargs)``) as an image file; floats are in [0, 1]."""
    from PIL import Image

    grid = make_grid(tensor, **kwargs).numpy()
    if grid.dtype != np.uint8:
        grid = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(np.ascontiguousarray(grid.transpose(1, 2, 0))).save(
        os.fspath(fp) if isinstance(fp, os.PathLike) else fp, format=format)


def _uint8_image(image, where: str) -> np.ndarray:
    arr = _array(image, where)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[0] not in (1, 3):
        raise TypeError(f"{where}: expected a uint8 (C, H, W) tensor with 1 or 3 channels, got "
                        f"{arr.dtype} {arr.shape}")
    return np.concatenate([arr] * 3) if arr.shape[0] == 1 else arr


_PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255), (255, 128, 0),
            (128, 0, 255), (0, 128, 255), (255, 0, 128)]


def _colours(colors, n: int) -> list[tuple[int, int, int]]:
    from PIL import ImageColor

    if colors is None:
        return [_PALETTE[i % len(_PALETTE)] for i in range(n)]
    if isinstance(colors, (str, tuple)):
        colors = [colors] * n
    if len(colors) < n:
        raise ValueError(f"{len(colors)} colours given for {n} items")
    return [ImageColor.getrgb(c) if isinstance(c, str) else tuple(int(v) for v in c) for c in colors[:n]]


def draw_bounding_boxes(image, boxes, labels: list[str] | None = None, colors=None, fill: bool = False,
                        width: int = 1, font_size: int | None = None) -> Tensor:
    """Draws (N, 4) XYXY boxes (and text labels) on a uint8 (C, H, W) image; returns a new uint8 tensor."""
    from PIL import Image, ImageDraw, ImageFont

    arr = _uint8_image(image, "draw_bounding_boxes")
    box_arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if labels is not None and len(labels) != len(box_arr):
        raise ValueError(f"draw_bounding_boxes: {len(labels)} labels for {len(box_arr)} boxes")
    img = Image.fromarray(np.ascontiguousarray(arr.transpose(1, 2, 0)))
    draw = ImageDraw.Draw(img, "RGBA" if fill else None)
    font = ImageFont.load_default(size=font_size or 10)
    for k, (box, colour) in enumerate(zip(box_arr, _colours(colors, len(box_arr)))):
        x1, y1, x2, y2 = box.tolist()
        draw.rectangle((x1, y1, x2 - 1, y2 - 1), outline=colour, width=width,
                       fill=(*colour, 100) if fill else None)
        if labels is not None:
            draw.text((x1 + width + 1, y1 + width + 1), str(labels[k]), fill=colour, font=font)
    return ember.from_numpy(np.ascontiguousarray(np.asarray(img).transpose(2, 0, 1)))


def draw_segmentation_masks(image, masks, alpha: float = 0.8, colors=None) -> Tensor:
    """Blends boolean masks ((H, W) or (N, H, W)) over a uint8 (C, H, W) image with ``alpha``."""
    arr = _uint8_image(image, "draw_segmentation_masks").astype(np.float32)
    m = np.asarray(masks)
    if m.ndim == 2:
        m = m[None]
    if m.dtype != np.bool_:
        raise TypeError(f"draw_segmentation_masks: masks must be boolean, got {m.dtype}")
    if m.shape[-2:] != arr.shape[-2:]:
        raise ValueError(f"draw_segmentation_masks: masks {m.shape[-2:]} and image {arr.shape[-2:]} differ in size")
    out = arr.copy()
    for mask, colour in zip(m, _colours(colors, len(m))):
        colour_arr = np.asarray(colour, dtype=np.float32)[:, None]
        out[:, mask] = out[:, mask] * (1 - alpha) + colour_arr * alpha
    return ember.from_numpy(np.clip(np.rint(out), 0, 255).astype(np.uint8))
