"""Differentiable signal primitives the spectral functions are built from.

Four linear ops, in two adjoint pairs, so that each one's backward is the other one and
gradients of any order work:

* ``Frame`` (cut ``[..., L]`` into overlapping frames ``[..., n_frames, size]``) and
  ``OverlapAdd`` (its adjoint: add frames back at their offsets);
* ``RFFT`` (real frames ``[..., n]`` -> one-sided spectrum ``[..., n // 2 + 1, 2]``, last dim =
  (real, imag)) and ``RFFTAdjoint`` (its transpose, an ``irfft`` with re-weighted bins).

The DFT convention is numpy's / PyTorch's: ``X[k] = sum_j x[j] exp(-2 pi i j k / n)``.
"""

from __future__ import annotations

import ember
import numpy as np
from ember import Tensor
from ember.autograd import Function


def _frame_array(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=-1)
    return windows[..., ::hop, :]


def _overlap_add_array(frames: np.ndarray, hop: int, length: int) -> np.ndarray:
    """Sums frames ``[..., n_frames, size]`` placed every ``hop`` samples into ``[..., length]``."""
    n_frames, size = frames.shape[-2:]
    lead = frames.shape[:-2]
    out = np.zeros(lead + (length,), dtype=frames.dtype)
    # Frames r apart (r = ceil(size / hop)) do not overlap: each residue class is one reshape-and-add.
    r = -(-size // hop)
    for j in range(min(r, n_frames)):
        group = frames[..., j::r, :]
        count = group.shape[-2]
        if count == 0:
            continue
        if r * hop > size:
            padded = np.zeros(lead + (count, r * hop), dtype=frames.dtype)
            padded[..., :size] = group
            group = padded
        flat = group.reshape(lead + (count * r * hop,))
        start = j * hop
        stop = min(start + flat.shape[-1], length)
        out[..., start:stop] += flat[..., : stop - start]
    return out


class Frame(Function):
    """``x[..., L]`` -> ``x[..., t * hop : t * hop + size]`` stacked over ``t`` (torch's ``unfold``)."""

    @staticmethod
    def forward(ctx, x, size, hop):
        ctx.meta = (size, hop, x.shape[-1])
        return ember.from_numpy(np.ascontiguousarray(_frame_array(x.numpy(force=True), size, hop)))

    @staticmethod
    def backward(ctx, grad):
        _, hop, length = ctx.meta
        return OverlapAdd.apply(grad, hop, length), None, None


class OverlapAdd(Function):
    """Adjoint of ``Frame``: frames ``[..., n_frames, size]`` summed into ``[..., length]``."""

    @staticmethod
    def forward(ctx, frames, hop, length):
        ctx.meta = (frames.shape[-1], hop)
        return ember.from_numpy(_overlap_add_array(frames.numpy(force=True), hop, length))

    @staticmethod
    def backward(ctx, grad):
        size, hop = ctx.meta
        return Frame.apply(grad, size, hop), None, None


class WindowedFrame(Function):
    """``Frame(x) * window`` in one pass (the STFT's analysis step): ``[..., L]`` -> ``[..., n_frames, size]``."""

    @staticmethod
    def forward(ctx, x, window, hop):
        size = window.shape[-1]
        ctx.meta = (size, hop, x.shape[-1])
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, window)
        return ember.from_numpy(_frame_array(x.numpy(force=True), size, hop) * window.numpy(force=True))

    @staticmethod
    def backward(ctx, grad):
        size, hop, length = ctx.meta
        x, window = ctx.saved_tensors
        grad_x = OverlapAdd.apply(grad * window, hop, length) if ctx.needs_input_grad[0] else None
        # the engine sums this over the frames (and any batch dims) back to the window's shape
        grad_window = grad * Frame.apply(x, size, hop) if ctx.needs_input_grad[1] else None
        return grad_x, grad_window, None


def windowed_frame(x: Tensor, window: Tensor, hop: int) -> Tensor:
    return WindowedFrame.apply(x, window, hop)


def _bin_weights(n: int, dtype) -> np.ndarray:
    """1 for the DC bin (and the Nyquist bin when n is even), 1/2 for the others."""
    w = np.full(n // 2 + 1, 0.5, dtype=dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w


class RFFT(Function):
    """Real DFT over the last dim (length ``n``): output ``[..., n // 2 + 1, 2]`` = (real, imag)."""

    @staticmethod
    def forward(ctx, x, n):
        ctx.n = n
        arr = x.numpy(force=True)
        spec = np.fft.rfft(arr, n=n, axis=-1)
        real_dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
        spec = spec.astype(np.result_type(real_dtype, np.complex64), copy=False)
        # a complex array viewed as reals is (re, im) interleaved: the [..., freq, 2] layout, without a copy
        return ember.from_numpy(spec.view(spec.real.dtype).reshape(spec.shape + (2,)))

    @staticmethod
    def backward(ctx, grad):
        # d/dx_j of sum_k gR_k Re X_k + gI_k Im X_k = sum_k gR_k cos(2 pi jk/n) - gI_k sin(2 pi jk/n)
        return RFFTAdjoint.apply(grad, ctx.n), None


class RFFTAdjoint(Function):
    """Transpose of ``RFFT``: ``[..., n // 2 + 1, 2]`` -> ``[..., n]``,
    ``y_j = sum_k Re(G_k exp(+2 pi i j k / n))`` (computed as ``n * irfft(weights * G)``)."""

    @staticmethod
    def forward(ctx, g, n):
        ctx.n = n
        data = g.numpy(force=True)
        if data.dtype in (np.float32, np.float64):  # (re, im) pairs viewed as complex numbers, no copy
            spec = np.ascontiguousarray(data).view(np.result_type(data.dtype, np.complex64))[..., 0]
        else:
            spec = data[..., 0] + 1j * data[..., 1]
        spec = spec * _bin_weights(n, data.dtype)
        return ember.from_numpy((np.fft.irfft(spec, n=n, axis=-1) * n).astype(data.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        return RFFT.apply(grad, ctx.n), None


class AbsSquared(Function):
    """``re^2 + im^2`` of a ``[..., 2]`` (real, imag) tensor."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        arr = z.numpy(force=True)
        re, im = arr[..., 0], arr[..., 1]
        return ember.from_numpy(re * re + im * im)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad.unsqueeze(-1) * z * 2.0  # d/dz |z|^2 = 2 z (per component)


def abs_squared(z: Tensor) -> Tensor:
    return AbsSquared.apply(z)


def frame(x: Tensor, size: int, hop: int) -> Tensor:
    return Frame.apply(x, size, hop)


def overlap_add(frames: Tensor, hop: int, length: int) -> Tensor:
    return OverlapAdd.apply(frames, hop, length)


def rfft(x: Tensor, n: int) -> Tensor:
    return RFFT.apply(x, n)


def irfft(spec: Tensor, n: int) -> Tensor:
    """Inverse of ``rfft`` for spectra in the ``[..., n // 2 + 1, 2]`` layout (imaginary parts of the DC
    and Nyquist bins are ignored, as ``numpy.fft.irfft`` does)."""
    # irfft(Y) = (1/n) sum_k c_k Re(Y_k e^{+i...}) with c_k = 1/weight_k, i.e. RFFTAdjoint(c * Y / n)
    scale = (1.0 / _bin_weights(n, np.float64) / n).astype(spec.numpy(force=True).dtype)
    return RFFTAdjoint.apply(spec * ember.from_numpy(scale[:, None]), n)
