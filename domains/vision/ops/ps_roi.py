"""Position-sensitive RoI pooling (R-FCN, Dai et al., 2016): ``ps_roi_align``, ``ps_roi_pool`` and modules.

The input has ``C_out * ph * pw`` channels; output bin ``(i, j)`` of output channel ``c`` pools input
channel ``(c * ph + i) * pw + j`` only. Both reuse RoI pooling's separable form: one RoI's bins over
all channels are ``rows @ image @ cols.T``, of which each output channel keeps its own bin (a diagonal).
Built from Ember ops, so gradients reach ``input``.
"""

from __future__ import annotations

import ember
import numpy as np
from ember import Tensor, nn

from .roi import _bilinear_axis, _check_input, _pair, _per_image, _rois, _round

__all__ = ["PSRoIAlign", "PSRoIPool", "ps_roi_align", "ps_roi_pool"]


def _channels_out(input: Tensor, ph: int, pw: int, where: str) -> int:
    if input.shape[1] % (ph * pw):
        raise RuntimeError(f"{where}: input channels must be a multiple of pooling height * pooling width, got "
                           f"{input.shape[1]} channels for a {ph}x{pw} output")
    return input.shape[1] // (ph * pw)


def _own_bins(full: Tensor, c_out: int, ph: int, pw: int) -> Tensor:
    """(K, C_out * ph * pw, ph, pw) pooled over every channel -> (K, C_out, ph, pw), each bin from its channel."""
    k = full.shape[0]
    grid = full.reshape(k, c_out, ph * pw, ph * pw)
    return ember.diagonal(grid, dim1=-2, dim2=-1).reshape(k, c_out, ph, pw)


def _dtype(input: Tensor) -> np.dtype:
    return input.detach().numpy().dtype


def ps_roi_align(input: Tensor, boxes, output_size, spatial_scale: float = 1.0, sampling_ratio: int = -1) -> Tensor:
    """Position-sensitive RoIAlign: torchvision's kernel (boxes shifted by -0.5 pixel, no minimum RoI size).

    Args:
        input: ``(N, C_out * ph * pw, H, W)``.
        boxes: ``(K, 5)`` rows ``(batch_index, x1, y1, x2, y2)`` or a list of ``(L, 4)`` per image.
        output_size: ``(ph, pw)`` or an int.
        spatial_scale: maps box coordinates to ``input`` coordinates.
        sampling_ratio: samples per bin along each axis; ``<= 0``: ``ceil(roi_size / output_size)``.

    Returns:
        ``(K, C_out, ph, pw)``.
    """
    _check_input(input, "ps_roi_align")
    ph, pw = _pair(output_size, "ps_roi_align")
    c_out = _channels_out(input, ph, pw, "ps_roi_align")
    rois = _rois(boxes, "ps_roi_align")
    height, width = input.shape[-2:]
    dtype = _dtype(input)

    def compute(image: Tensor, r: np.ndarray) -> Tensor:
        x1, y1 = r[:, 1] * spatial_scale - 0.5, r[:, 2] * spatial_scale - 0.5
        roi_w, roi_h = r[:, 3] * spatial_scale - 0.5 - x1, r[:, 4] * spatial_scale - 0.5 - y1
        if sampling_ratio > 0:
            grid_h = grid_w = np.full(len(r), sampling_ratio)
        else:
            grid_h, grid_w = np.ceil(roi_h / ph).astype(np.int64), np.ceil(roi_w / pw).astype(np.int64)
        rows = ember.from_numpy(_bilinear_axis(y1, roi_h, ph, grid_h, height, dtype))
        cols = ember.from_numpy(_bilinear_axis(x1, roi_w, pw, grid_w, width, dtype))
        full = ember.matmul(ember.matmul(rows[:, None], image[None]), cols[:, None].transpose(-1, -2))
        return _own_bins(full, c_out, ph, pw)

    return _per_image(input, rois, (ph, pw), compute) if rois.shape[0] else ember.zeros(
        (0, c_out, ph, pw), dtype=input.dtype)


def _average_axis(start: np.ndarray, length_of_roi: np.ndarray, pooled: int, size: int, dtype) -> np.ndarray:
    """``(K, pooled, size)`` 0/1 rows selecting each bin's pixels, with torchvision's forward bounds."""
    bin_size = length_of_roi / pooled
    index = np.arange(pooled)
    lo = np.floor(index[None] * bin_size[:, None]).astype(np.int64) + start[:, None]
    hi = np.ceil((index[None] + 1) * bin_size[:, None]).astype(np.int64) + start[:, None]
    lo, hi = np.clip(lo, 0, size - 1), np.clip(hi, 0, size - 1)  # (torchvision's forward clips to size - 1)
    pixels = np.arange(size)
    return ((pixels[None, None] >= lo[..., None]) & (pixels[None, None] < hi[..., None])).astype(dtype)


def ps_roi_pool(input: Tensor, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:
    """Position-sensitive RoIPool: the mean of each bin's pixels (an empty bin gives 0), torchvision's kernel.

    Box corners are rounded to whole pixels (halves away from zero); RoIs smaller than a pixel count as
    one. As in torchvision's forward, bin edges are clipped to ``H - 1`` / ``W - 1``, so the last row and
    column of the feature map are never pooled. (torchvision's backward clips to ``H`` / ``W`` instead;
    Ember's gradient is the gradient of the forward.) ``boxes`` as in :func:`ps_roi_align`.
    """
    _check_input(input, "ps_roi_pool")
    ph, pw = _pair(output_size, "ps_roi_pool")
    c_out = _channels_out(input, ph, pw, "ps_roi_pool")
    rois = _rois(boxes, "ps_roi_pool")
    height, width = input.shape[-2:]
    dtype = _dtype(input)

    def compute(image: Tensor, r: np.ndarray) -> Tensor:
        x1, y1, x2, y2 = (_round(r[:, i] * spatial_scale).astype(np.int64) for i in range(1, 5))
        roi_w, roi_h = np.maximum(x2 - x1, 1), np.maximum(y2 - y1, 1)
        rows = _average_axis(y1, roi_h, ph, height, dtype)  # (k, ph, H)
        cols = _average_axis(x1, roi_w, pw, width, dtype)  # (k, pw, W)
        area = rows.sum(-1)[:, :, None] * cols.sum(-1)[:, None, :]  # (k, ph, pw)
        inverse = np.divide(1.0, area, out=np.zeros_like(area), where=area > 0).astype(dtype)
        sums = ember.matmul(ember.matmul(ember.from_numpy(rows)[:, None], image[None]),
                            ember.from_numpy(cols)[:, None].transpose(-1, -2))
        return _own_bins(sums, c_out, ph, pw) * ember.from_numpy(inverse)[:, None]

    return _per_image(input, rois, (ph, pw), compute) if rois.shape[0] else ember.zeros(
        (0, c_out, ph, pw), dtype=input.dtype)


class PSRoIAlign(nn.Module):
    """Module form of :func:`ps_roi_align`."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio

    def forward(self, input: Tensor, rois) -> Tensor:
        return ps_roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio})")


class PSRoIPool(nn.Module):
    """Module form of :func:`ps_roi_pool`."""

    def __init__(self, output_size, spatial_scale: float):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: Tensor, rois) -> Tensor:
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale})"
