"""Spectral transforms as modules (``torchaudio.transforms``' names, arguments and defaults)."""

from __future__ import annotations

import math
from collections.abc import Callable

import ember
from ember import Tensor
from ember.nn import Module

from .. import functional as F


def _matching(t: Tensor, like: Tensor) -> Tensor:
    return t if t.dtype == like.dtype else t.to(dtype=like.dtype)


def _apply_fb(spec: Tensor, fb: Tensor) -> Tensor:
    """``(..., freq, time)`` x ``(freq, n)`` -> ``(..., n, time)``."""
    return (spec.transpose(-1, -2) @ _matching(fb, spec)).transpose(-1, -2)


class Spectrogram(Module):
    """Spectrogram ``|STFT(x)| ** power`` of a waveform ``(..., time)`` -> ``(..., freq, time)``.

    Defaults are torchaudio's: ``n_fft=400``, ``win_length=n_fft``, ``hop_length=win_length // 2``, a periodic
    Hann window, ``power=2.0``, ``normalized=False``, ``center=True`` with reflect padding, one-sided.
    With ``power=None`` the complex STFT is returned as a complex tensor ``(..., freq, time)``, as torchaudio.

    Example:
        >>> Spectrogram()(ember.randn(2, 16000)).shape
        ember.Size([2, 201, 81])
    """

    def __init__(self, n_fft: int = 400, win_length: int | None = None, hop_length: int | None = None, pad: int = 0,
                 window_fn: Callable[..., Tensor] = F.hann_window, power: float | None = 2.0,
                 normalized: bool | str = False, wkwargs: dict | None = None, center: bool = True,
                 pad_mode: str = "reflect", onesided: bool = True, return_complex: bool | None = None) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))
        self.pad, self.power, self.normalized = pad, power, normalized
        self.center, self.pad_mode, self.onesided = center, pad_mode, onesided

    def forward(self, waveform: Tensor) -> Tensor:
        return F.spectrogram(waveform, self.pad, self.window, self.n_fft, self.hop_length, self.win_length,
                             self.power, self.normalized, self.center, self.pad_mode, self.onesided)

    def extra_repr(self) -> str:
        return f"n_fft={self.n_fft}, hop_length={self.hop_length}, power={self.power}"


class InverseSpectrogram(Module):
    """Waveform from a complex spectrogram ``(..., freq, time)`` (or its real layout ``(..., freq, time, 2)``,
    last dim = real, imag): inverse DFT,
    windowed overlap-add, division by the summed squared window. Inverts :class:`Spectrogram` with
    ``power=None`` and the same settings.

    Example:
        >>> x = ember.randn(1, 8000)
        >>> y = InverseSpectrogram()(Spectrogram(power=None)(x), length=8000)
        >>> bool((y - x).abs().max() < 1e-4)
        True
    """

    def __init__(self, n_fft: int = 400, win_length: int | None = None, hop_length: int | None = None, pad: int = 0,
                 window_fn: Callable[..., Tensor] = F.hann_window, normalized: bool | str = False,
                 wkwargs: dict | None = None, center: bool = True, pad_mode: str = "reflect",
                 onesided: bool = True) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))
        self.pad, self.normalized, self.center, self.pad_mode, self.onesided = pad, normalized, center, pad_mode, onesided

    def forward(self, spectrogram: Tensor, length: int | None = None) -> Tensor:
        return F.inverse_spectrogram(spectrogram, length, self.pad, self.window, self.n_fft, self.hop_length,
                                     self.win_length, self.normalized, self.center, self.pad_mode, self.onesided)


class GriffinLim(Module):
    """Waveform from a magnitude (``power``-th power) spectrogram ``(..., freq, time)`` by fast Griffin-Lim
    (``n_iter=32``, ``momentum=0.99``, random initial phase from Ember's default generator).

    Example:
        >>> spec = Spectrogram(n_fft=256)(ember.randn(2000))
        >>> GriffinLim(n_fft=256, n_iter=4, length=2000)(spec).shape
        ember.Size([2000])
    """

    def __init__(self, n_fft: int = 400, n_iter: int = 32, win_length: int | None = None,
                 hop_length: int | None = None, window_fn: Callable[..., Tensor] = F.hann_window, power: float = 2.0,
                 wkwargs: dict | None = None, momentum: float = 0.99, length: int | None = None,
                 rand_init: bool = True) -> None:
        super().__init__()
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in the range [0, 1), got {momentum}")
        self.n_fft, self.n_iter = n_fft, n_iter
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))
        self.power, self.momentum, self.length, self.rand_init = power, momentum, length, rand_init

    def forward(self, specgram: Tensor) -> Tensor:
        return F.griffinlim(specgram, self.window, self.n_fft, self.hop_length, self.win_length, self.power,
                            self.n_iter, self.momentum, self.length, self.rand_init)


class MelScale(Module):
    """Maps a linear-frequency spectrogram ``(..., n_stft, time)`` to ``(..., n_mels, time)`` with
    :func:`~ember.audio.functional.melscale_fbanks` (``mel_scale`` "htk"/"slaney", ``norm`` None/"slaney").

    Example:
        >>> MelScale(n_mels=40, n_stft=201)(ember.rand(201, 10)).shape
        ember.Size([40, 10])
    """

    def __init__(self, n_mels: int = 128, sample_rate: int = 16000, f_min: float = 0.0, f_max: float | None = None,
                 n_stft: int = 201, norm: str | None = None, mel_scale: str = "htk") -> None:
        super().__init__()
        self.n_mels, self.sample_rate = n_mels, sample_rate
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min, self.norm, self.mel_scale = f_min, norm, mel_scale
        if f_min > self.f_max:
            raise ValueError(f"Require f_min: {f_min} <= f_max: {self.f_max}")
        self.register_buffer("fb", F.melscale_fbanks(n_stft, f_min, self.f_max, n_mels, sample_rate, norm, mel_scale))

    def forward(self, specgram: Tensor) -> Tensor:
        return _apply_fb(specgram, self.fb)


class InverseMelScale(Module):
    """Estimates a linear-frequency spectrogram ``(..., n_stft, time)`` from a mel one ``(..., n_mels, time)`` by
    least squares against the mel filterbank, clamped at zero (torchaudio's method). Not differentiable.

    Example:
        >>> InverseMelScale(n_stft=201, n_mels=40)(ember.rand(40, 10)).shape
        ember.Size([201, 10])
    """

    def __init__(self, n_stft: int, n_mels: int = 128, sample_rate: int = 16000, f_min: float = 0.0,
                 f_max: float | None = None, norm: str | None = None, mel_scale: str = "htk",
                 driver: str = "gels") -> None:
        super().__init__()
        self.n_mels, self.sample_rate, self.driver = n_mels, sample_rate, driver
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min = f_min
        if f_min > self.f_max:
            raise ValueError(f"Require f_min: {f_min} <= f_max: {self.f_max}")
        self.register_buffer("fb", F.melscale_fbanks(n_stft, f_min, self.f_max, n_mels, sample_rate, norm, mel_scale))

    def forward(self, melspec: Tensor) -> Tensor:
        import numpy as np

        if melspec.shape[-2] != self.n_mels:
            raise ValueError(f"expected {self.n_mels} mel bins in dim -2, got shape {tuple(melspec.shape)}")
        data = melspec.numpy(force=True)
        lead, frames = data.shape[:-2], data.shape[-1]
        columns = np.moveaxis(data.reshape(-1, self.n_mels, frames), 0, 1).reshape(self.n_mels, -1)
        solution = np.linalg.lstsq(self.fb.numpy(force=True).T.astype(np.float64), columns.astype(np.float64), rcond=None)[0]
        n_stft = self.fb.shape[0]
        out = np.moveaxis(np.maximum(solution, 0.0).reshape(n_stft, -1, frames), 1, 0).reshape(*lead, n_stft, frames)
        return ember.from_numpy(out.astype(data.dtype))


class MelSpectrogram(Module):
    """Mel spectrogram: :class:`Spectrogram` followed by :class:`MelScale` (torchaudio's defaults:
    ``sample_rate=16000``, ``n_fft=400``, ``n_mels=128``, ``power=2.0``, ``mel_scale="htk"``, ``norm=None``).

    Example:
        >>> MelSpectrogram(n_mels=64)(ember.randn(16000)).shape
        ember.Size([64, 81])
    """

    def __init__(self, sample_rate: int = 16000, n_fft: int = 400, win_length: int | None = None,
                 hop_length: int | None = None, f_min: float = 0.0, f_max: float | None = None, pad: int = 0,
                 n_mels: int = 128, window_fn: Callable[..., Tensor] = F.hann_window, power: float = 2.0,
                 normalized: bool | str = False, wkwargs: dict | None = None, center: bool = True,
                 pad_mode: str = "reflect", onesided: bool | None = None, norm: str | None = None,
                 mel_scale: str = "htk") -> None:
        super().__init__()
        self.sample_rate, self.n_fft, self.n_mels = sample_rate, n_fft, n_mels
        self.spectrogram = Spectrogram(n_fft=n_fft, win_length=win_length, hop_length=hop_length, pad=pad,
                                       window_fn=window_fn, power=power, normalized=normalized, wkwargs=wkwargs,
                                       center=center, pad_mode=pad_mode, onesided=True if onesided is None else onesided)
        self.win_length, self.hop_length = self.spectrogram.win_length, self.spectrogram.hop_length
        self.mel_scale = MelScale(n_mels, sample_rate, f_min, f_max, n_fft // 2 + 1, norm, mel_scale)

    def forward(self, waveform: Tensor) -> Tensor:
        return self.mel_scale(self.spectrogram(waveform))


class AmplitudeToDB(Module):
    """Power (``stype="power"``, 10 log10) or magnitude (``"magnitude"``, 20 log10) to decibels, clamped at
    ``amin=1e-10``, reference 1.0, optionally floored at ``max - top_db``.

    Example:
        >>> AmplitudeToDB()(ember.tensor([[1.0, 0.01]]))
        tensor([[  0., -20.]])
    """

    def __init__(self, stype: str = "power", top_db: float | None = None) -> None:
        super().__init__()
        if stype not in ("power", "magnitude"):
            raise ValueError(f"stype must be 'power' or 'magnitude', got {stype!r}")
        if top_db is not None and top_db < 0:
            raise ValueError("top_db must be positive value")
        self.stype, self.top_db = stype, top_db
        self.multiplier = 10.0 if stype == "power" else 20.0
        self.amin = 1e-10
        self.ref_value = 1.0
        self.db_multiplier = math.log10(max(self.amin, self.ref_value))

    def forward(self, x: Tensor) -> Tensor:
        return F.amplitude_to_DB(x, self.multiplier, self.amin, self.db_multiplier, self.top_db)


class MFCC(Module):
    """Mel-frequency cepstral coefficients ``(..., n_mfcc, time)``: mel spectrogram, then dB
    (``AmplitudeToDB("power", top_db=80)``) or ``log(mel + 1e-6)`` if ``log_mels``, then DCT-II
    (``norm="ortho"``) over the mel axis.

    Example:
        >>> MFCC(n_mfcc=13, melkwargs={"n_mels": 40})(ember.randn(16000)).shape
        ember.Size([13, 81])
    """

    def __init__(self, sample_rate: int = 16000, n_mfcc: int = 40, dct_type: int = 2, norm: str | None = "ortho",
                 log_mels: bool = False, melkwargs: dict | None = None) -> None:
        super().__init__()
        if dct_type != 2:
            raise ValueError(f"DCT type {dct_type} is not supported (only 2)")
        self.sample_rate, self.n_mfcc, self.dct_type, self.norm, self.log_mels = (
            sample_rate, n_mfcc, dct_type, norm, log_mels)
        self.top_db = 80.0
        self.amplitude_to_DB = AmplitudeToDB("power", self.top_db)
        self.MelSpectrogram = MelSpectrogram(sample_rate=sample_rate, **(melkwargs or {}))
        if n_mfcc > self.MelSpectrogram.n_mels:
            raise ValueError(f"Cannot select more MFCC coefficients ({n_mfcc}) than mel bins "
                             f"({self.MelSpectrogram.n_mels})")
        self.register_buffer("dct_mat", F.create_dct(n_mfcc, self.MelSpectrogram.n_mels, norm))

    def forward(self, waveform: Tensor) -> Tensor:
        mel = self.MelSpectrogram(waveform)
        mel = (mel + 1e-6).log() if self.log_mels else self.amplitude_to_DB(mel)
        return _apply_fb(mel, self.dct_mat)


class LFCC(Module):
    """Linear-frequency cepstral coefficients ``(..., n_lfcc, time)``: spectrogram, linear triangular
    filterbank (``n_filter``), dB or ``log(x + 1e-6)`` if ``log_lf``, DCT-II.

    Example:
        >>> LFCC(n_filter=40, n_lfcc=20)(ember.randn(16000)).shape
        ember.Size([20, 81])
    """

    def __init__(self, sample_rate: int = 16000, n_filter: int = 128, f_min: float = 0.0, f_max: float | None = None,
                 n_lfcc: int = 40, dct_type: int = 2, norm: str | None = "ortho", log_lf: bool = False,
                 speckwargs: dict | None = None) -> None:
        super().__init__()
        if dct_type != 2:
            raise ValueError(f"DCT type {dct_type} is not supported (only 2)")
        self.sample_rate, self.n_filter, self.n_lfcc, self.log_lf = sample_rate, n_filter, n_lfcc, log_lf
        self.f_min = f_min
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.Spectrogram = Spectrogram(**(speckwargs or {}))
        if n_lfcc > self.Spectrogram.n_fft:  # (torchaudio's bound: more coefficients than filters is allowed)
            raise ValueError(f"Cannot select more LFCC coefficients ({n_lfcc}) than fft bins "
                             f"({self.Spectrogram.n_fft})")
        self.top_db = 80.0
        self.amplitude_to_DB = AmplitudeToDB("power", self.top_db)
        n_freqs = self.Spectrogram.n_fft // 2 + 1
        self.register_buffer("filter_mat", F.linear_fbanks(n_freqs, f_min, self.f_max, n_filter, sample_rate))
        self.register_buffer("dct_mat", F.create_dct(n_lfcc, n_filter, norm))

    def forward(self, waveform: Tensor) -> Tensor:
        spec = _apply_fb(self.Spectrogram(waveform), self.filter_mat)
        spec = (spec + 1e-6).log() if self.log_lf else self.amplitude_to_DB(spec)
        return _apply_fb(spec, self.dct_mat)


class TimeStretch(Module):
    """Phase-vocoder time stretch of a complex spectrogram ``(..., freq, time)`` by ``rate`` (> 1 faster);
    output has ``ceil(time / rate)`` frames. ``hop_length`` defaults to ``n_fft // 2`` with
    ``n_fft = 2 (n_freq - 1)``.

    Example:
        >>> spec = Spectrogram(power=None)(ember.randn(16000))
        >>> TimeStretch(fixed_rate=2.0)(spec).shape
        ember.Size([201, 41])
    """

    def __init__(self, hop_length: int | None = None, n_freq: int = 201, fixed_rate: float | None = None) -> None:
        super().__init__()
        self.fixed_rate = fixed_rate
        n_fft = (n_freq - 1) * 2
        hop_length = hop_length if hop_length is not None else n_fft // 2
        self.register_buffer("phase_advance", ember.linspace(0, math.pi * hop_length, n_freq)[:, None])

    def forward(self, complex_specgrams: Tensor, overriding_rate: float | None = None) -> Tensor:
        rate = overriding_rate if overriding_rate is not None else self.fixed_rate
        if rate is None:
            raise ValueError("If no fixed_rate is specified, must pass a valid rate to the forward method.")
        return F.phase_vocoder(complex_specgrams, rate, self.phase_advance)


class ComputeDeltas(Module):
    """Delta coefficients of a spectrogram over time (see :func:`~ember.audio.functional.compute_deltas`).

    Example:
        >>> ComputeDeltas()(ember.randn(40, 100)).shape
        ember.Size([40, 100])
    """

    def __init__(self, win_length: int = 5, mode: str = "replicate") -> None:
        super().__init__()
        self.win_length, self.mode = win_length, mode

    def forward(self, specgram: Tensor) -> Tensor:
        return F.compute_deltas(specgram, self.win_length, self.mode)
