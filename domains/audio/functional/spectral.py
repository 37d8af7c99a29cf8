"""Short-time Fourier transforms and spectrograms (torchaudio's ``functional`` forms).

Complex spectra are complex tensors, as in torch: ``stft(..., return_complex=True)`` and
``spectrogram(power=None)`` return ``(..., freq, time)`` complex64/128. ``stft`` without
``return_complex`` (or with ``False``) keeps the real layout of ``torch.view_as_real``,
``(..., freq, time, 2)`` = (real, imaginary); ``istft``, ``inverse_spectrogram`` and ``phase_vocoder``
take either. The transform itself is ``ember.stft`` / ``ember.istft``; these add batching over any
leading dimensions and that real layout. Everything is differentiable.
"""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor

from . import _ops
from .windows import hann_window


def _as_float_tensor(x) -> Tensor:
    if not isinstance(x, Tensor):
        x = ember.as_tensor(np.asarray(x, dtype=np.float32))
    if not x.is_floating_point():
        raise TypeError(f"expected a floating point waveform/spectrogram, got dtype {x.dtype}")
    return x


def pad_last(x: Tensor, left: int, right: int, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pads the last dimension, differentiably. ``mode``: constant, reflect, replicate or circular.

    Example:
        >>> pad_last(ember.tensor([1.0, 2.0, 3.0]), 2, 1, "reflect")
        tensor([3., 2., 1., 2., 3., 2.])
    """
    if left == 0 and right == 0:
        return x
    length = x.shape[-1]
    lead = tuple(x.shape[:-1])
    if mode == "constant":
        parts = [ember.from_numpy(np.full(lead + (left,), value, dtype=x.numpy(force=True).dtype)), x,
                 ember.from_numpy(np.full(lead + (right,), value, dtype=x.numpy(force=True).dtype))]
    elif mode == "reflect":
        if left >= length or right >= length:
            raise ValueError(
                f"reflect padding ({left}, {right}) must be smaller than the input's last dimension ({length})"
            )
        parts = [x[..., 1 : left + 1].flip(-1), x, x[..., length - right - 1 : length - 1].flip(-1)]
    elif mode == "replicate":
        parts = [x[..., :1].expand(*lead, left), x, x[..., -1:].expand(*lead, right)]
    elif mode == "circular":
        parts = [x[..., length - left :], x, x[..., :right]]
    else:
        raise ValueError(f"unknown padding mode {mode!r}; expected constant, reflect, replicate or circular")
    return ember.cat([p for p in parts if p.shape[-1] > 0], dim=-1)


def _batched(transform, x: Tensor, batch_ndim: int, *args, **kwargs) -> Tensor:
    """``transform`` (which takes at most one batch dimension) over all of ``x``'s leading dimensions."""
    if x.ndim <= batch_ndim + 1:
        return transform(x, *args, **kwargs)
    lead = tuple(x.shape[: x.ndim - batch_ndim])
    out = transform(x.reshape(-1, *x.shape[x.ndim - batch_ndim :]), *args, **kwargs)
    return out.reshape(*lead, *out.shape[1:])


def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: bool | None = None, return_complex: bool | None = None) -> Tensor:
    """Short-time Fourier transform: ``ember.stft`` over any leading dimensions.

    Frames ``t`` start at ``t * hop_length`` of the (centre-padded, if ``center``) signal, are multiplied by
    ``window`` (zero-padded to ``n_fft`` around its centre; a rectangular window if None), and are
    transformed by the DFT ``X[k] = sum_j x[j] exp(-2 pi i j k / n_fft)``. ``normalized`` multiplies by
    ``n_fft ** -0.5``. Errors are ``ember.stft``'s (torch's).

    Args:
        input: waveform ``(..., time)``.
        n_fft: DFT size. hop_length: default ``n_fft // 4``. win_length: default ``n_fft``.
        return_complex: True for a complex tensor ``(..., freq, frames)``; otherwise the real layout
            ``(..., freq, frames, 2)`` (last dim = real, imag). That is what torch gives for
            ``return_complex=False``; for None torch raises, and Ember keeps its older default, the real layout.

    Returns:
        ``freq = n_fft // 2 + 1`` when onesided (the default), else ``n_fft``.

    Example:
        >>> x = ember.randn(2, 1000)
        >>> stft(x, 256, window=hann_window(256), return_complex=True).shape
        ember.Size([2, 129, 16])
        >>> stft(x, 256, window=hann_window(256)).shape
        ember.Size([2, 129, 16, 2])
    """
    x = _as_float_tensor(input)
    if window is not None and window.dtype != x.dtype:
        window = window.to(x.dtype)
    spec = _batched(ember.stft, x, 1, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                    onesided, return_complex=True)
    return spec if return_complex else ember.view_as_real(spec)


def _as_complex(spec) -> Tensor:
    """A spectrum in the real ``(..., freq, frames, 2)`` layout as a complex tensor; a complex one as it is."""
    if isinstance(spec, Tensor) and spec.is_complex():
        return spec
    spec = _as_float_tensor(spec)
    if spec.ndim < 3 or spec.shape[-1] != 2:
        raise ValueError(f"expected a complex (..., freq, frames) spectrum or the real layout (..., freq, frames, "
                         f"2) (real, imag), got shape {tuple(spec.shape)}")
    return ember.view_as_complex(spec.contiguous())


def istft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
          window: Tensor | None = None, center: bool = True, normalized: bool = False,
          onesided: bool | None = None, length: int | None = None, return_complex: bool = False) -> Tensor:
    """Inverse of :func:`stft` by weighted overlap-add: ``ember.istft`` over any leading dimensions, also
    taking the real layout.

    Args:
        input: a complex ``(..., freq, frames)`` spectrum, or the real layout ``(..., freq, frames, 2)``.
        length: trim or zero-pad the output to this many samples.
        return_complex: whether the output is complex (needs a two-sided spectrum, ``onesided=False``).

    Example:
        >>> x = ember.randn(1000)
        >>> w = hann_window(256)
        >>> y = istft(stft(x, 256, 64, window=w), 256, 64, window=w, length=1000)
        >>> bool((y - x).abs().max() < 1e-4)
        True
    """
    spec = _as_complex(input)
    if window is not None and not window.is_complex() and window.dtype != spec.real.dtype:
        window = window.to(spec.real.dtype)
    return _batched(ember.istft, spec, 2, n_fft, hop_length, win_length, window, center, normalized, onesided,
                    length, return_complex)


def _spec_norms(normalized) -> tuple[bool, bool]:
    if isinstance(normalized, str):
        if normalized not in ("frame_length", "window"):
            raise ValueError(f"invalid normalized={normalized!r}; expected True/False, 'window' or 'frame_length'")
        return normalized == "frame_length", normalized == "window"
    return False, bool(normalized)


def complex_norm(spec: Tensor, power: float = 1.0) -> Tensor:
    """``|z| ** power`` of a ``(..., 2)`` (real, imag) tensor."""
    squared = _ops.abs_squared(spec)
    if power == 2.0:
        return squared
    if power == 1.0:
        return squared.sqrt()
    return squared.pow(power / 2.0)


def spectrogram(waveform: Tensor, pad: int, window: Tensor, n_fft: int, hop_length: int, win_length: int,
                power: float | None, normalized: bool | str, center: bool = True, pad_mode: str = "reflect",
                onesided: bool = True, return_complex: bool | None = None) -> Tensor:
    """Spectrogram of a waveform (``torchaudio.functional.spectrogram``).

    ``normalized=True`` or ``"window"`` divides by the window's L2 norm; ``"frame_length"`` by
    ``sqrt(n_fft)``. ``return_complex`` is accepted for torchaudio compatibility and ignored (torchaudio
    deprecated it).

    Returns:
        ``(..., freq, time)`` = ``|STFT| ** power``; if ``power`` is None, the complex STFT (complex64 for a
        float32 waveform), as torchaudio returns it.

    Example:
        >>> w = hann_window(400)
        >>> spectrogram(ember.randn(1, 16000), 0, w, 400, 200, 400, 2.0, False).shape
        ember.Size([1, 201, 81])
    """
    x = _as_float_tensor(waveform)
    if pad > 0:
        x = pad_last(x, pad, pad, "constant")
    frame_length_norm, window_norm = _spec_norms(normalized)
    spec = stft(x, n_fft, hop_length, win_length, window, center, pad_mode, frame_length_norm, onesided,
                return_complex=True)
    if window_norm:
        spec = spec / (window * window).sum().sqrt()
    return spec if power is None else complex_norm(ember.view_as_real(spec), power)


def inverse_spectrogram(spectrogram: Tensor, length: int | None, pad: int, window: Tensor, n_fft: int,
                        hop_length: int, win_length: int, normalized: bool | str, center: bool = True,
                        pad_mode: str = "reflect", onesided: bool = True) -> Tensor:
    """Waveform from a complex spectrogram ``(..., freq, time)`` (``torchaudio.functional.inverse_spectrogram``);
    the real layout ``(..., freq, time, 2)`` is accepted too.

    Example:
        >>> w = hann_window(400)
        >>> x = ember.randn(1, 4000)
        >>> spec = spectrogram(x, 0, w, 400, 200, 400, None, False)
        >>> y = inverse_spectrogram(spec, 4000, 0, w, 400, 200, 400, False)
        >>> bool((y - x).abs().max() < 1e-4)
        True
    """
    frame_length_norm, window_norm = _spec_norms(normalized)
    spec = _as_complex(spectrogram)
    if window_norm:
        spec = spec * (window * window).sum().sqrt()
    y = istft(spec, n_fft, hop_length, win_length, window, center, frame_length_norm, onesided,
              length + 2 * pad if length is not None else None)
    if length is not None and pad > 0:
        y = y[..., pad:-pad]
    return y


def griffinlim(specgram: Tensor, window: Tensor, n_fft: int, hop_length: int, win_length: int, power: float,
               n_iter: int, momentum: float, length: int | None, rand_init: bool,
               generator: ember.Generator | None = None) -> Tensor:
    """Waveform from a magnitude/power spectrogram ``(..., freq, time)`` by (fast) Griffin-Lim
    (``torchaudio.functional.griffinlim``). Random initial phases come from ``generator`` (default: Ember's
    default generator). Runs on arrays (not differentiable).

    Example:
        >>> w = hann_window(256)
        >>> spec = spectrogram(ember.randn(2000), 0, w, 256, 64, 256, 2.0, False)
        >>> griffinlim(spec, w, 256, 64, 256, 2.0, 8, 0.99, 2000, True).shape
        ember.Size([2000])
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in range [0, 1), got {momentum}")
    momentum = momentum / (1 + momentum)
    spec = _as_float_tensor(specgram).detach()
    magnitude = ember.from_numpy(np.power(spec.numpy(force=True), 1.0 / power))[..., None]
    gen = generator if generator is not None else ember.default_generator
    if rand_init:
        # torch.rand with a complex dtype draws real and imaginary parts uniformly in [0, 1)
        angles = gen.np.random(magnitude.shape[:-1] + (2,)).astype(spec.numpy(force=True).dtype)
    else:
        angles = np.zeros(magnitude.shape[:-1] + (2,), dtype=spec.numpy(force=True).dtype)
        angles[..., 0] = 1.0
    tprev = 0.0
    with ember.no_grad():
        for _ in range(n_iter):
            inverse = istft(magnitude * ember.from_numpy(angles), n_fft, hop_length, win_length, window, length=length)
            rebuilt = stft(inverse, n_fft, hop_length, win_length, window).numpy(force=True)
            angles = rebuilt - tprev * momentum if momentum else rebuilt
            angles = angles / (np.sqrt((angles * angles).sum(-1, keepdims=True)) + 1e-16)
            tprev = rebuilt
        angles = angles.astype(spec.numpy(force=True).dtype)
        return istft(magnitude * ember.from_numpy(angles), n_fft, hop_length, win_length,
                     window, length=length)


def phase_vocoder(complex_specgrams: Tensor, rate: float, phase_advance: Tensor) -> Tensor:
    """Speeds a complex spectrogram ``(..., freq, time)`` up by ``rate`` without changing pitch
    (``torchaudio.functional.phase_vocoder``); output has ``ceil(time / rate)`` frames. A spectrogram in
    the real layout ``(..., freq, time, 2)`` gives one in that layout. Runs on arrays (not differentiable).

    Example:
        >>> spec = ember.randn(201, 30, dtype=ember.complex64)
        >>> phase_vocoder(spec, 1.5, ember.linspace(0, math.pi * 100, 201)[:, None]).shape
        ember.Size([201, 20])
    """
    if rate == 1.0:
        return complex_specgrams
    data = complex_specgrams.numpy(force=True)
    is_complex = np.iscomplexobj(data)
    z = data if is_complex else data[..., 0] + 1j * data[..., 1]
    real_dtype = data.real.dtype
    advance = np.asarray(phase_advance.numpy(force=True) if isinstance(phase_advance, Tensor) else phase_advance)
    time_steps = np.arange(0, z.shape[-1], rate, dtype=real_dtype)
    alphas = time_steps % 1.0
    phase_0 = np.angle(z[..., :1])
    z = np.concatenate([z, np.zeros(z.shape[:-1] + (2,), dtype=z.dtype)], axis=-1)
    idx = time_steps.astype(np.int64)
    z0, z1 = z[..., idx], z[..., idx + 1]
    phase = np.angle(z1) - np.angle(z0) - advance
    phase = phase - 2 * math.pi * np.round(phase / (2 * math.pi))
    phase = phase + advance
    phase = np.concatenate([phase_0, phase[..., :-1]], axis=-1)
    phase_acc = np.cumsum(phase, -1)
    mag = alphas * np.abs(z1) + (1 - alphas) * np.abs(z0)
    out = np.stack([mag * np.cos(phase_acc), mag * np.sin(phase_acc)], axis=-1).astype(real_dtype)
    if is_complex:
        return ember.from_numpy(np.ascontiguousarray(out).view(data.dtype)[..., 0])
    return ember.from_numpy(out)


__all__ = ["complex_norm", "griffinlim", "hann_window", "inverse_spectrogram", "istft", "pad_last",
           "phase_vocoder", "spectrogram", "stft"]
