"""Waveform and spectrogram effects: companding, emphasis, gain, fades, noise, deltas, masking,
pitch shifting (torchaudio's definitions)."""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor

from .resample import resample
from .spectral import istft, pad_last, phase_vocoder, stft
from .windows import hann_window


def mu_law_encoding(x: Tensor, quantization_channels: int) -> Tensor:
    """``round((sign(x) log1p(mu |x|) / log1p(mu) + 1) / 2 * mu)`` as int64, ``mu = channels - 1``; ``x`` in [-1, 1].

    Example:
        >>> mu_law_encoding(ember.tensor([-1.0, 0.0, 1.0]), 256)
        tensor([  0, 128, 255])
    """
    mu = quantization_channels - 1.0
    data = np.asarray(x.numpy(force=True), dtype=np.float64) if not x.is_floating_point() else x.numpy(force=True)
    x_mu = np.sign(data) * np.log1p(mu * np.abs(data)) / math.log1p(mu)
    return ember.from_numpy(((x_mu + 1) / 2 * mu + 0.5).astype(np.int64))


def mu_law_decoding(x_mu: Tensor, quantization_channels: int) -> Tensor:
    """Inverse of :func:`mu_law_encoding`: codes in ``[0, channels - 1]`` -> signal in [-1, 1].

    Example:
        >>> mu_law_decoding(ember.tensor([0, 255]), 256)
        tensor([-1.,  1.])
    """
    mu = quantization_channels - 1.0
    x = x_mu if x_mu.is_floating_point() else x_mu.float()
    x = (x / mu) * 2 - 1.0
    return ember.sign(x) * (ember.exp(x.abs() * math.log1p(mu)) - 1.0) / mu


def preemphasis(waveform: Tensor, coeff: float = 0.97) -> Tensor:
    """``y[t] = x[t] - coeff * x[t - 1]`` (``y[0] = x[0]``) over the last dim.

    Example:
        >>> preemphasis(ember.tensor([1.0, 1.0, 1.0]), 0.5)
        tensor([1.0000, 0.5000, 0.5000])
    """
    return ember.cat([waveform[..., :1], waveform[..., 1:] - coeff * waveform[..., :-1]], dim=-1)


def gain(waveform: Tensor, gain_db: float = 1.0) -> Tensor:
    """Multiplies by ``10 ** (gain_db / 20)``."""
    if gain_db == 0:
        return waveform
    return waveform * (10.0 ** (gain_db / 20.0))


_FADE_SHAPES = ("linear", "exponential", "logarithmic", "quarter_sine", "half_sine")


def fade_curves(length: int, fade_in_len: int, fade_out_len: int, fade_shape: str = "linear") -> np.ndarray:
    """The gain curve of :class:`~ember.audio.transforms.Fade` (fade in times fade out), length ``length``."""
    if fade_shape not in _FADE_SHAPES:
        raise ValueError(f"fade_shape must be one of {_FADE_SHAPES}, got {fade_shape!r}")
    if fade_in_len > length or fade_out_len > length:
        raise ValueError(f"fade lengths ({fade_in_len}, {fade_out_len}) exceed the waveform length {length}")
    f = np.linspace(0, 1, fade_in_len)
    fade_in = {
        "linear": f, "exponential": np.power(2.0, (f - 1) * 5), "logarithmic": np.log10(0.1 + f) + 1,
        "quarter_sine": np.sin(f * math.pi / 2), "half_sine": np.sin(f * math.pi - math.pi / 2) / 2 + 0.5,
    }[fade_shape]
    f = np.linspace(0, 1, fade_out_len)
    fade_out = {
        "linear": 1 - f, "exponential": np.power(2.0, -f * 5), "logarithmic": np.log10(1.1 - f) + 1,
        "quarter_sine": np.sin(f * math.pi / 2 + math.pi / 2), "half_sine": np.sin(f * math.pi + math.pi / 2) / 2 + 0.5,
    }[fade_shape]
    curve_in = np.concatenate([fade_in, np.ones(length - fade_in_len)])
    curve_out = np.concatenate([np.ones(length - fade_out_len), fade_out])
    return np.clip(curve_in, 0, 1) * np.clip(curve_out, 0, 1)


def fade(waveform: Tensor, fade_in_len: int = 0, fade_out_len: int = 0, fade_shape: str = "linear") -> Tensor:
    """Fades the last dim in over ``fade_in_len`` and out over ``fade_out_len`` samples.

    Example:
        >>> fade(ember.ones(5), 3, 0)
        tensor([0.0000, 0.5000, 1.0000, 1.0000, 1.0000])
    """
    curve = fade_curves(waveform.shape[-1], fade_in_len, fade_out_len, fade_shape)
    return waveform * ember.from_numpy(curve.astype(waveform.numpy(force=True).dtype))


def add_noise(waveform: Tensor, noise: Tensor, snr: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Adds ``noise`` scaled so that the signal-to-noise ratio is ``snr`` dB (``torchaudio.functional.add_noise``).

    Args:
        waveform, noise: ``(..., L)``. snr: ``(...)`` in dB. lengths: valid lengths ``(...)`` (energy is
            measured on those samples only).

    Example:
        >>> x, n = ember.randn(2, 1000), ember.randn(2, 1000)
        >>> add_noise(x, n, ember.tensor([10.0, 20.0])).shape
        ember.Size([2, 1000])
    """
    snr = snr if isinstance(snr, Tensor) else ember.tensor(snr, dtype=waveform.dtype)
    if not (waveform.ndim - 1 == noise.ndim - 1 == snr.ndim and (lengths is None or lengths.ndim == snr.ndim)):
        raise ValueError(f"Input leading dimensions don't match: waveform {tuple(waveform.shape)}, noise "
                         f"{tuple(noise.shape)}, snr {tuple(snr.shape)}"
                         + ("" if lengths is None else f", lengths {tuple(lengths.shape)}"))
    if waveform.shape[-1] != noise.shape[-1]:
        raise ValueError(f"Length dimensions of waveform and noise don't match (got {waveform.shape[-1]} and "
                         f"{noise.shape[-1]}).")
    if lengths is not None:
        positions = np.arange(waveform.shape[-1])
        inside = positions < lengths.numpy(force=True)[..., None]
        mask = ember.from_numpy(inside.astype(waveform.numpy(force=True).dtype))
        signal_part, noise_part = waveform * mask, noise * mask
    else:
        signal_part, noise_part = waveform, noise
    energy_signal = (signal_part * signal_part).sum(-1)
    energy_noise = (noise_part * noise_part).sum(-1)
    original_snr_db = 10 * (ember.log10(energy_signal) - ember.log10(energy_noise))
    scale = ember.exp((original_snr_db - snr) * (math.log(10.0) / 20.0))
    return waveform + scale.unsqueeze(-1) * noise


def deemphasis(waveform: Tensor, coeff: float = 0.97) -> Tensor:
    """Inverse of :func:`preemphasis`: ``y[t] = x[t] + coeff * y[t - 1]``, output clamped to [-1, 1]
    (torchaudio's, an :func:`~ember.audio.functional.lfilter`; differentiable).

    Example:
        >>> deemphasis(ember.tensor([1.0, 0.0, 0.0]), 0.5)
        tensor([1.0000, 0.5000, 0.2500])
    """
    from .filtering import lfilter

    a = ember.tensor([1.0, -coeff], dtype=waveform.dtype)
    b = ember.tensor([1.0, 0.0], dtype=waveform.dtype)
    return lfilter(waveform, a, b)


def speed(waveform: Tensor, orig_freq: int, factor: float,
          lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """Speeds up (``factor > 1``) or slows down audio by resampling from ``int(factor * orig_freq)`` to
    ``orig_freq`` (pitch changes with speed, as sox's ``speed``).

    Returns:
        ``(waveform, lengths)``: the new waveform ``(..., ceil-ish L / factor)`` and, if ``lengths`` was given,
        the new valid lengths ``ceil(lengths / factor)`` (in the reduced ratio), else None.

    Example:
        >>> speed(ember.randn(1, 16000), 16000, 1.1)[0].shape
        ember.Size([1, 14546])
    """
    source = int(factor * orig_freq)
    target = int(orig_freq)
    gcd = math.gcd(source, target)
    source, target = source // gcd, target // gcd
    out_lengths = None
    if lengths is not None:
        new = np.ceil(lengths.numpy(force=True) * target / source)
        out_lengths = ember.from_numpy(new.astype(lengths.numpy(force=True).dtype))
    return resample(waveform, source, target), out_lengths


def compute_deltas(specgram: Tensor, win_length: int = 5, mode: str = "replicate") -> Tensor:
    """Delta coefficients over the last (time) dim:
    ``d_t = sum_{n=1}^{N} n (c_{t+n} - c_{t-n}) / (2 sum_{n=1}^{N} n^2)``, ``N = (win_length - 1) // 2``.

    Example:
        >>> compute_deltas(ember.arange(6.0)[None])
        tensor([[0.5000, 0.8000, 1.0000, 1.0000, 0.8000, 0.5000]])
    """
    if win_length < 3:
        raise ValueError(f"Window length should be greater than or equal to 3. Found win_length {win_length}")
    n = (win_length - 1) // 2
    denom = n * (n + 1) * (2 * n + 1) / 3
    length = specgram.shape[-1]
    padded = pad_last(specgram, n, n, mode)
    out = None
    for k in range(1, n + 1):
        term = (padded[..., n + k : n + k + length] - padded[..., n - k : n - k + length]) * k
        out = term if out is None else out + term
    return out / denom


def _mask_param(mask_param: int, p: float, axis_length: int) -> int:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"The value of p must be between 0.0 and 1.0 ({p} given).")
    return mask_param if p == 1.0 else min(mask_param, int(axis_length * p))


def _rng(generator):
    return (generator if generator is not None else ember.default_generator).np


def mask_along_axis_iid(specgrams: Tensor, mask_param: int, mask_value: float, axis: int, p: float = 1.0,
                        generator: ember.Generator | None = None) -> Tensor:
    """Masks ``[v0, v0 + v)`` along ``axis`` (one of the last two), drawn independently for every leading
    index: ``v ~ U(0, mask_param)``, ``v0 ~ U(0, size - v)`` (``specgrams`` has >= 3 dims).

    Example:
        >>> mask_along_axis_iid(ember.ones(2, 1, 8, 10), 4, 0.0, axis=3).shape
        ember.Size([2, 1, 8, 10])
    """
    dim = specgrams.ndim
    if dim < 3:
        raise ValueError(f"Spectrogram must have at least three dimensions ({dim} given).")
    axis = axis + dim if axis < 0 else axis
    if axis not in (dim - 2, dim - 1):
        raise ValueError(f"Only Frequency and Time masking are supported (axis {dim - 2} and axis {dim - 1} "
                         f"supported; {axis} given).")
    size = specgrams.shape[axis]
    mask_param = _mask_param(mask_param, p, size)
    if mask_param < 1:
        return specgrams
    rng = _rng(generator)
    lead = tuple(specgrams.shape[: dim - 2])
    value = rng.random(lead) * mask_param
    min_value = rng.random(lead) * (size - value)
    start = min_value.astype(np.int64)[..., None]
    end = start + value.astype(np.int64)[..., None]
    positions = np.arange(size)
    mask = (positions >= start) & (positions < end)  # (..., size)
    mask = mask[..., :, None] if axis == dim - 2 else mask[..., None, :]
    return specgrams.masked_fill(ember.from_numpy(mask), mask_value)


def mask_along_axis(specgram: Tensor, mask_param: int, mask_value: float, axis: int, p: float = 1.0,
                    generator: ember.Generator | None = None) -> Tensor:
    """Like :func:`mask_along_axis_iid` but with one mask interval shared by every leading index.

    Example:
        >>> mask_along_axis(ember.ones(8, 10), 4, 0.0, axis=1).shape
        ember.Size([8, 10])
    """
    dim = specgram.ndim
    if dim < 2:
        raise ValueError(f"Spectrogram must have at least two dimensions (time and frequency) ({dim} given).")
    axis = axis + dim if axis < 0 else axis
    if axis not in (dim - 2, dim - 1):
        raise ValueError(f"Only Frequency and Time masking are supported (axis {dim - 2} and axis {dim - 1} "
                         f"supported; {axis} given).")
    size = specgram.shape[axis]
    mask_param = _mask_param(mask_param, p, size)
    if mask_param < 1:
        return specgram
    rng = _rng(generator)
    value = rng.random() * mask_param
    min_value = rng.random() * (size - value)
    start = int(min_value)
    end = start + int(value)
    mask = (np.arange(size) >= start) & (np.arange(size) < end)
    mask = mask[:, None] if axis == dim - 2 else mask[None, :]
    return specgram.masked_fill(ember.from_numpy(mask), mask_value)


def pitch_shift(waveform: Tensor, sample_rate: int, n_steps: float, bins_per_octave: int = 12, n_fft: int = 512,
                win_length: int | None = None, hop_length: int | None = None, window: Tensor | None = None) -> Tensor:
    """Shifts the pitch by ``n_steps`` (of ``bins_per_octave`` per octave) keeping the duration: phase-vocoder
    time stretch by ``rate = 2 ** (-n_steps / bins_per_octave)``, then resampling from
    ``int(sample_rate / rate)`` to ``sample_rate`` (torchaudio's method). Not differentiable.

    Example:
        >>> pitch_shift(ember.randn(4000), 16000, 2).shape
        ember.Size([4000])
    """
    hop_length = hop_length if hop_length is not None else n_fft // 4
    win_length = win_length if win_length is not None else n_fft
    window = window if window is not None else hann_window(win_length, dtype=waveform.dtype)
    length = waveform.shape[-1]
    rate = 2.0 ** (-float(n_steps) / bins_per_octave)
    with ember.no_grad():
        spec = stft(waveform, n_fft, hop_length, win_length, window)
        advance = np.linspace(0, math.pi * hop_length, spec.shape[-3])[:, None]
        stretched = phase_vocoder(spec, rate, advance)
        waveform_stretch = istft(stretched, n_fft, hop_length, win_length, window,
                                 length=round(length / rate))
        shifted = resample(waveform_stretch, int(sample_rate / rate), sample_rate)
        if shifted.shape[-1] > length:
            return shifted[..., :length]
        return pad_last(shifted, 0, length - shifted.shape[-1])
