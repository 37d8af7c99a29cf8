"""``ember.stft`` / ``ember.istft``: torch's short-time Fourier transform and its inverse, differentiable.

The one implementation of the transform: ``ember.audio.functional`` calls these and adds only the audio
domain's conventions. Padding is by ``cat``; framing with windowing, and the one-sided DFT, are fused ops
built on two adjoint pairs (``Frames`` / ``OverlapAdd`` of ops/shape.py, which ``Tensor.unfold`` also uses,
and ``_RealDFT`` / ``_RealDFTAdjoint``), so each one's backward is the other and derivatives of any order
work. The DFT pair measured faster than ``ops.fft.rfft`` (whose backward is a full complex inverse FFT).
"""

from __future__ import annotations

import numpy as np

from .creation import ones, zeros
from .ops import cat
from .ops._op import Op
from .ops.complex_ops import conj_of, view_as_real
from .ops.fft import fft, ifft
from .ops.shape import Frames, OverlapAdd, frame_array, overlap_add_array
from .tensor import Tensor

__all__ = ["istft", "stft"]


class _WindowedFrames(Op):
    """``Frames(x) * window`` in one pass (the STFT's analysis step), without the frames in between."""

    @staticmethod
    def forward(ctx, x, window, hop):
        ctx.hop, ctx.length = hop, x._data.shape[-1]
        ctx.real_x, ctx.real_window = x._data.dtype.kind == "f", window._data.dtype.kind == "f"
        needs_x, needs_window = ctx.needs_input_grad[:2]
        ctx.save_for_backward(x if needs_window else None, window if needs_x else None)
        return frame_array(x._data, window._data.shape[0], hop) * window._data

    @staticmethod
    def backward(ctx, grad):
        x, window = ctx.saved_tensors
        grad_x = grad_window = None
        if ctx.needs_input_grad[0]:
            grad_x = OverlapAdd.apply(grad * conj_of(window), ctx.hop, ctx.length)
            grad_x = grad_x.real if ctx.real_x and grad_x.is_complex() else grad_x
        if ctx.needs_input_grad[1]:  # the engine sums this over the frames and batch back to the window
            grad_window = grad * conj_of(Frames.apply(x, grad.shape[-1], ctx.hop))
            grad_window = grad_window.real if ctx.real_window and grad_window.is_complex() else grad_window
        return grad_x, grad_window, None


def _bin_weights(n: int, dtype) -> np.ndarray:
    """1 for the DC bin (and the Nyquist bin when ``n`` is even), 1/2 for the bins that stand for two."""
    weights = np.full(n // 2 + 1, 0.5, dtype=dtype)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    return weights


class _RealDFT(Op):
    """The one-sided DFT of real frames over the last dimension, ``X_k = sum_j x_j e^{-2 pi i jk/n}``, scaled
    by ``norm`` ("backward": 1, "ortho": ``n ** -0.5``), as ``rfft``."""

    @staticmethod
    def forward(ctx, frames, norm):
        import scipy.fft  # lazy: heavy (scipy's, as numpy 2.4's unscaled rfft and irfft measured ~5x slower)

        ctx.n, ctx.norm = frames._data.shape[-1], norm
        return scipy.fft.rfft(frames._data, axis=-1, norm=norm)

    @staticmethod
    def backward(ctx, grad):
        # d/dx_j of sum_k Re(conj(G_k) X_k) = sum_k Re(G_k e^{+2 pi i jk/n}): the adjoint
        return _RealDFTAdjoint.apply(grad, ctx.n, ctx.norm), None


_ADJOINT_NORM = {"backward": "forward", "ortho": "ortho"}  # the irfft norm that scales by ``n * scale``


class _RealDFTAdjoint(Op):
    """The adjoint of ``_RealDFT``: ``y_j = scale * sum_k Re(G_k e^{+2 pi i jk/n})`` over the ``n // 2 + 1``
    bins, i.e. ``scale * n * irfft(weights * G)`` (the imaginary parts of DC and Nyquist do not count)."""

    @staticmethod
    def forward(ctx, spectrum, n, norm):
        import scipy.fft  # lazy: heavy

        ctx.norm = norm
        real = np.float64 if spectrum._data.dtype == np.complex128 else np.float32
        weighted = spectrum._data * _bin_weights(n, real)
        return scipy.fft.irfft(weighted, n, axis=-1, norm=_ADJOINT_NORM[norm])

    @staticmethod
    def backward(ctx, grad):
        return _RealDFT.apply(grad, ctx.norm), None, None


def _irfft(spectrum: Tensor, n: int, norm: str) -> Tensor:
    """``irfft`` of a one-sided spectrum over the last dimension, by the adjoint of ``_RealDFT``: the bins
    that stand for two count twice, and ``norm="backward"`` divides by ``n``."""
    real = np.float64 if spectrum._data.dtype == np.complex128 else np.float32
    factor = (1.0 / _bin_weights(n, np.float64) / (n if norm == "backward" else 1)).astype(real)
    return _RealDFTAdjoint.apply(spectrum * Tensor._wrap(factor), n, norm)


def _pad_last(x: Tensor, amount: int, mode: str) -> Tensor:
    """``amount`` samples added at both ends of the last dimension, as ``nn.functional.pad``'s ``mode``."""
    length = x.shape[-1]
    if mode == "constant":
        edge = zeros(*x.shape[:-1], amount, dtype=x.dtype)
        return cat([edge, x, edge], -1)
    if mode == "reflect":
        if amount >= length:
            raise RuntimeError(f"stft: padding size ({amount}) should be less than the corresponding input "
                               f"dimension ({length}) for reflect padding")
        return cat([x[..., 1:amount + 1].flip(-1), x, x[..., length - amount - 1:length - 1].flip(-1)], -1)
    if mode == "replicate":
        shape = (*x.shape[:-1], amount)
        return cat([x[..., :1].expand(shape), x, x[..., -1:].expand(shape)], -1)
    if mode == "circular":
        return cat([x[..., length - amount:], x, x[..., :amount]], -1)
    raise ValueError(f"stft: unknown pad_mode {mode!r}; expected 'constant', 'reflect', 'replicate' or 'circular'")


def _window(window: Tensor | None, n_fft: int, win_length: int, dtype, op: str) -> Tensor:
    """The window zero-padded around its centre to ``n_fft`` (a rectangular one when None)."""
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{op}: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is None:
        window = ones(win_length, dtype=dtype.to_real() if dtype.is_complex else dtype)
    if window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{op}: expected a 1D window tensor of size equal to win_length={win_length}, but got "
                           f"window with size {list(window.shape)}")
    left = (n_fft - win_length) // 2
    if left or n_fft - win_length - left:
        window = cat([zeros(left, dtype=window.dtype), window, zeros(n_fft - win_length - left, dtype=window.dtype)])
    return window


def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: bool | None = None, return_complex: bool | None = None,
         align_to_window: bool | None = None) -> Tensor:
    """The short-time Fourier transform of a ``(L,)`` or ``(B, L)`` signal: ``(..., freq, frames)``, as
    ``torch.stft``.

    Frame ``t`` is ``input[t * hop_length : t * hop_length + n_fft]`` of the signal (padded by ``n_fft // 2``
    at both ends with ``pad_mode`` when ``center``), times ``window`` (centred in ``n_fft``); its DFT gives
    column ``t``. A real input needs ``return_complex`` (``False`` gives ``view_as_real``'s layout).

    Example:
        >>> import ember
        >>> ember.stft(ember.randn(1000), 256, window=ember.hann_window(256), return_complex=True).shape
        ember.Size([129, 16])
    """
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    window_complex = window is not None and window.is_complex()
    if return_complex is None:
        if not (input.is_complex() or window_complex):
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if align_to_window:
        raise NotImplementedError("stft: align_to_window=True is not supported")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, got {input.ndim}D")
    if not (input.is_floating_point() or input.is_complex()):
        raise RuntimeError(f"stft: expected a tensor of floating point or complex values, got {input.dtype}")
    x = _pad_last(input, n_fft // 2, pad_mode) if center else input
    if not 0 < n_fft <= x.shape[-1]:
        raise RuntimeError(f"stft: expected 0 < n_fft < {x.shape[-1]}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop_length}")
    onesided = not (input.is_complex() or window_complex) if onesided is None else onesided
    if onesided and (input.is_complex() or window_complex):
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    frames = _WindowedFrames.apply(x, _window(window, n_fft, win_length, input.dtype, "stft"), hop_length)
    if onesided:
        spectrum = _RealDFT.apply(frames, "ortho" if normalized else "backward")
    else:
        spectrum = fft(frames, dim=-1, norm="ortho" if normalized else "backward")
    spectrum = spectrum.transpose(-1, -2)
    return spectrum if return_complex else view_as_real(spectrum)


def istft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
          window: Tensor | None = None, center: bool = True, normalized: bool = False,
          onesided: bool | None = None, length: int | None = None, return_complex: bool = False) -> Tensor:
    """The inverse of ``stft`` by windowed overlap-add, divided by the summed squared window, as
    ``torch.istft``: a complex ``(..., freq, frames)`` spectrum in, a ``(..., length)`` signal out.

    Example:
        >>> import ember
        >>> x, w = ember.randn(1000, dtype=ember.float64), ember.hann_window(64, dtype=ember.float64)
        >>> y = ember.istft(ember.stft(x, 64, window=w, return_complex=True), 64, window=w, length=1000)
        >>> bool((y - x).abs().max() < 1e-10)
        True
    """
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    n_freq, n_frames = input.shape[-2], input.shape[-1]
    onesided = n_freq != n_fft if onesided is None else onesided
    if onesided and return_complex:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    expected = n_fft // 2 + 1 if onesided else n_fft
    if n_freq != expected:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the input tensor to "
                           f"match n_fft / 2 + 1 when onesided=True, but got {n_freq}" if onesided else
                           f"istft: expected the frequency dimension of the input to equal n_fft={n_fft} when "
                           f"onesided=False, but got {n_freq}")
    norm = "ortho" if normalized else "backward"
    columns = input.transpose(-1, -2)  # (..., frames, freq)
    if return_complex:
        frames = ifft(columns, n_fft, dim=-1, norm=norm)
    else:
        if window is not None and window.is_complex():
            raise RuntimeError("istft: Complex windows are incompatible with return_complex=False")
        # a two-sided spectrum is read as torch reads it: its first n_fft // 2 + 1 bins, as Hermitian
        frames = _irfft(columns[..., :n_fft // 2 + 1], n_fft, norm)
    w = _window(window, n_fft, win_length, frames.dtype, "istft")
    total = n_fft + hop_length * (n_frames - 1)
    signal = OverlapAdd.apply(frames * w, hop_length, total)
    lead = tuple(signal.shape[:-1])
    w_squared = np.abs(w._data) ** 2
    envelope = overlap_add_array(np.broadcast_to(w_squared, (n_frames, n_fft)), hop_length, total)
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else total - n_fft // 2 if center else total
    stop = min(end, total)
    envelope = envelope[start:stop]
    if envelope.size and np.abs(envelope).min() < 1e-11:
        raise RuntimeError(f"istft: window overlap add min: {np.abs(envelope).min():g} (the window and "
                           f"hop_length do not satisfy the NOLA condition)")
    signal = signal[..., start:stop] / Tensor._wrap(envelope)
    if end > total:
        signal = cat([signal, zeros(*lead, end - total, dtype=signal.dtype)], -1)
    return signal
