"""RoI pooling: ``roi_align`` / ``roi_pool`` and their modules, with torchvision's numbers.

Both are built from ember ops, so gradients flow to ``input`` (boxes get none, as in torchvision).
RoIAlign's bilinear sampling is separable: each output bin averages ``grid_h x grid_w`` samples,
and the weight of input pixel ``(y, x)`` is ``row[ph, y] * col[pw, x]``; so one RoI's output is
``rows @ image @ cols.T``, two small matmuls on the image the RoI belongs to.
"""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor, nn

__all__ = ["RoIAlign", "RoIPool", "roi_align", "roi_pool"]


def _pair(output_size, where: str) -> tuple[int, int]:
    if isinstance(output_size, int):
        return output_size, output_size
    size = tuple(int(s) for s in output_size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{where}: output_size must be an int or a pair, got {output_size}")
    return size


def _rois(boxes, where: str) -> np.ndarray:
    """``(K, 5)`` float64 rows ``(batch_index, x1, y1, x2, y2)`` from a Tensor or a list of ``(L, 4)``."""
    if isinstance(boxes, (list, tuple)):
        parts = [np.asarray(b.detach() if isinstance(b, Tensor) else b, dtype=np.float64).reshape(-1, 4)
                 for b in boxes]
        rows = [np.concatenate([np.full((len(b), 1), i, np.float64), b], axis=1) for i, b in enumerate(parts)]
        return np.concatenate(rows, axis=0) if rows else np.zeros((0, 5))
    rois = np.asarray(boxes.detach() if isinstance(boxes, Tensor) else boxes, dtype=np.float64)
    if rois.ndim != 2 or rois.shape[1] != 5:
        raise ValueError(f"{where}: expected boxes as a (K, 5) tensor or a list of (L, 4) tensors, "
                         f"got shape {rois.shape}")
    return rois


def _check_input(input: Tensor, where: str) -> None:
    if not isinstance(input, Tensor) or input.ndim != 4:
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"{where}: expected input of shape (N, C, H, W), got {shape}")


def _per_image(input: Tensor, rois: np.ndarray, pooled: tuple[int, int], compute) -> Tensor:
    """Runs ``compute(image, rois_of_image)`` per batch index and puts the RoIs back in their order."""
    k = rois.shape[0]
    if k == 0:
        return ember.zeros((0, input.shape[1], *pooled), dtype=input.dtype)
    index = rois[:, 0].astype(np.int64)
    if index.min() < 0 or index.max() >= input.shape[0]:
        raise IndexError(f"roi: batch index {int(index.max())} out of range for a batch of {input.shape[0]}")
    parts, order = [], []
    for n in np.unique(index):
        where = np.flatnonzero(index == n)
        parts.append(compute(input[int(n)], rois[where]))
        order.append(where)
    out = parts[0] if len(parts) == 1 else ember.cat(parts, dim=0)
    order = np.concatenate(order)
    if (order == np.arange(k)).all():
        return out
    return out[ember.from_numpy(np.argsort(order))]


def _bilinear_axis(start: np.ndarray, size: np.ndarray, pooled: int, grid: np.ndarray, length: int,
                   dtype) -> np.ndarray:
    """``(K, pooled, length)`` weights: the mean over a bin's samples of their 1-D bilinear weights.

    torchvision's ``bilinear_interpolate``: a sample beyond ``[-1, length]`` weighs nothing, one in
    ``[-1, 0)`` is moved to 0, one past the last pixel centre takes the last pixel.
    """
    k, g = len(start), max(int(grid.max(initial=0)), 1)
    bin_size = size / pooled
    samples = np.arange(g)
    pos = (start[:, None, None] + np.arange(pooled)[None, :, None] * bin_size[:, None, None]
           + (samples[None, None, :] + 0.5) * (bin_size / np.maximum(grid, 1))[:, None, None])
    used = (samples[None, None, :] < grid[:, None, None]) & (pos >= -1.0) & (pos <= length)
    pos = np.maximum(pos, 0.0)
    low = np.floor(pos).astype(np.int64)
    at_end = low >= length - 1
    low = np.where(at_end, length - 1, low)
    high = np.where(at_end, length - 1, low + 1)
    frac = np.where(at_end, 0.0, pos - low)
    scale = used / np.maximum(grid, 1)[:, None, None]
    weights = np.zeros((k, pooled, length))
    kk, pp = np.meshgrid(np.arange(k), np.arange(pooled), indexing="ij")
    kk, pp = kk[..., None].repeat(g, -1), pp[..., None].repeat(g, -1)
    np.add.at(weights, (kk, pp, low), (1.0 - frac) * scale)
    np.add.at(weights, (kk, pp, high), frac * scale)
    return weights.astype(dtype)


def roi_align(input: Tensor, boxes, output_size, spatial_scale: float = 1.0, sampling_ratio: int = -1,
              aligned: bool = False) -> Tensor:
    """RoIAlign (Mask R-CNN): average of bilinear samples in each of ``output_size`` bins of each box.

    Args:
        input: ``(N, C, H, W)`` features.
        boxes: ``(K, 5)`` rows ``(batch_index, x1, y1, x2, y2)`` or a list of ``(L, 4)`` per image.
        output_size: ``(height, width)`` of the pooled output, or an int.
        spatial_scale: factor mapping box coordinates to ``input`` coordinates (e.g. 1/16).
        sampling_ratio: samples per bin along each axis; ``<= 0`` uses ``ceil(roi_size / output_size)``.
        aligned: shift boxes by -0.5 pixel so that pixel centres line up (Detectron2's fix).

    Returns:
        ``(K, C, output_height, output_width)``.

    Example:
        >>> x = ember.arange(16.0).reshape(1, 1, 4, 4)
        >>> roi_align(x, [ember.tensor([[0.0, 0.0, 4.0, 4.0]])], 1, aligned=True).item()
        7.5
    """
    _check_input(input, "roi_align")
    ph, pw = _pair(output_size, "roi_align")
    rois = _rois(boxes, "roi_align")
    height, width = input.shape[-2:]
    dtype = np.asarray(input.detach().reshape(-1)[:0]).dtype

    def compute(image: Tensor, r: np.ndarray) -> Tensor:
        offset = 0.5 if aligned else 0.0
        x1, y1 = r[:, 1] * spatial_scale - offset, r[:, 2] * spatial_scale - offset
        roi_w, roi_h = r[:, 3] * spatial_scale - offset - x1, r[:, 4] * spatial_scale - offset - y1
        if not aligned:  # legacy: force malformed RoIs to be 1x1
            roi_w, roi_h = np.maximum(roi_w, 1.0), np.maximum(roi_h, 1.0)
        if sampling_ratio > 0:
            grid_h = grid_w = np.full(len(r), sampling_ratio)
        else:
            grid_h, grid_w = np.ceil(roi_h / ph).astype(np.int64), np.ceil(roi_w / pw).astype(np.int64)
        rows = ember.from_numpy(_bilinear_axis(y1, roi_h, ph, grid_h, height, dtype))  # (k, ph, H)
        cols = ember.from_numpy(_bilinear_axis(x1, roi_w, pw, grid_w, width, dtype))  # (k, pw, W)
        # (k, 1, ph, H) @ (1, C, H, W) @ (k, 1, W, pw) -> (k, C, ph, pw)
        return ember.matmul(ember.matmul(rows[:, None], image[None]), cols[:, None].transpose(-1, -2))

    return _per_image(input, rois, (ph, pw), compute)


def _round(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)  # C's round: halves away from zero


def roi_pool(input: Tensor, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:
    """RoIPool (Fast R-CNN): the maximum of each of ``output_size`` bins of each box; empty bins give 0.

    Box corners are rounded to whole pixels of ``input`` (after ``spatial_scale``) and both ends are
    included. ``boxes`` is as in :func:`roi_align`. Returns ``(K, C, output_height, output_width)``.
    """
    _check_input(input, "roi_pool")
    ph, pw = _pair(output_size, "roi_pool")
    rois = _rois(boxes, "roi_pool")
    channels, height, width = input.shape[1:]

    def compute(image: Tensor, r: np.ndarray) -> Tensor:
        arr = np.asarray(image.detach())
        x1, y1, x2, y2 = (_round(r[:, i] * spatial_scale).astype(np.int64) for i in range(1, 5))
        roi_w, roi_h = np.maximum(x2 - x1 + 1, 1), np.maximum(y2 - y1 + 1, 1)
        index = np.zeros((len(r), channels, ph, pw), np.int64)
        filled = np.zeros((len(r), 1, ph, pw), bool)
        for k in range(len(r)):
            bin_h, bin_w = roi_h[k] / ph, roi_w[k] / pw
            for i in range(ph):
                h0 = min(max(math.floor(i * bin_h) + y1[k], 0), height)
                h1 = min(max(math.ceil((i + 1) * bin_h) + y1[k], 0), height)
                for j in range(pw):
                    w0 = min(max(math.floor(j * bin_w) + x1[k], 0), width)
                    w1 = min(max(math.ceil((j + 1) * bin_w) + x1[k], 0), width)
                    if h1 <= h0 or w1 <= w0:
                        continue
                    best = arr[:, h0:h1, w0:w1].reshape(channels, -1).argmax(axis=1)
                    index[k, :, i, j] = (h0 + best // (w1 - w0)) * width + w0 + best % (w1 - w0)
                    filled[k, 0, i, j] = True
        index += np.arange(channels)[None, :, None, None] * (height * width)
        out = ember.take(image, ember.from_numpy(index))
        return out * ember.from_numpy(filled.astype(arr.dtype))

    return _per_image(input, rois, (ph, pw), compute)


class RoIAlign(nn.Module):
    """Module form of :func:`roi_align`."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int, aligned: bool = False):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: Tensor, rois) -> Tensor:
        return roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned})")


class RoIPool(nn.Module):
    """Module form of :func:`roi_pool`."""

    def __init__(self, output_size, spatial_scale: float):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: Tensor, rois) -> Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale})"
