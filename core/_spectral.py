"""``ember.stft`` / ``ember.istft``: torch's short-time Fourier transform and its inverse, differentiable.

Built from Ember ops (padding by ``cat``, framing by ``unfold``, the DFT of ``ops.fft``, overlap-add by
``index_add``), so gradients flow through them. The audio domain's torchaudio-style forms
live in ``ember.audio.functional``.
"""

from __future__ import annotations

import numpy as np

from .creation import ones, zeros
from .ops import cat
from .ops.complex_ops import view_as_real
from .ops.fft import fft, ifft, irfft, rfft
from .tensor import Tensor

__all__ = ["istft", "stft"]


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
    x = _pad_last(input, n_fft // 2, pad_mode) if center else input
    if not 0 < n_fft <= x.shape[-1]:
        raise RuntimeError(f"stft: expected 0 < n_fft < {x.shape[-1]}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop_length}")
    onesided = not (input.is_complex() or window_complex) if onesided is None else onesided
    if onesided and (input.is_complex() or window_complex):
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    frames = x.unfold(-1, n_fft, hop_length) * _window(window, n_fft, win_length, input.dtype, "stft")
    spectrum = (rfft if onesided else fft)(frames, dim=-1, norm="ortho" if normalized else "backward")
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
    if onesided:
        frames = irfft(columns, n_fft, dim=-1, norm=norm)
    else:
        frames = ifft(columns, n_fft, dim=-1, norm=norm)
        frames = frames if return_complex else frames.real
    w = _window(window, n_fft, win_length, frames.dtype, "istft")
    frames = frames * w
    total = n_fft + hop_length * (n_frames - 1)
    positions = (np.arange(n_frames)[:, None] * hop_length + np.arange(n_fft)[None, :]).reshape(-1)
    lead = tuple(frames.shape[:-2])
    signal = zeros(*lead, total, dtype=frames.dtype).index_add(
        -1, Tensor._wrap(positions), frames.reshape(*lead, n_frames * n_fft))
    w_squared = np.abs(w.detach().numpy()) ** 2
    envelope = np.zeros(total, w_squared.dtype)
    np.add.at(envelope, positions, np.tile(w_squared, n_frames))
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
