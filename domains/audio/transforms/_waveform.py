"""Resampling, augmentation and companding transforms (``torchaudio.transforms``' names and defaults).

Random transforms draw from Ember's default generator (or the ``generator`` given), so
``ember.manual_seed`` and the DataLoader's per-sample seeding make them reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import ember
from ember import Tensor
from ember.nn import Module

from .. import functional as F
from ..functional.resample import (
    apply_resample_kernel,
    apply_sparse_resample_kernel,
    sparse_resample_kernel,
    use_sparse_kernel,
)


class Resample(Module):
    """Resamples ``(..., time)`` from ``orig_freq`` to ``new_freq`` with a precomputed windowed-sinc polyphase
    kernel (``lowpass_filter_width=6``, ``rolloff=0.99``, Hann or Kaiser window).

    Example:
        >>> Resample(44100, 16000)(ember.randn(44100)).shape
        ember.Size([16000])
    """

    def __init__(self, orig_freq: int = 16000, new_freq: int = 16000, resampling_method: str = "sinc_interp_hann",
                 lowpass_filter_width: int = 6, rolloff: float = 0.99, beta: float | None = None, *,
                 dtype=None) -> None:
        super().__init__()
        self.orig_freq, self.new_freq = orig_freq, new_freq
        self.gcd = math.gcd(int(orig_freq), int(new_freq))
        self.resampling_method, self.lowpass_filter_width, self.rolloff, self.beta = (
            resampling_method, lowpass_filter_width, rolloff, beta)
        self.sparse = orig_freq != new_freq and use_sparse_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff)
        if orig_freq != new_freq:
            np_dtype = (dtype or ember.get_default_dtype()).numpy
            if self.sparse:  # banded kernel: for large reduced orig_freq (44.1k -> 16k, coprime rates)
                kernel, self.first, self.width = sparse_resample_kernel(
                    orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta, dtype=np_dtype)
            else:
                kernel, self.width = F.sinc_resample_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff,
                                                            resampling_method, beta, dtype=np_dtype)
            self.register_buffer("kernel", ember.from_numpy(kernel), persistent=False)

    def forward(self, waveform: Tensor) -> Tensor:
        if self.orig_freq == self.new_freq:
            return waveform
        kernel = self.kernel if self.kernel.dtype == waveform.dtype else self.kernel.to(dtype=waveform.dtype)
        if self.sparse:
            return apply_sparse_resample_kernel(waveform, self.orig_freq, self.new_freq, kernel, self.first,
                                                self.width)
        return apply_resample_kernel(waveform, self.orig_freq, self.new_freq, kernel, self.width)

    def extra_repr(self) -> str:
        return f"orig_freq={self.orig_freq}, new_freq={self.new_freq}"


class PitchShift(Module):
    """Shifts pitch by ``n_steps`` semitones (of ``bins_per_octave``) keeping duration; see
    :func:`~ember.audio.functional.pitch_shift`.

    Example:
        >>> PitchShift(16000, 4)(ember.randn(1, 8000)).shape
        ember.Size([1, 8000])
    """

    def __init__(self, sample_rate: int, n_steps: float, bins_per_octave: int = 12, n_fft: int = 512,
                 win_length: int | None = None, hop_length: int | None = None,
                 window_fn: Callable[..., Tensor] = F.hann_window, wkwargs: dict | None = None) -> None:
        super().__init__()
        self.sample_rate, self.n_steps, self.bins_per_octave, self.n_fft = sample_rate, n_steps, bins_per_octave, n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 4
        self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))

    def forward(self, waveform: Tensor) -> Tensor:
        return F.pitch_shift(waveform, self.sample_rate, self.n_steps, self.bins_per_octave, self.n_fft,
                             self.win_length, self.hop_length, self.window)


class _AxisMasking(Module):
    def __init__(self, mask_param: int, axis: int, iid_masks: bool, p: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"The value of p must be between 0.0 and 1.0 ({p} given).")
        self.mask_param, self.axis, self.iid_masks, self.p = mask_param, axis, iid_masks, p

    def forward(self, specgram: Tensor, mask_value: float = 0.0) -> Tensor:
        # axis 1 = freq, 2 = time, counted in a (channel, freq, time) spectrogram
        axis = self.axis + specgram.ndim - 3
        if self.iid_masks and specgram.ndim >= 3:
            return F.mask_along_axis_iid(specgram, self.mask_param, mask_value, axis, p=self.p)
        return F.mask_along_axis(specgram, self.mask_param, mask_value, axis, p=self.p)


class FrequencyMasking(_AxisMasking):
    """Masks a random band ``[f0, f0 + f)`` of frequencies, ``f ~ U(0, freq_mask_param)`` (SpecAugment).
    ``iid_masks=True`` draws one band per example and channel of a batch.

    Example:
        >>> FrequencyMasking(freq_mask_param=10)(ember.ones(1, 40, 100)).shape
        ember.Size([1, 40, 100])
    """

    def __init__(self, freq_mask_param: int, iid_masks: bool = False) -> None:
        super().__init__(freq_mask_param, 1, iid_masks)


class TimeMasking(_AxisMasking):
    """Masks a random span ``[t0, t0 + t)`` of frames, ``t ~ U(0, time_mask_param)``, at most a fraction ``p``
    of the frames (SpecAugment).

    Example:
        >>> TimeMasking(time_mask_param=20, p=0.2)(ember.ones(1, 40, 100)).shape
        ember.Size([1, 40, 100])
    """

    def __init__(self, time_mask_param: int, iid_masks: bool = False, p: float = 1.0) -> None:
        super().__init__(time_mask_param, 2, iid_masks, p)


class SpecAugment(Module):
    """SpecAugment (Park et al., 2019) without time warping: ``n_time_masks`` time masks and ``n_freq_masks``
    frequency masks, filled with the spectrogram's mean (or zero if ``zero_masking``).

    Example:
        >>> SpecAugment(2, 10, 2, 8)(ember.rand(4, 1, 40, 100)).shape
        ember.Size([4, 1, 40, 100])
    """

    def __init__(self, n_time_masks: int, time_mask_param: int, n_freq_masks: int, freq_mask_param: int,
                 iid_masks: bool = True, p: float = 1.0, zero_masking: bool = False) -> None:
        super().__init__()
        self.n_time_masks, self.time_mask_param = n_time_masks, time_mask_param
        self.n_freq_masks, self.freq_mask_param = n_freq_masks, freq_mask_param
        self.iid_masks, self.p, self.zero_masking = iid_masks, p, zero_masking

    def forward(self, specgram: Tensor) -> Tensor:
        mask_value = 0.0 if self.zero_masking else float(specgram.numpy(force=True).mean())
        time_dim, freq_dim = specgram.ndim - 1, specgram.ndim - 2
        iid = specgram.ndim > 2 and self.iid_masks
        mask = F.mask_along_axis_iid if iid else F.mask_along_axis
        for _ in range(self.n_time_masks):
            specgram = mask(specgram, self.time_mask_param, mask_value, time_dim, p=self.p)
        for _ in range(self.n_freq_masks):
            specgram = mask(specgram, self.freq_mask_param, mask_value, freq_dim, p=self.p)
        return specgram


class Vol(Module):
    """Scales the volume (``gain_type`` "amplitude": times ``gain``; "db": ``gain`` dB; "power": ``gain`` as a
    power ratio), then clamps to [-1, 1].

    Example:
        >>> Vol(2.0)(ember.tensor([0.25, 0.75]))
        tensor([0.5000, 1.0000])
    """

    def __init__(self, gain: float, gain_type: str = "amplitude") -> None:
        super().__init__()
        if gain_type not in ("amplitude", "power", "db"):
            raise ValueError(f"gain_type must be 'amplitude', 'power' or 'db', got {gain_type!r}")
        if gain_type in ("amplitude", "power") and gain < 0:
            raise ValueError("If gain_type = amplitude or power, gain must be positive.")
        self.gain, self.gain_type = gain, gain_type

    def forward(self, waveform: Tensor) -> Tensor:
        if self.gain_type == "amplitude":
            waveform = waveform * self.gain
        elif self.gain_type == "db":
            waveform = F.gain(waveform, self.gain)
        else:
            waveform = F.gain(waveform, 10 * math.log10(self.gain))
        return ember.clamp(waveform, -1, 1)


class Fade(Module):
    """Fades in and out (``fade_shape``: linear, exponential, logarithmic, quarter_sine, half_sine).

    Example:
        >>> Fade(fade_in_len=2, fade_out_len=2)(ember.ones(6))
        tensor([0., 1., 1., 1., 1., 0.])
    """

    def __init__(self, fade_in_len: int = 0, fade_out_len: int = 0, fade_shape: str = "linear") -> None:
        super().__init__()
        self.fade_in_len, self.fade_out_len, self.fade_shape = fade_in_len, fade_out_len, fade_shape

    def forward(self, waveform: Tensor) -> Tensor:
        return F.fade(waveform, self.fade_in_len, self.fade_out_len, self.fade_shape)


class MuLawEncoding(Module):
    """Mu-law companding of a signal in [-1, 1] to integer codes ``[0, quantization_channels)``.

    Example:
        >>> MuLawEncoding()(ember.tensor([0.0]))
        tensor([128])
    """

    def __init__(self, quantization_channels: int = 256) -> None:
        super().__init__()
        self.quantization_channels = quantization_channels

    def forward(self, x: Tensor) -> Tensor:
        return F.mu_law_encoding(x, self.quantization_channels)


class MuLawDecoding(Module):
    """Inverse of :class:`MuLawEncoding`.

    Example:
        >>> MuLawDecoding()(ember.tensor([255]))
        tensor([1.])
    """

    def __init__(self, quantization_channels: int = 256) -> None:
        super().__init__()
        self.quantization_channels = quantization_channels

    def forward(self, x_mu: Tensor) -> Tensor:
        return F.mu_law_decoding(x_mu, self.quantization_channels)


class Preemphasis(Module):
    """``y[t] = x[t] - coeff * x[t - 1]`` (default ``coeff=0.97``).

    Example:
        >>> Preemphasis(0.5)(ember.tensor([1.0, 1.0]))
        tensor([1.0000, 0.5000])
    """

    def __init__(self, coeff: float = 0.97) -> None:
        super().__init__()
        self.coeff = coeff

    def forward(self, waveform: Tensor) -> Tensor:
        return F.preemphasis(waveform, self.coeff)


class AddNoise(Module):
    """Adds noise at a signal-to-noise ratio given in dB: ``forward(waveform, noise, snr, lengths=None)``.

    Example:
        >>> AddNoise()(ember.randn(1, 100), ember.randn(1, 100), ember.tensor([10.0])).shape
        ember.Size([1, 100])
    """

    def forward(self, waveform: Tensor, noise: Tensor, snr: Tensor, lengths: Tensor | None = None) -> Tensor:
        return F.add_noise(waveform, noise, snr, lengths)
