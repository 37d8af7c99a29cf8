"""Linear maps: ``linear``, ``bilinear``, convolutions and transposed convolutions.

A convolution is an im2col (numba, ``ember.kernels.conv``) followed by one batched BLAS
matmul; its backward is two matmuls and a col2im. One code path serves every rank: 1-d
convolutions run the 2-d code on a height-1 view, 3-d ones the same steps with the 3-d
im2col/col2im kernels. The columns computed in forward are kept for the weight gradient.
Common 2-d layers (3x3, 5x5, depthwise) run direct numba kernels instead, wide 3x3 layers at
stride 1 Winograd's, and layers with few output channels one GEMM over every tap and a tap sum
(``_conv_kernel``).
"""

from __future__ import annotations

import math

import numpy as np

from ...autograd.function import unchanged_input
from ...autograd.grad_mode import state
from ...ops._op import Op
from ...ops.linalg import Linear, einsum
from ...tensor import Tensor
from ._utils import ntuple
from .sampling import pad

__all__ = [
    "bilinear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_tbc",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "linear",
]


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
    if _one_op(input, weight, bias):
        return Linear.apply(input, weight, bias)
    out = input @ weight.t() if weight.ndim == 2 else input @ weight
    return out if bias is None else out + bias


def _one_op(input: Tensor, weight: Tensor, bias: Tensor | None) -> bool:
    """Whether ``linear`` is the one ``Linear`` op: a 2-D weight, a (out,) bias, one floating or complex dtype,
    dense tensors (not sparse ones). Else the composite."""
    if input.is_sparse or weight.is_sparse or bias is not None and bias.is_sparse:
        return False
    x, w = input._data, weight._data  # (vmap's batched arrays, meta and traced arrays have ndim and dtype)
    dtype = x.dtype
    if w.ndim != 2 or len(x.shape) == 0 or dtype.kind not in "fc" or w.dtype != dtype:
        return False
    return bias is None or len(bias._data.shape) == 1 and bias._data.dtype == dtype


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
_DEPTHWISE_MIN_CHANNELS = 8  # depthwise convs of this many channels and more run channels-last (kernels.depthwise)


def _conv_output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


_BLOCK_ELEMENTS = 1 << 20  # im2col and matmul run on blocks of samples whose columns fill ~4 MB (float32)


def _im2col(x, kernel, stride, padding, dilation, out_size, out=None):
    """The (N, C, *kernel, *out_size) columns of the 2-d or 3-d ``x`` (numba kernels, one per rank)."""
    from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`

    im2col = kernels.im2col if len(kernel) == 2 else kernels.im2col3d
    return im2col(x, *kernel, *stride, *padding, *dilation, *out_size, out=out)


def _col2im(cols, size, stride, padding, dilation):
    """The (N, C, *size) image whose columns are ``cols``, overlapping taps summed (the adjoint of _im2col)."""
    from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`

    col2im = kernels.col2im if len(size) == 2 else kernels.col2im3d
    return col2im(cols, *size, *stride, *padding, *dilation)


def _im2col_matmul(xd, wd, groups, stride, padding, dilation, out_size, keep_cols=True):
    """The convolution of (N, C, *size) ``xd`` with (O, C / groups, *kernel) ``wd`` (2-d or 3-d) as im2col
    and matmul; returns the (N, O, *out_size) output and the columns (None unless ``keep_cols``), in one
    of two layouts that ``_weight_grad`` tells apart by rank (see ``_folds_batch``):

    - per sample, (N, groups, C / groups * K, P), K and P the number of kernel taps and output positions:
      im2col and matmul run a block of samples at a time, so the matmul reads columns still in cache
      (faster than one im2col of the whole batch and one matmul where planes are large);
    - folded, (groups, C / groups * K, N * P): the batch's columns side by side, one GEMM for all samples
      (where planes are small, a GEMM per sample is too thin for BLAS to run at speed)."""
    n, channels = xd.shape[:2]
    out_channels, cg, *kernel = wd.shape
    taps, positions = math.prod(kernel), math.prod(out_size)
    if _folds_batch(n, positions):
        cols = _folded_columns(xd, kernel, stride, padding, dilation, out_size).reshape(groups, cg * taps, -1)
        out = _matmul_groups(wd.reshape(groups, out_channels // groups, cg * taps), cols)
        return _unfold_batch(out, n, out_size), cols if keep_cols else None
    col_shape = (groups, cg * taps, positions)
    block = max(1, _BLOCK_ELEMENTS // (channels * taps * positions))
    cols = np.empty((n,) + col_shape, dtype=xd.dtype) if keep_cols else None
    scratch = None if keep_cols else np.empty((min(block, n),) + col_shape, dtype=xd.dtype)
    out = np.empty((n, groups, out_channels // groups, positions), dtype=np.result_type(xd, wd))
    w3 = wd.reshape(groups, out_channels // groups, cg * taps)
    for start in range(0, n, block):
        stop = min(start + block, n)
        part = cols[start:stop] if keep_cols else scratch[:stop - start]
        _im2col(xd[start:stop], kernel, stride, padding, dilation, out_size,
                out=part.reshape(stop - start, channels, *kernel, *out_size))
        with _one_blas_thread(w3.shape[1] * w3.shape[2] * positions):
            np.matmul(w3, part, out=out[start:stop])
    return out.reshape(n, out_channels, *out_size), cols


_FOLD_POSITIONS = 256  # output positions per sample below which the batch is folded (see _folds_batch)


def _folds_batch(n, positions):
    """Whether a convolution's GEMMs take the whole batch's columns at once (the folded layout).

    The rule, measured (ResNet-18 and DCGAN layers; the numbers are in benchmarks/README.md, 2026-12-06):
    a GEMM per sample reaches BLAS's full speed from 256 output positions (16x16 planes), but not on
    smaller planes, where the per-sample weight gradient (a (C * K, O) matrix written and summed per
    sample) is slower still. Folding costs two copies of the output (into and out of the (O, N * P)
    layout), small beside the GEMM."""
    return n > 1 and positions < _FOLD_POSITIONS


def _folded_columns(xd, kernel, stride, padding, dilation, out_size):
    """The columns of the whole batch laid out (C, *kernel, N, *out_size): as a matrix, (C * K, N * P)."""
    n, channels = xd.shape[:2]
    cols = np.empty((channels, *kernel, n, *out_size), dtype=xd.dtype)
    _im2col(xd, kernel, stride, padding, dilation, out_size, out=np.moveaxis(cols, len(kernel) + 1, 0))
    return cols


def _fold_batch(a, groups):
    """(N, C, *size) ``a`` as the (groups, C / groups, N * P) matrices of the folded layout (a copy)."""
    n, channels = a.shape[:2]
    folded = np.ascontiguousarray(a.reshape(n, channels, -1).transpose(1, 0, 2))
    return folded.reshape(groups, channels // groups, -1)


def _unfold_batch(a, n, size):
    """The (groups, O / groups, N * P) result of a folded GEMM as the (N, O, *size) array (a copy)."""
    channels = a.shape[0] * a.shape[1]
    return np.ascontiguousarray(a.reshape(channels, n, -1).transpose(1, 0, 2)).reshape(n, channels, *size)


def _one_blas_thread(multiply_adds):
    """A context in which a GEMM of fewer than ``kernels._threads.SMALL_GEMM`` multiply-adds runs on one
    OpenBLAS thread (see ``one_blas_thread`` there: OpenBLAS's spinning worker otherwise takes the second
    core from the numba kernels around it)."""
    from ...kernels import _threads  # numba loads on first use, not at `import ember`

    return _threads.one_blas_thread(multiply_adds)


def _matmul_groups(a, b):
    """``a @ b`` over the leading group axis, one 2-d BLAS call per group (numpy's stacked matmul does
    not hand every layout of a transposed operand to BLAS)."""
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.result_type(a, b))
    with _one_blas_thread(a.shape[1] * a.shape[2] * b.shape[2]):
        for i in range(a.shape[0]):
            np.matmul(a[i], b[i], out=out[i])
    return out


def _weight_grad(cols, g, groups, w_shape):
    """The weight gradient, the sum over samples of g @ cols^T, from the columns ``cols`` (either layout
    of ``_im2col_matmul``) and the (N, O, *out_size) gradient ``g``. Folded: one GEMM with the batch as
    its inner dimension. Per sample: computed as cols @ g^T, which OpenBLAS runs faster (timings:
    benchmarks/README.md)."""
    n, out_channels = g.shape[:2]
    if cols.ndim == 3:
        return _matmul_groups(_fold_batch(g, groups), cols.transpose(0, 2, 1)).reshape(w_shape)
    g4 = g.reshape(n, groups, out_channels // groups, -1)
    with _one_blas_thread(cols.shape[2] * cols.shape[3] * g4.shape[2]):
        gw = np.matmul(cols, g4.transpose(0, 1, 3, 2)).sum(0).transpose(0, 2, 1)
    return np.ascontiguousarray(gw).reshape(w_shape)


def _transposed_cols(wd, groups, g):
    """The columns W^T g of the (N, O, *size) gradient ``g`` (the adjoint of ``_im2col_matmul``'s matmul)
    as the (N, C, *kernel, *size) array col2im takes: per sample, or folded where planes are small."""
    n, out_channels, *size = g.shape
    _, cg, *kernel = wd.shape
    og, positions = out_channels // groups, math.prod(size)
    w_t = wd.reshape(groups, og, cg * math.prod(kernel)).transpose(0, 2, 1)
    if _folds_batch(n, positions):
        cols = _matmul_groups(w_t, _fold_batch(g, groups)).reshape(groups * cg, *kernel, n, *size)
        return np.moveaxis(cols, len(kernel) + 1, 0)
    with _one_blas_thread(w_t.shape[1] * og * positions):
        gcols = np.matmul(w_t, g.reshape(n, groups, og, positions))
    return gcols.reshape(n, groups * cg, *kernel, *size)


def _flip_kernel(wd, groups):
    """The (C, O / groups, *kernel) kernel whose forward convolution is the input gradient of ``wd``'s:
    each group's in/out channels swapped, the taps reversed along every spatial axis."""
    out_channels, cg, *kernel = wd.shape
    w_t = wd.reshape(groups, out_channels // groups, cg, *kernel).swapaxes(1, 2)
    w_t = w_t[(Ellipsis,) + (slice(None, None, -1),) * len(kernel)]
    return np.ascontiguousarray(w_t).reshape(groups * cg, out_channels // groups, *kernel)


_DIRECT_3X3_CHANNELS = {(1, 1): 64, (2, 2): 32}  # by stride: input channels up to which 3x3 runs directly
_DIRECT_3X3_ONE_THREAD_STRIDE_2 = 16  # the same at stride 2 on one kernel thread
_DIRECT_3X3_MIN_POSITIONS = 64  # and, at stride 1, input positions (8x8) from which it does
_WINOGRAD_MIN_POSITIONS = 512  # output positions of the batch from which Winograd replaces im2col (3x3, stride 1)
_WINOGRAD_MIN_CHANNELS = 64  # and input channels (the inner dimension of its 16 forward GEMMs); input and output
# channels where the other way is the direct kernel (on one thread)
_WINOGRAD_MIN_OUT_CHANNELS = 16  # and output channels (that of the input gradient's) where the other way is im2col


def _conv_kernel(xd, wd, stride, padding, dilation, groups):
    """Which code runs a convolution: ``_thin_conv`` ("thin") where ``_is_thin`` says so and the rules of
    ``_dense_kernel`` pick im2col, else theirs."""
    kernel = _dense_kernel(xd, wd, stride, padding, dilation, groups)
    return "thin" if kernel == "im2col" and groups == 1 and _is_thin(xd, wd, stride) else kernel


def _dense_kernel(xd, wd, stride, padding, dilation, groups):
    """Which code runs a convolution: "depthwise" (one channel per group, channels-last kernels), "grouped"
    (direct kernel, few channels per group), "3x3" (direct
    kernel, stride 1 or 2), "5x5" (direct kernel, stride 1), "winograd" (3x3, stride 1: transforms and
    16 smaller GEMMs, ``kernels.winograd``) or "im2col" (columns and BLAS). The direct kernels are 2-d;
    3-d convolutions always take the columns.

    The 3x3 rule, measured on the layers of ResNet-8 and ResNet-18 (forward and both gradients, batch
    8-64; the table is in benchmarks/README.md, 2026-12-06): at stride 1 the direct kernel is as fast as
    im2col + GEMM or faster up to 64 input channels on planes of 8x8 and larger; from 128 channels, or on
    smaller planes, the GEMMs are fat enough for BLAS to run near its peak and im2col wins, by more the
    wider the layer. At stride 2 im2col wins from 64 channels; at 16-32 channels the direct kernel is
    faster (one thread, fwd + both gradients, 2026-12-07: 0.82-0.91 x im2col's time), so ResNet-8's
    stride-2 layers stay direct.

    Where that rule picks im2col at stride 1, Winograd F(2x2, 3x3) does 2.25 times fewer multiply-adds
    and, from 512 output positions in the batch, wins despite its transforms (2026-12-07, fwd + bwd,
    two threads: 128 channels on 16x16 planes batch 8 0.72-0.89 x im2col, 256 on 8x8 0.78, 128 on 14x14
    batch 32 0.68); on fewer (512 channels on 4x4 planes, batch 8: 128 positions) the weight's transforms
    cost more than the GEMMs save. Up to 64 channels the direct kernel stays faster (16-64 channels:
    Winograd 1.05-3.1 x, its GEMMs too thin), and below 64 input channels small planes keep im2col (whose
    GEMMs have 9x the channels as their inner dimension). Where the other way is im2col, output channels
    may be fewer, down to 16: a DenseNet's 128 -> 32 layers (and 128 / 256 -> 16 or 24) ran in 0.48-0.92 x
    im2col's time on one thread and 0.52-1.0 x on two (benchmarks/README.md, 2026-12-07, eighth session).

    On one kernel thread (``numba.get_num_threads() == 1``: ``NUMBA_NUM_THREADS=1``, one thread per
    data-parallel rank, ``ember.set_num_threads(1)``) Winograd also takes the 64-channel layers of 512 output
    positions and more from the direct kernel, faster on every such layer measured (ResNet-8's 64 x 8x8 batch
    64, ResNet-18's 64 x 32x32 batch 8 and 56x56 batch 4, the siamese 7x7 / 14x14 / 28x28; CPU time, fwd + both
    gradients), and im2col the stride-2 layers of more than 16 channels (at 16 the two tie). On two threads the
    direct kernel, split over both, stays ahead on both kinds (the table: benchmarks/README.md, 2026-12-07,
    sixth session)."""
    if wd.ndim != 4:
        return "im2col"
    _, cg, kh, kw = wd.shape
    if (groups > 1 and cg == 1 and wd.shape[0] == groups >= _DEPTHWISE_MIN_CHANNELS and xd.dtype == wd.dtype
            and xd.dtype in (np.float32, np.float64)):
        return "depthwise"
    if groups > 1 and cg <= _DIRECT_MAX_GROUP_CHANNELS:
        return "grouped"
    if groups > 1 or dilation != (1, 1) or xd.dtype != wd.dtype or xd.dtype not in (np.float32, np.float64):
        return "im2col"
    if (kh, kw) == (3, 3) and stride in _DIRECT_3X3_CHANNELS and max(padding) <= 2:
        if stride == (1, 1):
            positions = xd.shape[0] * (xd.shape[2] + 2 * padding[0] - 2) * (xd.shape[3] + 2 * padding[1] - 2)
            winograd = cg >= _WINOGRAD_MIN_CHANNELS and positions >= _WINOGRAD_MIN_POSITIONS
            if cg > _DIRECT_3X3_CHANNELS[stride] or xd.shape[2] * xd.shape[3] < _DIRECT_3X3_MIN_POSITIONS:
                return "winograd" if winograd and wd.shape[0] >= _WINOGRAD_MIN_OUT_CHANNELS else "im2col"
            if winograd and wd.shape[0] >= _WINOGRAD_MIN_CHANNELS and _one_kernel_thread():
                return "winograd"
        elif cg > _DIRECT_3X3_ONE_THREAD_STRIDE_2 and _one_kernel_thread():
            return "im2col"
        if cg > _DIRECT_3X3_CHANNELS[stride]:
            return "im2col"
        return "3x3"
    if (kh, kw) == (5, 5) and stride == (1, 1):
        return "5x5"
    return "im2col"


def _one_kernel_thread() -> bool:
    """Whether the split kernels run on the calling thread alone (``numba.get_num_threads()``, as they ask)."""
    import numba  # loaded by the kernels a convolution runs anyway

    return numba.get_num_threads() == 1


_THIN_MAX_OUT_CHANNELS = {(1, 1): 8, (2, 2): 3}  # by stride: output channels up to which a layer is thin


def _is_thin(xd, wd, stride):
    """Whether a 2-d layer (or conv1d's height-1 view) of one group that the other rules send to im2col runs
    ``_thin_conv`` instead: more than one tap, fewer output than input channels, at most 8 of them at stride 1
    and 3 at stride 2.

    im2col's GEMM has the output channels as its rows: with few of them it streams the columns (C * K rows,
    K the taps) at memory speed, in the forward, the weight gradient and the input gradient's col2im. The
    thin path's GEMMs have O * K rows and run at full speed; its tap planes (O * K rows) are smaller than
    the columns while O < C. The limits come from measurements (benchmarks/README.md, 2026-12-07, helper
    C2): at stride 1 thin won on every layer tried up to 8 output channels and was no longer sure from 16;
    at stride 2 its GEMM multiplies every input position, s² = 4 times the output's, so 3 output channels
    still win and 8 lose. 1x1 layers keep im2col (their columns are the input itself), and the direct
    3x3 / 5x5 kernels, which come first, are as fast or faster."""
    if wd.ndim != 4 or xd.dtype != wd.dtype or xd.dtype not in (np.float32, np.float64):
        return False
    out_channels, channels, kh, kw = wd.shape
    return kh * kw > 1 and out_channels <= _THIN_MAX_OUT_CHANNELS.get(stride, 0) and out_channels < channels


def _conv_input_grad(g, wd, groups, size, stride, padding, dilation):
    """The input gradient of a 2-d or 3-d convolution, from its (N, O, *out_size) output gradient ``g``.

    With stride 1 it is itself a convolution: of ``g`` with the flipped, in/out-swapped kernel and
    padding ``dilation * (k - 1) - padding``, so one im2col of ``g`` and a forward-shaped matmul. Where
    the output is as large as the input (padding that keeps the size, as in ResNets) that does the same
    multiply-adds and is faster than the transposed matmul (a rank-O/groups update that writes all
    columns) followed by a col2im scatter. Where the output is smaller (no padding, as in LeNet) the
    convolution would also multiply the zero padding of ``g``, so that case and strided convolutions keep
    the col2im path. So does a weight larger than ``g`` (512 channels on 4x4 planes, batch 8: its flipped
    copy alone took 1.4 ms of the 6.3; col2im of Wᵀ g reads the weight in place, 0.86-0.90 x the time),
    and fewer input than output channels, where g's columns (O * K rows) outgrow Wᵀ g (C * K rows), e.g. the
    first 9x9 conv 3 -> 32 of fast_neural_style (measured: benchmarks/README.md, helper C2)."""
    out_size, kernel = g.shape[2:], wd.shape[2:]
    flipped_padding = tuple(d * (k - 1) - p for d, k, p in zip(dilation, kernel, padding))
    if (all(s == 1 for s in stride) and min(flipped_padding) >= 0 and math.prod(size) <= math.prod(out_size)
            and wd.size <= g.size and wd.shape[1] * groups >= wd.shape[0]):
        return _im2col_matmul(g, _flip_kernel(wd, groups), groups, stride, flipped_padding, dilation, size,
                              keep_cols=False)[0]
    return _col2im(_transposed_cols(wd, groups, g), size, stride, padding, dilation)


def _winograd_conv(xd, wd, padding, out_size):
    """The 3x3 stride-1 convolution by Winograd F(2x2, 3x3) (``kernels.winograd``): the output and the
    transforms ``U`` of the weight and ``V`` of the input that the backward takes."""
    from ...kernels import winograd  # numba loads on first use, not at `import ember`

    u = winograd.filter_transform(wd)
    v = winograd.input_transform(xd, *padding, *out_size)
    m = winograd.planes(16, u.shape[1], v.shape[2], np.result_type(u, v))
    return winograd.output_transform(np.matmul(u, v, out=m), xd.shape[0], *out_size), u, v


def _winograd_input_grad(g, u, padding, size):
    """The input gradient of ``_winograd_conv``: the forward of the output gradient ``g`` with the flipped,
    in/out-swapped kernel (padding ``2 - padding``), whose transform is ``u`` permuted and transposed."""
    from ...kernels import winograd  # numba loads on first use, not at `import ember`

    vg = winograd.input_transform(g, 2 - padding[0], 2 - padding[1], *size)
    m = winograd.planes(16, u.shape[2], vg.shape[2], np.result_type(u, vg))
    for k, flipped in enumerate(winograd.FLIPPED):
        np.matmul(u[flipped].T, vg[k], out=m[k])
    return winograd.output_transform(m, g.shape[0], *size)


def _winograd_weight_grad(g, v):
    """The weight gradient of ``_winograd_conv`` from the output gradient ``g`` and the input's transform ``v``."""
    from ...kernels import winograd  # numba loads on first use, not at `import ember`

    return winograd.filter_gradient(winograd.gradient_transform(g, *winograd.tiles(*g.shape[2:])), v)


def _tap_rows(wd):
    """The (O, C, KH, KW) weight as the (O * KH * KW, C) matrix whose rows are its taps' (``kernels.conv_thin``)."""
    out_channels, channels, kh, kw = wd.shape
    return _channels_last(wd).reshape(out_channels * kh * kw, channels)


def _thin_block(channels, taps, positions):
    """Samples per block of ``_thin_conv`` and its gradients: blocks whose tap planes fill ~4 MB (float32),
    so that the tap sum (or the gradients' GEMMs) reads them still in cache."""
    return max(1, _BLOCK_ELEMENTS // (channels * taps * positions))


def _thin_conv(xd, wd, stride, padding, dilation, out_size):
    """The 2-d forward of a layer with few output channels: every tap's planes over the whole input from one
    GEMM, then their sum at each tap's offset (``kernels.conv_thin``; see _is_thin), a block of samples at a
    time."""
    from ...kernels import conv_thin  # numba loads on first use, not at `import ember`

    n, channels, h, w = xd.shape
    out_channels, _, kh, kw = wd.shape
    x3, rows = np.ascontiguousarray(xd).reshape(n, channels, h * w), _tap_rows(wd)
    block = _thin_block(out_channels, kh * kw, h * w)
    z = np.empty((min(block, n), out_channels * kh * kw, h * w), dtype=np.result_type(xd, wd))
    out = np.empty((n, out_channels, *out_size), dtype=z.dtype)
    for start in range(0, n, block):
        stop = min(start + block, n)
        with _one_blas_thread(rows.shape[0] * channels * h * w):
            np.matmul(rows, x3[start:stop], out=z[:stop - start])
        conv_thin.tap_sum(z[:stop - start].reshape(stop - start, out_channels, kh, kw, h, w), out[start:stop],
                          *stride, *padding, *dilation)
    return out


def _thin_grads(g, xd, wd, size, stride, padding, dilation, need_input, need_weight):
    """The input and weight gradients (each None unless needed) of ``_thin_conv``, the adjoints of its two
    steps: the output gradient ``g`` spread onto the positions each tap read (``kernels.conv_thin``), then
    the transposed tap rows times it (input gradient) and it times the input's transpose (the tap rows'
    gradient, summed over samples), a block of samples at a time."""
    from ...kernels import conv_thin  # numba loads on first use, not at `import ember`

    n, out_channels = g.shape[:2]
    _, channels, kh, kw = wd.shape
    taps, positions = out_channels * kh * kw, math.prod(size)
    block = _thin_block(out_channels, kh * kw, positions)
    spread = np.empty((min(block, n), out_channels, kh, kw, *size), dtype=g.dtype)
    rows = _tap_rows(wd)
    gx = np.empty((n, channels, positions), dtype=np.result_type(g, wd)) if need_input else None
    grows = np.zeros((taps, channels), dtype=np.result_type(g, xd)) if need_weight else None
    x3 = np.ascontiguousarray(xd).reshape(n, channels, positions) if need_weight else None
    for start in range(0, n, block):
        stop = min(start + block, n)
        part = conv_thin.tap_spread(g[start:stop], spread[:stop - start], *stride, *padding, *dilation)
        part = part.reshape(stop - start, taps, positions)
        with _one_blas_thread(taps * channels * positions):
            if need_input:
                np.matmul(rows.T, part, out=gx[start:stop])
            if need_weight:
                for i in range(stop - start):
                    grows += part[i] @ x3[start + i].T
    if need_input:
        gx = gx.reshape(n, channels, *size)
    if need_weight:
        grows = np.ascontiguousarray(grows.reshape(out_channels, kh, kw, channels).transpose(0, 3, 1, 2))
    return gx, grows


def _direct_conv(kernel, xd, wd, groups, stride, padding, dilation, out_size):
    """The 2-d forward by one of the direct kernels (see _conv_kernel)."""
    from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`
    from ...kernels import conv3x3, conv5x5

    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    if kernel == "3x3":
        return conv3x3.conv3x3(xd, wd, ph, pw, sh)
    if kernel == "5x5":
        return conv5x5.conv5x5(xd, wd, ph, pw)
    if kernel == "depthwise":
        return _depthwise_conv(xd, wd, stride, padding, dilation, out_size)
    return kernels.grouped_conv(xd, wd, groups, sh, sw, ph, pw, dh, dw, *out_size)


def _channels_last(a):
    """An (N, C, H, W) array as a contiguous (N, H, W, C) one."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _depthwise_taps(wd):
    """A depthwise weight (C, 1, KH, KW) as the channels-last kernels read it, (KH, KW, C)."""
    return np.ascontiguousarray(wd[:, 0].transpose(1, 2, 0))


def _depthwise_conv(xd, wd, stride, padding, dilation, out_size):
    from ...kernels import depthwise  # numba loads on first use, not at `import ember`

    n, c = xd.shape[:2]
    out = np.zeros((n, *out_size, c), xd.dtype)
    depthwise.forward_rows(n * out_size[0], _channels_last(xd), _depthwise_taps(wd), out, *stride, *padding,
                           *dilation)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))  # (NCHW in, NCHW out, contiguous, as torch)


def _direct_input_grad(kernel, g4, wd, groups, size, stride, padding, dilation, g_last=None):
    """The 2-d input gradient where the forward ran a direct kernel (``g_last``: ``g4`` channels-last, for the
    depthwise kernels, when the caller has it)."""
    from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`
    from ...kernels import conv3x3, conv5x5

    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    h, width = size
    oh, ow = g4.shape[2:]
    if kernel == "3x3" and sh == 1:  # the forward of g with the flipped, in/out-swapped kernel
        return conv3x3.conv3x3(g4, _flip_kernel(wd, 1), 2 - ph, 2 - pw)
    if kernel == "3x3":
        return conv3x3.conv3x3_input_grad(g4, wd, ph, pw, sh, h, width)
    if kernel == "5x5" and max(ph, pw) <= 4 and h * width <= oh * ow:
        # the same, where the padded g has no more zeros than the padding (see _conv_input_grad)
        return conv5x5.conv5x5(g4, _flip_kernel(wd, 1), 4 - ph, 4 - pw)
    if kernel == "grouped":
        return kernels.grouped_conv_input_grad(g4, wd, groups, h, width, sh, sw, ph, pw, dh, dw)
    if kernel == "depthwise":
        from ...kernels import depthwise  # numba loads on first use, not at `import ember`

        gx = np.zeros((g4.shape[0], h, width, g4.shape[1]), g4.dtype)
        depthwise.input_grad_rows(g4.shape[0] * h, _channels_last(g4) if g_last is None else g_last,
                                  _depthwise_taps(wd), gx, *stride, *padding, *dilation)
        return np.ascontiguousarray(gx.transpose(0, 3, 1, 2))
    return _conv_input_grad(g4, wd, groups, size, stride, padding, dilation)


def _direct_weight_grad(kernel, xd, g4, wd, groups, stride, padding, dilation, g_last=None):
    """The 2-d weight gradient where the forward ran a direct kernel (``g_last`` as ``_direct_input_grad``'s)."""
    from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`
    from ...kernels import conv3x3, conv5x5

    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    if kernel == "3x3":
        return conv3x3.conv3x3_weight_grad(xd, g4, ph, pw, sh)
    if kernel == "5x5":
        return conv5x5.conv5x5_weight_grad(xd, g4, ph, pw)
    if kernel == "depthwise":
        from ...kernels import depthwise  # numba loads on first use, not at `import ember`

        kh, kw = wd.shape[2:]
        gw = np.zeros((kh, kw, wd.shape[0]), g4.dtype)
        depthwise.weight_grad_taps(kh * kw, _channels_last(g4) if g_last is None else g_last, _channels_last(xd), gw,
                                   *stride, *padding, *dilation)
        return np.ascontiguousarray(gw.transpose(2, 0, 1))[:, None]
    return kernels.grouped_conv_weight_grad(g4, xd, groups, *wd.shape[2:], sh, sw, ph, pw, dh, dw)


def _tap_planes(index, shape):
    """Pairs of indices ``(position in the crop, position in the weight)``, one per kept tap of
    ``_useful_taps``'s ``index``: copying a crop one ``(O, C)`` plane per tap is several times faster than
    numpy's copy of the 4-d view, which walks the short tap axes innermost (timings: benchmarks/README.md,
    2026-12-07, sixth session)."""
    taps = index[2:]
    return [((..., *p), (..., *(t.start + q for t, q in zip(taps, p)))) for p in np.ndindex(shape[2:])]


def _cropped(wd, index):
    """``wd[index]`` as a contiguous copy."""
    taps = index[2:]
    out = np.empty(wd.shape[:2] + tuple(t.stop - t.start for t in taps), wd.dtype)
    for inside, outside in _tap_planes(index, out.shape):
        out[inside] = wd[outside]
    return out


def _uncropped(gw, index, shape):
    """The gradient ``gw`` of a crop as the whole weight's (``shape``): zero at the dropped taps."""
    full = np.zeros(shape, gw.dtype)
    for inside, outside in _tap_planes(index, gw.shape):
        full[outside] = gw[inside]
    return full


def _useful_taps(size, kernel, out_size, stride, padding, dilation):
    """The kernel taps that ever read the input, and the padding that goes with them.

    On a plane smaller than the kernel's reach some taps read only zero padding: a 3x3 kernel with
    padding 1 on a 1x1 plane (ResNet-18's last layers on 28x28 images) reads only through its centre
    tap, so the convolution is a 1x1 one without padding and a ninth of the multiply-adds. Returns
    (index of the kept taps of the (O, C, *kernel) weight, the new padding), or None where every tap
    is used. An axis keeps all its taps where dropping some would change the output size (the
    padding must stay the same on both sides)."""
    taps, new_padding = [], []
    for i, k, o, s, p, d in zip(size, kernel, out_size, stride, padding, dilation):
        # tap t reads t*d - p + s*j for outputs j < o: some of it inside [0, i) iff both ends allow it
        used = [t for t in range(k) if t * d - p <= i - 1 and (o - 1) * s + t * d - p >= 0]
        first, last = (used[0], used[-1]) if used else (0, k - 1)
        q = p - first * d
        if q < 0 or _conv_output_size(i, last - first + 1, s, q, d) != o:
            first, last, q = 0, k - 1, p
        taps.append(slice(first, last + 1))
        new_padding.append(q)
    if all(t.stop - t.start == k for t, k in zip(taps, kernel)):
        return None
    return (slice(None), slice(None), *taps), tuple(new_padding)


def _as_planes(a):
    """A 1-d operand (N, C, L) as the height-1 image (N, C, 1, L); 2-d and 3-d operands as they are (an array,
    or a tensor in a recorded backward)."""
    return a[:, :, None, :] if a.ndim == 3 else a


class ConvNd(Op):
    """Grouped, strided, dilated, padded 1-d/2-d/3-d convolution (cross-correlation)."""
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        xd, wd = _as_planes(x._data), _as_planes(w._data)
        ctx.x_shape, ctx.w_shape = x._data.shape, w._data.shape
        size, kernel = xd.shape[2:], wd.shape[2:]
        out_size = tuple(_conv_output_size(*a) for a in zip(size, kernel, stride, padding, dilation))
        if min(out_size) <= 0:
            n = len(ctx.x_shape) - 2
            raise RuntimeError(
                f"conv: input of spatial size {tuple(ctx.x_shape[2:])} with padding {padding[-n:]} is smaller "
                f"than the dilated kernel of size {tuple(ctx.w_shape[2:])} (dilation {dilation[-n:]})"
            )
        ctx.geometry = (stride, padding, dilation, groups)  # (as given: a recorded backward restates the conv)
        ctx.input = (x, x._vc[0])  # for a recorded backward only: not saved, the fast one reads no x or its columns
        ctx.crop = _useful_taps(size, kernel, out_size, stride, padding, dilation)
        if ctx.crop is not None:  # kept for the backward: the copy reads the whole weight
            wd, padding = _cropped(wd, ctx.crop[0]), ctx.crop[1]
            ctx.crop = (ctx.crop[0], wd)
        ctx.params = (stride, padding, dilation, groups, size)
        ctx.kernel = _conv_kernel(xd, wd, stride, padding, dilation, groups)
        ctx.save_for_backward(w, x if ctx.kernel not in ("im2col", "winograd") and ctx.needs_input_grad[1] else None)
        if ctx.kernel == "im2col":
            out, ctx.cols = _im2col_matmul(xd, wd, groups, stride, padding, dilation, out_size,
                                           keep_cols=ctx.needs_input_grad[1])
        elif ctx.kernel == "winograd":  # the transforms the backward needs, kept
            out, u, v = _winograd_conv(xd, wd, padding, out_size)
            ctx.winograd = (u if ctx.needs_input_grad[0] else None, v if ctx.needs_input_grad[1] else None)
        elif ctx.kernel == "thin":
            out = _thin_conv(xd, wd, stride, padding, dilation, out_size)
        else:
            out = _direct_conv(ctx.kernel, xd, wd, groups, stride, padding, dilation, out_size)
        if b is not None:
            out += b._data.reshape((-1,) + (1,) * len(size))
        return out.reshape(out.shape[0], wd.shape[0], out_size[-1]) if len(ctx.x_shape) == 3 else out

    @staticmethod
    def meta(ctx, x, w, b, stride, padding, dilation, groups):  # meta operands (ember._device): shape only
        n = x._data.ndim - 2
        sizes = [_conv_output_size(*size) for size in zip(x._data.shape[2:], w._data.shape[2:], stride[-n:],
                                                             padding[-n:], dilation[-n:])]
        shape = (x._data.shape[0], w._data.shape[0], *sizes)
        return np.broadcast_to(np.zeros((), np.result_type(x._data, w._data)), shape)

    @staticmethod
    def backward(ctx, grad):
        if state.grad_enabled:  # create_graph (gradient penalties, R1, MAML): the gradients as convolutions
            x = unchanged_input(ctx, *ctx.input)
            return _conv_grads_in_ops(ctx, x, ctx.saved_tensors[0], grad, *ctx.geometry) + (None,) * 4
        w, x = ctx.saved_tensors
        stride, padding, dilation, groups, size = ctx.params
        wd = _as_planes(w._data) if ctx.crop is None else ctx.crop[1]  # the taps the forward used
        xd = None if x is None else _as_planes(x._data)
        g = _as_planes(np.ascontiguousarray(grad._data))  # e.g. a broadcast gradient: BLAS needs real strides
        gx = gw = gb = None
        if ctx.kernel == "thin" and (ctx.needs_input_grad[0] or ctx.needs_input_grad[1]):
            gx_thin, gw_thin = _thin_grads(g, xd, wd, size, stride, padding, dilation, *ctx.needs_input_grad[:2])
        g_last = None  # the depthwise kernels' channels-last gradient, made once for both gradients
        if ctx.kernel == "depthwise" and ctx.needs_input_grad[0] and ctx.needs_input_grad[1]:
            g_last = _channels_last(g)
        if ctx.needs_input_grad[0]:
            if ctx.kernel == "im2col":
                gx = _conv_input_grad(g, wd, groups, size, stride, padding, dilation)
            elif ctx.kernel == "winograd":
                gx = _winograd_input_grad(g, ctx.winograd[0], padding, size)
            elif ctx.kernel == "thin":
                gx = gx_thin
            else:
                gx = _direct_input_grad(ctx.kernel, g, wd, groups, size, stride, padding, dilation, g_last)
            gx = Tensor._wrap(gx.reshape(ctx.x_shape))
        if ctx.needs_input_grad[1]:
            if ctx.kernel == "im2col":
                gw = _weight_grad(ctx.cols, g, groups, wd.shape)
            elif ctx.kernel == "winograd":
                gw = _winograd_weight_grad(g, ctx.winograd[1])
            elif ctx.kernel == "thin":
                gw = gw_thin
            else:
                gw = _direct_weight_grad(ctx.kernel, xd, g, wd, groups, stride, padding, dilation, g_last)
            if ctx.crop is not None:  # the dropped taps read only zeros: their gradient is zero
                gw = _uncropped(gw.reshape(wd.shape), ctx.crop[0], _as_planes(w._data).shape)
            gw = Tensor._wrap(gw.reshape(ctx.w_shape))
        if ctx.needs_input_grad[2]:
            gb = Tensor._wrap(g.sum(axis=(0,) + tuple(range(2, g.ndim))))
        return gx, gw, gb, None, None, None, None


class ConvTransposeNd(Op):
    """Transposed convolution (1-d/2-d/3-d): the gradient of a convolution with respect to its input."""
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, groups, dilation):
        xd, wd = _as_planes(x._data), _as_planes(w._data)
        ctx.x_shape, ctx.w_shape = x._data.shape, w._data.shape
        size, kernel = xd.shape[2:], wd.shape[2:]
        out_size = tuple((i - 1) * s - 2 * p + d * (k - 1) + o + 1
                         for i, k, s, p, d, o in zip(size, kernel, stride, padding, dilation, output_padding))
        if min(out_size) <= 0:
            dims = len(ctx.x_shape) - 2
            raise RuntimeError(
                f"conv_transpose: input of spatial size {tuple(ctx.x_shape[2:])} with weight of shape "
                f"{tuple(ctx.w_shape)} and padding {padding[-dims:]} gives a non-positive output size "
                f"{out_size[-dims:]}"
            )
        # the columns W^T x (as a convolution's input gradient), summed onto the output by col2im
        out = _col2im(_transposed_cols(wd, groups, xd), out_size, stride, padding, dilation)
        if b is not None:
            out += b._data.reshape((-1,) + (1,) * len(size))
        ctx.save_for_backward(x, w)
        ctx.params = (stride, padding, dilation, groups, tuple(size))
        return out.reshape(out.shape[0], -1, out_size[-1]) if len(ctx.x_shape) == 3 else out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups, size = ctx.params
        if state.grad_enabled:  # create_graph: the gradients as convolutions, differentiable again
            return _conv_transpose_grads_in_ops(ctx, x, w, grad, stride, padding, dilation, groups) + (None,) * 5
        xd, wd = _as_planes(x._data), _as_planes(w._data)
        g = _as_planes(np.ascontiguousarray(grad._data))
        n = xd.shape[0]
        _, og, *kernel = wd.shape
        gx = gw = gb = None
        # the input gradient is a convolution of g with the weight; its columns serve the weight gradient
        if ctx.needs_input_grad[0]:
            gx, gcols = _im2col_matmul(g, wd, groups, stride, padding, dilation, size,
                                       keep_cols=ctx.needs_input_grad[1])
            gx = Tensor._wrap(gx.reshape(ctx.x_shape))
        elif ctx.needs_input_grad[1]:
            if _folds_batch(n, math.prod(size)):
                gcols = _folded_columns(g, kernel, stride, padding, dilation, size)
                gcols = gcols.reshape(groups, og * math.prod(kernel), -1)
            else:
                gcols = _im2col(g, kernel, stride, padding, dilation, size)
                gcols = gcols.reshape(n, groups, og * math.prod(kernel), math.prod(size))
        if ctx.needs_input_grad[1]:
            gw = Tensor._wrap(_weight_grad(gcols, xd, groups, ctx.w_shape))
        if ctx.needs_input_grad[2]:
            gb = Tensor._wrap(g.sum(axis=(0,) + tuple(range(2, g.ndim))))
        return gx, gw, gb, None, None, None, None, None


def _weight_grad_in_ops(x, g, kernel, stride, padding, dilation, groups):
    """The weight gradient of the convolution of ``x`` (N, C, *S) giving ``g`` (N, O, *P), in differentiable
    ops: itself a convolution, of ``x`` with the batch as channels by ``g`` as the weight (stride and
    dilation swapped), one group per group; cropped to ``kernel`` and laid out as the weight (O, C / groups, *K)."""
    n, c, o, spatial = x.shape[0], x.shape[1], g.shape[1], x.ndim - 2
    axes = tuple(range(3, 3 + spatial))
    xs = x.reshape(n, groups, c // groups, *x.shape[2:]).permute(2, 1, 0, *axes)
    xs = xs.reshape(c // groups, groups * n, *x.shape[2:])
    gs = g.reshape(n, groups, o // groups, *g.shape[2:]).permute(1, 2, 0, *axes).reshape(o, n, *g.shape[2:])
    out = ConvNd.apply(xs, gs, None, dilation, padding, stride, groups)  # (C / groups, O, *K')
    out = out[(slice(None), slice(None)) + tuple(slice(0, k) for k in kernel)]
    return out.permute(1, 0, *range(2, 2 + spatial))


def _conv_grads_in_ops(ctx, x, w, g, stride, padding, dilation, groups):
    """``ConvNd``'s input, weight and bias gradients as convolutions (a recorded backward)."""
    needs = ctx.needs_input_grad
    x4, w4, g4 = _as_planes(x), _as_planes(w), _as_planes(g)
    gx = gw = gb = None
    if needs[0]:
        size, kernel, out_size = x4.shape[2:], w4.shape[2:], g4.shape[2:]
        extra = tuple(i - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
                      for i, o, s, p, d, k in zip(size, out_size, stride, padding, dilation, kernel))
        gx = ConvTransposeNd.apply(g4, w4, None, stride, padding, extra, groups, dilation).reshape(x.shape)
    if needs[1]:
        gw = _weight_grad_in_ops(x4, g4, w4.shape[2:], stride, padding, dilation, groups).reshape(w.shape)
    if needs[2]:
        gb = g.sum((0, *range(2, g.ndim)))
    return gx, gw, gb


def _conv_transpose_grads_in_ops(ctx, x, w, g, stride, padding, dilation, groups):
    """``ConvTransposeNd``'s gradients as convolutions: the input's is the convolution of ``g`` by the weight,
    the weight's that convolution's weight gradient with the roles of ``x`` and ``g`` swapped."""
    needs = ctx.needs_input_grad
    x4, w4, g4 = _as_planes(x), _as_planes(w), _as_planes(g)
    gx = gw = gb = None
    if needs[0]:
        gx = ConvNd.apply(g4, w4, None, stride, padding, dilation, groups)
        gx = gx[(slice(None), slice(None)) + tuple(slice(0, i) for i in x4.shape[2:])].reshape(x.shape)
    if needs[1]:
        gw = _weight_grad_in_ops(g4, x4, w4.shape[2:], stride, padding, dilation, groups).reshape(w.shape)
    if needs[2]:
        gb = g.sum((0, *range(2, g.ndim)))
    return gx, gw, gb


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


def _check_geometry(op, stride, padding, dilation):
    """PyTorch's checks of the convolution's numbers (its messages, with the values at fault)."""
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported (stride={stride})")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: negative padding is not supported (padding={padding})")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero (dilation={dilation})")


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
                raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions "
                                   f"(stride={stride})")
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
    _check_geometry(op, stride, padding, dilation)
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


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-d convolution over (N, C_in, D, H, W) with weight (C_out, C_in / groups, KD, KH, KW).

    ``padding`` may be an int, a triple, ``"valid"`` or ``"same"``. Runs as im2col and one batched
    matmul per block of samples, as ``conv2d`` does where it has no direct kernel.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.conv3d(ember.randn(2, 3, 8, 8, 8), ember.randn(4, 3, 3, 3, 3), stride=2, padding=1).shape
        ember.Size([2, 4, 4, 4, 4])
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, dims, input, weight, bias, stride, padding, output_padding, groups, dilation):
    batched = _check_conv_args(op, input, weight, bias, groups, dims, transposed=True)
    if not batched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    stride, padding = ntuple(stride, dims, "stride"), ntuple(padding, dims, "padding")
    output_padding, dilation = ntuple(output_padding, dims, "output_padding"), ntuple(dilation, dims, "dilation")
    _check_geometry(op, stride, padding, dilation)
    if any(o >= max(s, d) or o < 0 for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(
            f"{op}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
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


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-d transposed convolution with weight (C_in, C_out / groups, KD, KH, KW).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.conv_transpose3d(ember.randn(1, 4, 3, 3, 3), ember.randn(4, 2, 2, 2, 2), stride=2).shape
        ember.Size([1, 2, 6, 6, 6])
    """
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """A 1-d convolution laid out time, batch, channel (fairseq's layout).

    ``input`` (T, B, C_in), ``weight`` (K, C_in, C_out), ``bias`` (C_out,); ``pad`` zero steps are added at
    both ends of the time axis (a negative ``pad`` crops, as in PyTorch). The result is
    (T + 2 * pad - K + 1, B, C_out).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.conv_tbc(ember.randn(7, 2, 3), ember.randn(3, 3, 5), ember.zeros(5), pad=1).shape
        ember.Size([7, 2, 5])
    """
    for name, value in (("input", input), ("weight", weight), ("bias", bias)):
        if not isinstance(value, Tensor):
            raise TypeError(f"conv_tbc(): argument '{name}' must be Tensor, not {type(value).__name__}")
    if input.ndim != 3:
        raise RuntimeError(f"conv_tbc: input must have 3 dims: time, batch, in_channel; got input of shape "
                           f"{tuple(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"conv_tbc: weight must have 3 dims: kernel width, in_channels, out_channels; got "
                           f"weight of shape {tuple(weight.shape)}")
    if bias.ndim != 1 or bias.shape[0] != weight.shape[2]:
        raise RuntimeError(f"conv_tbc: bias of shape {tuple(bias.shape)} must have as many elements as dim 2 "
                           f"of the weight of shape {tuple(weight.shape)} (output channels)")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError(f"conv_tbc: input dim 2 (input channels) of input of shape {tuple(input.shape)} is "
                           f"not == dim 1 of the weight of shape {tuple(weight.shape)}")
    x = input.permute(1, 2, 0)
    if pad < 0:  # torch crops the time axis by -pad at both ends
        x, pad = x[..., -pad:x.shape[-1] + pad], 0
    out = conv1d(x, weight.permute(2, 1, 0), bias, padding=int(pad))
    return out.permute(2, 0, 1)
