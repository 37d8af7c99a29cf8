"""Linear maps: ``linear``, ``bilinear``, convolutions and transposed convolutions.

A convolution is an im2col (numba, ``ember.kernels.conv``) followed by one batched BLAS
matmul; its backward is two matmuls and a col2im. 1-d convolutions run the 2-d code on
a height-1 view. The columns computed in forward are kept for the weight gradient.
"""

from __future__ import annotations

import numpy as np

from ...autograd.function import once_differentiable
from ...ops._op import Op
from ...ops.linalg import einsum
from ...tensor import Tensor
from ._utils import ntuple
from .sampling import pad

__all__ = ["bilinear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "linear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x W^T + b`` over the last dimension of ``input``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.linear(ember.ones(2, 3), ember.ones(4, 3), ember.zeros(4)).shape
        ember.Size([2, 4])
    """
    if input.shape[-1:] != weight.shape[-1:]:
        raise RuntimeError(
            f"linear: input has {input.shape[-1] if input.ndim else 0} features in its last dimension "
            f"(input of shape {tuple(input.shape)}) but the weight of shape {tuple(weight.shape)} expects "
            f"{weight.shape[-1]}"
        )
    out = input @ weight.t() if weight.ndim == 2 else input @ weight
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T A_k x2 + b_k`` with ``weight`` of shape (out, in1, in2).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.bilinear(ember.ones(5, 2), ember.ones(5, 3), ember.ones(4, 2, 3)).shape
        ember.Size([5, 4])
    """
    lead = tuple(input1.shape[:-1])
    a, b = input1.reshape(-1, input1.shape[-1]), input2.reshape(-1, input2.shape[-1])
    out = einsum("bi,kij,bj->bk", a, weight, b).reshape(lead + (weight.shape[0],))
    return out if bias is None else out + bias


_DIRECT_MAX_GROUP_CHANNELS = 2  # grouped convs with at most this many input channels per group run directly


def _conv_output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


_BLOCK_ELEMENTS = 1 << 20  # im2col and matmul run on blocks of samples whose columns fill ~4 MB (float32)


def _im2col_matmul(xd, wd, groups, stride, padding, dilation, oh, ow, keep_cols=True):
    """The convolution of (N, C, H, W) ``xd`` with (O, C / groups, KH, KW) ``wd`` as im2col and batched
    matmul; returns the (N, O, OH, OW) output and the (N, groups, C / groups * KH * KW, OH * OW) columns
    (None unless ``keep_cols``).

    Both run a block of samples at a time, so the matmul reads columns still in cache: faster than
    one im2col of the whole batch and one matmul (timings: benchmarks/README.md)."""
    from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`

    n, channels = xd.shape[:2]
    out_channels, cg, kh, kw = wd.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    col_shape = (groups, cg * kh * kw, oh * ow)
    block = max(1, _BLOCK_ELEMENTS // (channels * kh * kw * oh * ow))
    cols = np.empty((n,) + col_shape, dtype=xd.dtype) if keep_cols else None
    scratch = None if keep_cols else np.empty((min(block, n),) + col_shape, dtype=xd.dtype)
    out = np.empty((n, groups, out_channels // groups, oh * ow), dtype=np.result_type(xd, wd))
    w3 = wd.reshape(groups, out_channels // groups, cg * kh * kw)
    for start in range(0, n, block):
        stop = min(start + block, n)
        part = cols[start:stop] if keep_cols else scratch[:stop - start]
        kernels.im2col(xd[start:stop], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow,
                       out=part.reshape(stop - start, channels, kh, kw, oh, ow))
        np.matmul(w3, part, out=out[start:stop])
    return out.reshape(n, out_channels, oh, ow), cols


def _weight_grad(cols, g4, w_shape):
    """The weight gradient, the sum over samples of g @ cols^T, from the (N, groups, K, P) columns and
    the (N, groups, O / groups, P) gradient; computed as cols @ g^T per sample, which OpenBLAS runs
    faster (timings: benchmarks/README.md)."""
    gw = np.matmul(cols, g4.transpose(0, 1, 3, 2)).sum(0).transpose(0, 2, 1)
    return np.ascontiguousarray(gw).reshape(w_shape)


def _flip_kernel(wd, groups):
    """The (C, O / groups, KH, KW) kernel whose forward convolution is the input gradient of ``wd``'s:
    each group's in/out channels swapped, the taps reversed."""
    out_channels, cg, kh, kw = wd.shape
    w_t = wd.reshape(groups, out_channels // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return np.ascontiguousarray(w_t).reshape(groups * cg, out_channels // groups, kh, kw)


def _conv_kernel(xd, wd, stride, padding, dilation, groups):
    """Which code runs a convolution: "grouped" (direct kernel, few channels per group), "3x3" (direct
    kernel, stride 1 or 2), "5x5" (direct kernel, stride 1) or "im2col" (columns and BLAS)."""
    _, cg, kh, kw = wd.shape
    if groups > 1 and cg <= _DIRECT_MAX_GROUP_CHANNELS:
        return "grouped"
    if groups > 1 or dilation != (1, 1) or xd.dtype != wd.dtype or xd.dtype not in (np.float32, np.float64):
        return "im2col"
    if (kh, kw) == (3, 3) and stride in ((1, 1), (2, 2)) and max(padding) <= 2:
        return "3x3"
    if (kh, kw) == (5, 5) and stride == (1, 1):
        return "5x5"
    return "im2col"


def _conv_input_grad(g, wd, groups, size, stride, padding, dilation):
    """The input gradient of a convolution, from its (N, O, OH, OW) output gradient ``g``.

    With stride 1 it is itself a convolution: of ``g`` with the flipped, in/out-swapped kernel and
    padding ``dilation * (k - 1) - padding``, so one im2col of ``g`` and a forward-shaped matmul. Where
    the output is as large as the input (padding that keeps the size, as in ResNets) that does the same
    multiply-adds and is faster than the transposed matmul (a rank-O/groups update that writes all
    columns) followed by a col2im scatter. Where the output is smaller (no padding, as in LeNet) the
    convolution would also multiply the zero padding of ``g``, so that case and strided convolutions keep
    the col2im path."""
    from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`

    n, out_channels = g.shape[:2]
    _, cg, kh, kw = wd.shape
    og = out_channels // groups
    oh, ow = g.shape[2:]
    flipped_padding = tuple(d * (k - 1) - p for d, k, p in zip(dilation, (kh, kw), padding))
    if stride == (1, 1) and min(flipped_padding) >= 0 and size[0] * size[1] <= oh * ow:
        return _im2col_matmul(g, _flip_kernel(wd, groups), groups, stride, flipped_padding, dilation, *size,
                              keep_cols=False)[0]
    gcols = np.matmul(wd.reshape(groups, og, cg * kh * kw).transpose(0, 2, 1), g.reshape(n, groups, og, oh * ow))
    gcols = gcols.reshape(n, groups * cg, kh, kw, oh, ow)
    return kernels.col2im(gcols, *size, *stride, *padding, *dilation)


class ConvNd(Op):
    """Grouped, strided, dilated, padded 1-d/2-d convolution (cross-correlation)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        xd, wd = x._data, w._data
        ctx.x_shape, ctx.w_shape = xd.shape, wd.shape
        if xd.ndim == 3:  # 1-d: a height-1 image
            xd, wd = xd[:, :, None, :], wd[:, :, None, :]
        h, width = xd.shape[2:]
        out_channels, _, kh, kw = wd.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        oh = _conv_output_size(h, kh, sh, ph, dh)
        ow = _conv_output_size(width, kw, sw, pw, dw)
        if oh <= 0 or ow <= 0:
            raise RuntimeError(
                f"conv: input of spatial size {tuple(ctx.x_shape[2:])} with padding {padding} is smaller "
                f"than the dilated kernel of size {tuple(ctx.w_shape[2:])}"
            )
        ctx.params = (stride, padding, dilation, groups, h, width)
        ctx.kernel = _conv_kernel(xd, wd, stride, padding, dilation, groups)
        ctx.save_for_backward(w, x if ctx.kernel != "im2col" and ctx.needs_input_grad[1] else None)
        if ctx.kernel == "im2col":
            out, ctx.cols = _im2col_matmul(xd, wd, groups, stride, padding, dilation, oh, ow,
                                           keep_cols=ctx.needs_input_grad[1])
        else:
            from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`
            from ...kernels import conv3x3, conv5x5

            if ctx.kernel == "3x3":
                out = conv3x3.conv3x3(xd, wd, ph, pw, sh)
            elif ctx.kernel == "5x5":
                out = conv5x5.conv5x5(xd, wd, ph, pw)
            else:
                out = kernels.grouped_conv(xd, wd, groups, sh, sw, ph, pw, dh, dw, oh, ow)
        if b is not None:
            out += b._data.reshape(-1, 1, 1)
        return out.reshape(out.shape[0], out_channels, ow) if len(ctx.x_shape) == 3 else out

    @staticmethod
    def meta(ctx, x, w, b, stride, padding, dilation, groups):  # meta operands (ember._device): shape only
        n = x._data.ndim - 2
        sizes = [_conv_output_size(*size) for size in zip(x._data.shape[2:], w._data.shape[2:], stride[-n:],
                                                             padding[-n:], dilation[-n:])]
        shape = (x._data.shape[0], w._data.shape[0], *sizes)
        return np.broadcast_to(np.zeros((), np.result_type(x._data, w._data)), shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`
        from ...kernels import conv3x3, conv5x5

        w, x = ctx.saved_tensors
        (sh, sw), (ph, pw), (dh, dw), groups, h, width = ctx.params
        wd = w._data if w._data.ndim == 4 else w._data[:, :, None, :]
        xd = None if x is None else x._data if x._data.ndim == 4 else x._data[:, :, None, :]
        out_channels, _, kh, kw = wd.shape
        g = np.ascontiguousarray(grad._data)  # e.g. the broadcast gradient of a sum: BLAS needs real strides
        n = g.shape[0]
        oh, ow = (1, g.shape[-1]) if g.ndim == 3 else g.shape[2:]
        g4 = g.reshape(n, out_channels, oh, ow)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            if ctx.kernel == "3x3" and sh == 1:  # the forward of g with the flipped, in/out-swapped kernel
                gx = conv3x3.conv3x3(g4, _flip_kernel(wd, 1), 2 - ph, 2 - pw)
            elif ctx.kernel == "3x3":
                gx = conv3x3.conv3x3_input_grad(g4, wd, ph, pw, sh, h, width)
            elif ctx.kernel == "5x5" and max(ph, pw) <= 4 and h * width <= oh * ow:
                # the same, where the padded g has no more zeros than the padding (see _conv_input_grad)
                gx = conv5x5.conv5x5(g4, _flip_kernel(wd, 1), 4 - ph, 4 - pw)
            elif ctx.kernel == "grouped":
                gx = kernels.grouped_conv_input_grad(g4, wd, groups, h, width, sh, sw, ph, pw, dh, dw)
            else:
                gx = _conv_input_grad(g4, wd, groups, (h, width), (sh, sw), (ph, pw), (dh, dw))
            gx = Tensor._wrap(gx.reshape(ctx.x_shape))
        if ctx.needs_input_grad[1]:
            if ctx.kernel == "3x3":
                gw = conv3x3.conv3x3_weight_grad(xd, g4, ph, pw, sh)
            elif ctx.kernel == "5x5":
                gw = conv5x5.conv5x5_weight_grad(xd, g4, ph, pw)
            elif ctx.kernel == "grouped":
                gw = kernels.grouped_conv_weight_grad(g4, xd, groups, kh, kw, sh, sw, ph, pw, dh, dw)
            else:
                gw = _weight_grad(ctx.cols, g.reshape(n, groups, out_channels // groups, -1), ctx.w_shape)
            gw = Tensor._wrap(gw.reshape(ctx.w_shape))
        if ctx.needs_input_grad[2]:
            gb = Tensor._wrap(g.sum(axis=(0, 2, 3) if g.ndim == 4 else (0, 2)))
        return gx, gw, gb, None, None, None, None


class ConvTransposeNd(Op):
    """Transposed convolution: the gradient of a convolution with respect to its input."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, groups, dilation):
        from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`

        xd, wd = x._data, w._data
        ctx.x_shape, ctx.w_shape = xd.shape, wd.shape
        if xd.ndim == 3:
            xd, wd = xd[:, :, None, :], wd[:, :, None, :]
        n, in_channels, h, width = xd.shape
        _, og, kh, kw = wd.shape
        (sh, sw), (ph, pw), (dh, dw), (oph, opw) = stride, padding, dilation, output_padding
        out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
        out_w = (width - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
        ig = in_channels // groups
        x4 = xd.reshape(n, groups, ig, h * width)
        w3 = wd.reshape(groups, ig, og * kh * kw)
        cols = np.matmul(w3.transpose(0, 2, 1), x4).reshape(n, groups * og, kh, kw, h, width)
        out = kernels.col2im(cols, out_h, out_w, sh, sw, ph, pw, dh, dw)
        if b is not None:
            out += b._data.reshape(-1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.params = (stride, padding, dilation, groups, h, width)
        return out.reshape(n, -1, out_w) if len(ctx.x_shape) == 3 else out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`

        x, w = ctx.saved_tensors
        (sh, sw), (ph, pw), (dh, dw), groups, h, width = ctx.params
        xd, wd, g = x._data, w._data, np.ascontiguousarray(grad._data)
        if xd.ndim == 3:
            xd, wd, g = xd[:, :, None, :], wd[:, :, None, :], g[:, :, None, :]
        n, in_channels = xd.shape[:2]
        _, og, kh, kw = wd.shape
        ig = in_channels // groups
        gx = gw = gb = None
        # the input gradient is a convolution of g with the weight; its columns serve the weight gradient
        if ctx.needs_input_grad[0]:
            gx, gcols = _im2col_matmul(g, wd, groups, (sh, sw), (ph, pw), (dh, dw), h, width,
                                       keep_cols=ctx.needs_input_grad[1])
            gx = Tensor._wrap(gx.reshape(ctx.x_shape))
        elif ctx.needs_input_grad[1]:
            gcols = kernels.im2col(g, kh, kw, sh, sw, ph, pw, dh, dw, h, width)
            gcols = gcols.reshape(n, groups, og * kh * kw, h * width)
        if ctx.needs_input_grad[1]:
            gw = Tensor._wrap(_weight_grad(gcols, xd.reshape(n, groups, ig, h * width), ctx.w_shape))
        if ctx.needs_input_grad[2]:
            gb = Tensor._wrap(g.sum(axis=(0, 2, 3)))
        return gx, gw, gb, None, None, None, None, None


def _check_conv_args(op, input, weight, bias, groups, dims, transposed=False):
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors")
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"{op}: expected a {dims + 1}-d (unbatched) or {dims + 2}-d (batched) input, "
            f"got input of shape {tuple(input.shape)}"
        )
    if weight.ndim != dims + 2:
        raise RuntimeError(f"{op}: expected a {dims + 2}-d weight, got weight of shape {tuple(weight.shape)}")
    batched = input.ndim == dims + 2
    channels = input.shape[1] if batched else input.shape[0]
    if groups < 1 or weight.shape[0] % groups:
        raise RuntimeError(f"{op}: {weight.shape[0]} channels are not divisible by groups={groups}")
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if channels != expected:
        raise RuntimeError(
            f"{op}: expected input with {expected} channels (weight of shape {tuple(weight.shape)}"
            f"{f', groups={groups}' if groups != 1 else ''}), got {channels} channels in input of shape "
            f"{tuple(input.shape)}"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{op}: input ({input.dtype}) and weight ({weight.dtype}) must have the same dtype")
    if bias is not None:
        out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
        if bias.shape != (out_channels,):
            raise RuntimeError(
                f"{op}: expected bias of shape ({out_channels},), got bias of shape {tuple(bias.shape)}"
            )
    return batched


def _conv(op, dims, input, weight, bias, stride, padding, dilation, groups):
    batched = _check_conv_args(op, input, weight, bias, groups, dims)
    if not batched:
        input = input.unsqueeze(0)
    stride, dilation = ntuple(stride, dims, "stride"), ntuple(dilation, dims, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * dims
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
            padding = tuple(t // 2 for t in totals)
            extra = [t - 2 * (t // 2) for t in totals]
            if any(extra):  # an even kernel: PyTorch pads the extra element at the end
                pad_arg = []
                for e in reversed(extra):
                    pad_arg += [0, e]
                input = pad(input, pad_arg)
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    else:
        padding = ntuple(padding, dims, "padding")
    if dims == 1:
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
    out = ConvNd.apply(input, weight, bias, stride, padding, dilation, int(groups))
    return out if batched else out.squeeze(0)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-d convolution over (N, C_in, L) with weight (C_out, C_in / groups, K).

    ``padding`` may be an int, a 1-tuple, ``"valid"`` or ``"same"``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.conv1d(ember.randn(2, 4, 10), ember.randn(8, 4, 3), padding="same").shape
        ember.Size([2, 8, 10])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-d convolution over (N, C_in, H, W) with weight (C_out, C_in / groups, KH, KW).

    ``padding`` may be an int, a pair, ``"valid"`` or ``"same"``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.conv2d(ember.randn(8, 3, 32, 32), ember.randn(16, 3, 3, 3), stride=2, padding=1).shape
        ember.Size([8, 16, 16, 16])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, dims, input, weight, bias, stride, padding, output_padding, groups, dilation):
    batched = _check_conv_args(op, input, weight, bias, groups, dims, transposed=True)
    if not batched:
        input = input.unsqueeze(0)
    stride, padding = ntuple(stride, dims, "stride"), ntuple(padding, dims, "padding")
    output_padding, dilation = ntuple(output_padding, dims, "output_padding"), ntuple(dilation, dims, "dilation")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= max(s, d):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than stride or dilation")
    if dims == 1:
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
        output_padding = (0,) + output_padding
    out = ConvTransposeNd.apply(input, weight, bias, stride, padding, output_padding, int(groups), dilation)
    return out if batched else out.squeeze(0)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-d transposed convolution with weight (C_in, C_out / groups, K).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.conv_transpose1d(ember.randn(2, 4, 5), ember.randn(4, 3, 3), stride=2).shape
        ember.Size([2, 3, 11])
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-d transposed convolution with weight (C_in, C_out / groups, KH, KW).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.conv_transpose2d(ember.randn(2, 4, 5, 5), ember.randn(4, 3, 2, 2), stride=2).shape
        ember.Size([2, 3, 10, 10])
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)
