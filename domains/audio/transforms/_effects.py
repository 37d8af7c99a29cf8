"""Filtering, convolution, speed and measurement transforms (``torchaudio.transforms``' names and arguments)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import ember
from ember import Tensor
from ember.nn import Module, ModuleList

from .. import functional as F
from ..functional.convolution import _MODES
from ._waveform import Resample


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"Unrecognized mode value '{mode}'. Please specify one of {list(_MODES)}.")


class Convolve(Module):
    """Convolves ``x`` with ``y`` over the last dim by direct convolution; see
    :func:`~ember.audio.functional.convolve`.

    Example:
        >>> Convolve("same")(ember.randn(2, 100), ember.randn(2, 9)).shape
        ember.Size([2, 100])
    """

    def __init__(self, mode: str = "full") -> None:
        _check_mode(mode)
        super().__init__()
        self.mode = mode

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return F.convolve(x, y, mode=self.mode)


class FFTConvolve(Module):
    """Convolves ``x`` with ``y`` over the last dim through the FFT; see :func:`~ember.audio.functional.fftconvolve`.

    Example:
        >>> FFTConvolve()(ember.randn(2, 100), ember.randn(2, 9)).shape
        ember.Size([2, 108])
    """

    def __init__(self, mode: str = "full") -> None:
        _check_mode(mode)
        super().__init__()
        self.mode = mode

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return F.fftconvolve(x, y, mode=self.mode)


class Deemphasis(Module):
    """``y[t] = x[t] + coeff * y[t - 1]`` (default ``coeff=0.97``), the inverse of :class:`Preemphasis`.

    Example:
        >>> Deemphasis(0.5)(ember.tensor([1.0, 0.0]))
        tensor([1.0000, 0.5000])
    """

    def __init__(self, coeff: float = 0.97) -> None:
        super().__init__()
        self.coeff = coeff

    def forward(self, waveform: Tensor) -> Tensor:
        return F.deemphasis(waveform, coeff=self.coeff)


def _source_target_sample_rate(orig_freq: int, factor: float) -> tuple[int, int]:
    source, target = int(factor * orig_freq), int(orig_freq)
    gcd = math.gcd(source, target)
    return source // gcd, target // gcd


class Speed(Module):
    """Changes speed (and pitch) by ``factor`` by resampling; ``forward(waveform, lengths=None)`` returns
    ``(waveform, lengths)`` as :func:`~ember.audio.functional.speed`.

    Example:
        >>> Speed(16000, 1.25)(ember.randn(1, 16000))[0].shape
        ember.Size([1, 12800])
    """

    def __init__(self, orig_freq: int, factor: float) -> None:
        super().__init__()
        self.orig_freq, self.factor = orig_freq, factor
        self.source_sample_rate, self.target_sample_rate = _source_target_sample_rate(orig_freq, factor)
        self.resampler = Resample(orig_freq=self.source_sample_rate, new_freq=self.target_sample_rate)

    def forward(self, waveform: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        out_lengths = None
        if lengths is not None:
            out_lengths = (lengths * self.target_sample_rate / self.source_sample_rate).ceil().to(lengths.dtype)
        return self.resampler(waveform), out_lengths


class SpeedPerturbation(Module):
    """Speed perturbation (Ko et al., 2015): each call applies a :class:`Speed` whose factor is drawn uniformly
    from ``factors`` (from Ember's default generator, so ``ember.manual_seed`` makes it reproducible).

    Example:
        >>> out, lengths = SpeedPerturbation(16000, [0.9, 1.0, 1.1])(ember.randn(1, 16000))
        >>> out.shape[-1] in (17778, 16000, 14546)
        True
    """

    def __init__(self, orig_freq: int, factors: Sequence[float]) -> None:
        super().__init__()
        self.speeders = ModuleList([Speed(orig_freq=orig_freq, factor=factor) for factor in factors])

    def forward(self, waveform: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        index = int(ember.randint(len(self.speeders), ()).item())
        return self.speeders[index](waveform, lengths)


class Loudness(Module):
    """Integrated loudness in LKFS (ITU-R BS.1770-4) of ``(..., channel, time)``; see
    :func:`~ember.audio.functional.loudness`.

    Example:
        >>> Loudness(16000)(ember.randn(1, 2, 16000) * 0.1).shape
        ember.Size([1])
    """

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        self.sample_rate = sample_rate

    def forward(self, waveform: Tensor) -> Tensor:
        return F.loudness(waveform, self.sample_rate)


_VAD_OPTIONS = ("trigger_level", "trigger_time", "search_time", "allowed_gap", "pre_trigger_time", "boot_time",
                "noise_up_time", "noise_down_time", "noise_reduction_amount", "measure_freq", "measure_duration",
                "measure_smooth_time", "hp_filter_freq", "lp_filter_freq", "hp_lifter_freq", "lp_lifter_freq")


class Vad(Module):
    """Trims silence from the start of a recording (sox's ``vad``); see :func:`~ember.audio.functional.vad`
    for the arguments.

    Example:
        >>> Vad(16000)(ember.zeros(1, 8000)).shape
        ember.Size([1, 0])
    """

    def __init__(self, sample_rate: int, trigger_level: float = 7.0, trigger_time: float = 0.25,
                 search_time: float = 1.0, allowed_gap: float = 0.25, pre_trigger_time: float = 0.0,
                 boot_time: float = 0.35, noise_up_time: float = 0.1, noise_down_time: float = 0.01,
                 noise_reduction_amount: float = 1.35, measure_freq: float = 20.0,
                 measure_duration: float | None = None, measure_smooth_time: float = 0.4,
                 hp_filter_freq: float = 50.0, lp_filter_freq: float = 6000.0, hp_lifter_freq: float = 150.0,
                 lp_lifter_freq: float = 2000.0) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        arguments = locals()
        for name in _VAD_OPTIONS:
            setattr(self, name, arguments[name])

    def forward(self, waveform: Tensor) -> Tensor:
        return F.vad(waveform, self.sample_rate, **{name: getattr(self, name) for name in _VAD_OPTIONS})


class SlidingWindowCmn(Module):
    """Sliding-window cepstral mean (and variance) normalization; see
    :func:`~ember.audio.functional.sliding_window_cmn`.

    Example:
        >>> SlidingWindowCmn(cmn_window=10)(ember.randn(40, 13)).shape
        ember.Size([40, 13])
    """

    def __init__(self, cmn_window: int = 600, min_cmn_window: int = 100, center: bool = False,
                 norm_vars: bool = False) -> None:
        super().__init__()
        self.cmn_window, self.min_cmn_window, self.center, self.norm_vars = cmn_window, min_cmn_window, center, norm_vars

    def forward(self, specgram: Tensor) -> Tensor:
        return F.sliding_window_cmn(specgram, self.cmn_window, self.min_cmn_window, self.center, self.norm_vars)


class SpectralCentroid(Module):
    """The spectral centroid of each frame ``(..., time)``; see :func:`~ember.audio.functional.spectral_centroid`.

    Example:
        >>> SpectralCentroid(16000)(ember.randn(1, 4000)).shape
        ember.Size([1, 21])
    """

    def __init__(self, sample_rate: int, n_fft: int = 400, win_length: int | None = None,
                 hop_length: int | None = None, pad: int = 0, window_fn: Callable[..., Tensor] = F.hann_window,
                 wkwargs: dict | None = None) -> None:
        super().__init__()
        self.sample_rate, self.n_fft, self.pad = sample_rate, n_fft, pad
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))

    def forward(self, waveform: Tensor) -> Tensor:
        return F.spectral_centroid(waveform, self.sample_rate, self.pad, self.window, self.n_fft, self.hop_length,
                                   self.win_length)
