"""Deformable convolution v1 / v2 (Dai et al., 2017; Zhu et al., 2019): ``deform_conv2d`` and ``DeformConv2d``.

Each kernel tap reads the input at its regular position plus a learned (dy, dx) ``offset``, by bilinear
interpolation with zeros outside the image (torchvision's kernel: a point at ``y <= -1`` or ``y >= H``
reads 0), optionally scaled by a ``mask`` (v2). The sampled columns are then multiplied by the weight,
as an im2col convolution. Everything is built from Ember ops (floor, gather, matmul), so gradients reach
``input``, ``offset``, ``mask``, ``weight`` and ``bias``; they are the gradients torchvision's backward
kernel computes (its corner weights are those of this bilinear form).
"""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor, nn

__all__ = ["DeformConv2d", "deform_conv2d"]


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"deform_conv2d: {name} must be an int or a pair, got {value}")
    return value


def _sample(input: Tensor, y: Tensor, x: Tensor, groups: int) -> Tensor:
    """Bilinear samples of ``input`` (N, C, H, W) at points (N, G, P) per offset group -> (N, C, P)."""
    n, c, h, w = input.shape
    flat = input.reshape(n, groups, c // groups, h * w)
    y0, x0 = ember.floor(y.detach()), ember.floor(x.detach())
    dy, dx = y - y0, x - x0  # the interpolation weights carry the gradient to the offsets
    out = None
    for corner_y, weight_y in ((y0, 1 - dy), (y0 + 1, dy)):
        for corner_x, weight_x in ((x0, 1 - dx), (x0 + 1, dx)):
            cy, cx = corner_y.numpy().astype(np.int64), corner_x.numpy().astype(np.int64)
            inside = (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w)
            index = np.where(inside, cy * w + cx, 0)[:, :, None, :]
            index = ember.from_numpy(np.ascontiguousarray(np.broadcast_to(index, (n, groups, c // groups,
                                                                                  index.shape[-1]))))
            values = ember.gather(flat, -1, index)  # (N, G, C/G, P)
            weight = (weight_y * weight_x * ember.from_numpy(inside.astype(y.detach().numpy().dtype)))[:, :, None, :]
            term = values * weight
            out = term if out is None else out + term
    return out.reshape(n, c, -1)


def deform_conv2d(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None = None, stride=(1, 1),
                  padding=(0, 0), dilation=(1, 1), mask: Tensor | None = None) -> Tensor:
    """Deformable convolution, torchvision's ``deform_conv2d``.

    Args:
        input: ``(N, C_in, H, W)``.
        offset: ``(N, 2 * offset_groups * kH * kW, H_out, W_out)``: for offset group ``g`` and tap
            ``k = i * kW + j``, channels ``g * 2 * kH * kW + 2 * k`` (dy) and ``... + 1`` (dx).
        weight: ``(C_out, C_in / groups, kH, kW)``; ``groups`` is ``C_in / weight.shape[1]``.
        bias: ``(C_out,)`` or None.
        stride, padding, dilation: ints or pairs, as in ``conv2d``.
        mask: ``(N, offset_groups * kH * kW, H_out, W_out)`` modulation (v2), or None (all ones).

    Returns:
        ``(N, C_out, H_out, W_out)``.

    Example:
        >>> x, w = ember.rand(1, 2, 5, 5), ember.rand(3, 2, 3, 3)
        >>> deform_conv2d(x, ember.zeros(1, 18, 3, 3), w).shape
        ember.Size([1, 3, 3, 3])
    """
    for name, t in (("input", input), ("offset", offset), ("weight", weight)):
        if not isinstance(t, Tensor) or t.ndim != 4:
            got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"deform_conv2d: {name} must be a 4-D tensor, got {got}")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    n, c_in, h, w = input.shape
    c_out, c_per_group, kh, kw = weight.shape
    taps = kh * kw
    if c_per_group == 0 or c_in % c_per_group:
        raise RuntimeError(f"deform_conv2d: input channels {c_in} are not a multiple of weight.shape[1] "
                           f"{c_per_group}")
    groups = c_in // c_per_group
    if c_out % groups:
        raise RuntimeError(f"deform_conv2d: weight.shape[0] {c_out} is not a multiple of the {groups} groups")
    if offset.shape[1] % (2 * taps):
        raise RuntimeError(f"the shape of the offset tensor at dimension 1 is not valid. It should be a multiple "
                           f"of 2 * weight.size[2] * weight.size[3].\nGot offset.shape[1]={offset.shape[1]}, while "
                           f"2 * weight.size[2] * weight.size[3]={2 * taps}")
    offset_groups = offset.shape[1] // (2 * taps)
    if c_in % offset_groups:
        raise RuntimeError(f"deform_conv2d: input channels {c_in} are not a multiple of the {offset_groups} "
                           "offset groups")
    h_out = (h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    w_out = (w + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    if tuple(offset.shape) != (n, 2 * offset_groups * taps, h_out, w_out):
        raise RuntimeError(f"deform_conv2d: offset must have shape {(n, 2 * offset_groups * taps, h_out, w_out)}, "
                           f"got {tuple(offset.shape)}")
    if mask is not None and tuple(mask.shape) != (n, offset_groups * taps, h_out, w_out):
        raise RuntimeError(f"deform_conv2d: mask must have shape {(n, offset_groups * taps, h_out, w_out)}, "
                           f"got {tuple(mask.shape)}")
    dtype = input.detach().numpy().dtype
    base_y = (np.arange(h_out)[None, :, None] * sh - ph + (np.arange(kh) * dh).repeat(kw)[:, None, None])
    base_x = (np.arange(w_out)[None, None, :] * sw - pw + np.tile(np.arange(kw) * dw, kh)[:, None, None])
    shifts = offset.reshape(n, offset_groups, taps, 2, h_out, w_out)
    y = shifts[:, :, :, 0] + ember.from_numpy(base_y.astype(dtype))  # (N, G, K, H_out, W_out)
    x = shifts[:, :, :, 1] + ember.from_numpy(base_x.astype(dtype))
    columns = _sample(input, y.reshape(n, offset_groups, -1), x.reshape(n, offset_groups, -1), offset_groups)
    columns = columns.reshape(n, offset_groups, c_in // offset_groups, taps, h_out * w_out)
    if mask is not None:
        columns = columns * mask.reshape(n, offset_groups, 1, taps, h_out * w_out)
    columns = columns.reshape(n, groups, c_per_group * taps, h_out * w_out)
    out = ember.matmul(weight.reshape(groups, c_out // groups, c_per_group * taps), columns)
    out = out.reshape(n, c_out, h_out, w_out)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


class DeformConv2d(nn.Module):
    """Module form of :func:`deform_conv2d`: ``forward(input, offset, mask=None)``; the offsets (and mask)
    usually come from a plain ``Conv2d`` on the same input.

    Example:
        >>> layer = DeformConv2d(2, 4, kernel_size=3, padding=1)
        >>> layer(ember.rand(1, 2, 5, 5), ember.zeros(1, 18, 5, 5)).shape
        ember.Size([1, 4, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True):
        super().__init__()
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.groups = groups
        self.weight = nn.Parameter(ember.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(ember.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor, offset: Tensor, mask: Tensor | None = None) -> Tensor:
        return deform_conv2d(input, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask)

    def __repr__(self) -> str:
        text = f"{type(self).__name__}({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", stride={self.stride}" if self.stride != (1, 1) else ""
        text += f", padding={self.padding}" if self.padding != (0, 0) else ""
        text += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        text += f", groups={self.groups}" if self.groups != 1 else ""
        text += ", bias=False" if self.bias is None else ""
        return text + ")"
