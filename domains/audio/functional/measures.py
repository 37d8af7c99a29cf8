"""Measurements on waveforms: loudness (ITU-R BS.1770-4), spectral centroid, pitch, voice activity detection
(sox's ``vad``) and sliding-window cepstral mean normalization (torchaudio's definitions and numbers)."""

from __future__ import annotations

import math
import warnings

import ember
import numpy as np
from ember import Tensor

from .filtering import highpass_biquad, treble_biquad
from .spectral import spectrogram

_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # BS.1770: L, R, C, Ls, Rs


def loudness(waveform: Tensor, sample_rate: int) -> Tensor:
    """Integrated loudness in LKFS (ITU-R BS.1770-4) of ``(..., channel, time)`` with at most 5 channels:
    K-weighting, mean square over 400 ms blocks with 75 % overlap, absolute (-70 LKFS) and relative (-10 LU)
    gating. Differentiable with respect to the waveform.

    Example:
        >>> loudness(ember.randn(2, 1, 16000) * 0.1, 16000).shape
        ember.Size([2])
    """
    if waveform.shape[-2] > 5:
        raise ValueError(f"Only up to 5 channels are supported, got {waveform.shape[-2]} (shape "
                         f"{tuple(waveform.shape)})")
    gate_samples = round(0.4 * sample_rate)
    step = round(gate_samples * (1 - 0.75))
    waveform = treble_biquad(waveform, sample_rate, 4.0, 1500.0, 1 / math.sqrt(2))
    waveform = highpass_biquad(waveform, sample_rate, 38.0, 0.5)
    energy = (waveform * waveform).unfold(-1, gate_samples, step).mean(-1)  # (..., channel, blocks)
    weights = np.asarray(_CHANNEL_WEIGHTS[: energy.shape[-2]], dtype=waveform.numpy(force=True).dtype)
    g = ember.from_numpy(weights)
    block_loudness = -0.691 + 10 * ember.log10((g.unsqueeze(-1) * energy).sum(-2))  # (..., blocks)

    def gated_loudness(gate: np.ndarray) -> Tensor:
        mask = ember.from_numpy(gate[..., None, :].astype(weights.dtype))
        filtered = (mask * energy).sum(-1) / mask.sum(-1)
        return -0.691 + 10 * ember.log10((g * filtered).sum(-1))

    loud = block_loudness.numpy(force=True)
    absolute = loud > -70.0
    relative_threshold = gated_loudness(absolute).numpy(force=True) - 10
    return gated_loudness(absolute & (loud > relative_threshold[..., None]))


def spectral_centroid(waveform: Tensor, sample_rate: int, pad: int, window: Tensor, n_fft: int, hop_length: int,
                      win_length: int) -> Tensor:
    """The magnitude-weighted mean frequency of each frame, ``(..., time)``.

    Example:
        >>> from ember.audio.functional import hann_window
        >>> spectral_centroid(ember.randn(1, 4000), 16000, 0, hann_window(400), 400, 200, 400).shape
        ember.Size([1, 21])
    """
    spec = spectrogram(waveform, pad, window, n_fft, hop_length, win_length, 1.0, False)
    freqs = np.linspace(0, sample_rate // 2, 1 + n_fft // 2, dtype=np.float32).reshape(-1, 1)
    freqs = ember.from_numpy(freqs.astype(spec.numpy(force=True).dtype))
    return (freqs * spec).sum(-2) / spec.sum(-2)


def _measure(samples, spectrum, noise_spectrum, spectrum_window, spectrum_start, spectrum_end, cepstrum_window,
             cepstrum_start, cepstrum_end, noise_reduction_amount, measure_smooth_time_mult, noise_up_time_mult,
             noise_down_time_mult, boot_count) -> float:
    """One sox ``vad`` measurement; updates ``spectrum`` and ``noise_spectrum`` in place."""
    measure_len = samples.shape[-1]
    dft_buf = np.zeros(spectrum.shape[-1], dtype=np.float32)
    dft_buf[:measure_len] = samples * spectrum_window[:measure_len]
    dft = np.fft.rfft(dft_buf)
    mult = boot_count / (1.0 + boot_count) if boot_count >= 0 else measure_smooth_time_mult
    band = slice(spectrum_start, spectrum_end)
    spectrum[band] = spectrum[band] * mult + np.abs(dft[band]) * (1 - mult)
    d = spectrum[band] ** 2
    if boot_count >= 0:
        noise_mult = np.zeros_like(d)
    else:
        noise_mult = np.where(d > noise_spectrum[band], noise_up_time_mult, noise_down_time_mult).astype(np.float32)
    noise_spectrum[band] = noise_spectrum[band] * noise_mult + d * (1 - noise_mult)
    d = np.sqrt(np.maximum(0, d - noise_reduction_amount * noise_spectrum[band]))
    cepstrum_buf = np.zeros(spectrum.shape[-1] >> 1, dtype=np.float32)
    cepstrum_buf[band] = d * cepstrum_window
    cepstrum = np.fft.rfft(cepstrum_buf)
    result = float(np.sum(np.abs(cepstrum[cepstrum_start:cepstrum_end]) ** 2))
    result = math.log(result / (cepstrum_end - cepstrum_start)) if result > 0 else -math.inf
    return max(0, 21 + result)


def vad(waveform: Tensor, sample_rate: int, trigger_level: float = 7.0, trigger_time: float = 0.25,
        search_time: float = 1.0, allowed_gap: float = 0.25, pre_trigger_time: float = 0.0, boot_time: float = 0.35,
        noise_up_time: float = 0.1, noise_down_time: float = 0.01, noise_reduction_amount: float = 1.35,
        measure_freq: float = 20.0, measure_duration: float | None = None, measure_smooth_time: float = 0.4,
        hp_filter_freq: float = 50.0, lp_filter_freq: float = 6000.0, hp_lifter_freq: float = 150.0,
        lp_lifter_freq: float = 2000.0) -> Tensor:
    """Trims silence and quiet background sounds from the start of ``(channel, time)`` or ``(time,)`` audio
    (sox's ``vad``, by cepstral power measurements). To trim the end too, reverse, ``vad``, reverse.
    Runs on arrays (not differentiable).

    Example:
        >>> t = ember.arange(16000) / 16000
        >>> speech = ember.cat([ember.zeros(8000), (t * 2 * math.pi * 300).sin() * 0.5])
        >>> vad(speech, 16000).shape[-1] < 24000
        True
    """
    if waveform.ndim > 2:
        warnings.warn(f"Expected input tensor dimension of 1 for single channel or 2 for multi-channel. Got "
                      f"{waveform.ndim} instead. Batch semantics is not supported.", stacklevel=2)
    measure_duration = 2.0 / measure_freq if measure_duration is None else measure_duration
    measure_len_ws = int(sample_rate * measure_duration + 0.5)
    measure_len_ns = measure_len_ws
    dft_len_ws = 16
    while dft_len_ws < measure_len_ws:
        dft_len_ws *= 2
    measure_period_ns = int(sample_rate / measure_freq + 0.5)
    measures_len = math.ceil(search_time * measure_freq)
    search_pre_trigger_len_ns = measures_len * measure_period_ns
    gap_len = int(allowed_gap * measure_freq + 0.5)
    fixed_pre_trigger_len_ns = int(pre_trigger_time * sample_rate + 0.5)
    samples_len_ns = fixed_pre_trigger_len_ns + search_pre_trigger_len_ns + measure_len_ns

    def hann(n: int) -> np.ndarray:  # periodic, as torch.hann_window
        return (0.5 - 0.5 * np.cos(2 * math.pi * np.arange(n) / n)).astype(np.float32)

    spectrum_window = np.full(measure_len_ws, 2.0 / math.sqrt(float(measure_len_ws)), dtype=np.float32)
    spectrum_window *= hann(measure_len_ws)
    spectrum_start = max(int(hp_filter_freq / sample_rate * dft_len_ws + 0.5), 1)
    spectrum_end = min(int(lp_filter_freq / sample_rate * dft_len_ws + 0.5), dft_len_ws // 2)
    n_band = spectrum_end - spectrum_start
    cepstrum_window = np.full(n_band, 2.0 / math.sqrt(float(n_band)), dtype=np.float32) * hann(n_band)
    cepstrum_start = math.ceil(sample_rate * 0.5 / lp_lifter_freq)
    cepstrum_end = min(math.floor(sample_rate * 0.5 / hp_lifter_freq), dft_len_ws // 4)
    if cepstrum_end <= cepstrum_start:
        raise ValueError(f"Expected cepstrum_start to be smaller than cepstrum_end. Found: cepstrum_start: "
                         f"{cepstrum_start}, cepstrum_end: {cepstrum_end}.")
    noise_up_time_mult = np.float32(math.exp(-1.0 / (noise_up_time * measure_freq)))
    noise_down_time_mult = np.float32(math.exp(-1.0 / (noise_down_time * measure_freq)))
    measure_smooth_time_mult = math.exp(-1.0 / (measure_smooth_time * measure_freq))
    trigger_meas_time_mult = math.exp(-1.0 / (trigger_time * measure_freq))
    boot_count_max = int(boot_time * measure_freq - 0.5)
    boot_count = measures_index = flushed_len_ns = 0

    shape = tuple(waveform.shape)
    data = waveform.numpy(force=True).reshape(-1, shape[-1])
    n_channels, ilen = data.shape
    mean_meas = np.zeros(n_channels, dtype=np.float32)
    spectrum = np.zeros((n_channels, dft_len_ws), dtype=np.float32)
    noise_spectrum = np.zeros((n_channels, dft_len_ws), dtype=np.float32)
    measures = np.zeros((n_channels, measures_len), dtype=np.float32)
    has_triggered = False
    num_measures_to_flush = 0
    pos = 0
    for pos in range(measure_len_ns, ilen, measure_period_ns):
        for i in range(n_channels):
            meas = _measure(data[i, pos - measure_len_ws : pos], spectrum[i], noise_spectrum[i], spectrum_window,
                            spectrum_start, spectrum_end, cepstrum_window, cepstrum_start, cepstrum_end,
                            noise_reduction_amount, measure_smooth_time_mult, noise_up_time_mult,
                            noise_down_time_mult, boot_count)
            measures[i, measures_index] = meas
            mean_meas[i] = mean_meas[i] * trigger_meas_time_mult + meas * (1.0 - trigger_meas_time_mult)
            has_triggered = has_triggered or bool(mean_meas[i] >= trigger_level)
            if has_triggered:
                n, k = measures_len, measures_index
                j_trigger = j_zero = n
                j = 0
                for j in range(n):
                    if measures[i, k] >= trigger_level and j <= j_trigger + gap_len:
                        j_zero = j_trigger = j
                    elif measures[i, k] == 0 and j_trigger >= j_zero:
                        j_zero = j
                    k = (k + n - 1) % n
                j = min(j, j_zero)
                num_measures_to_flush = min(max(num_measures_to_flush, j), n)
        measures_index = (measures_index + 1) % measures_len
        if boot_count >= 0:
            boot_count = -1 if boot_count == boot_count_max else boot_count + 1
        if has_triggered:
            flushed_len_ns = (measures_len - num_measures_to_flush) * measure_period_ns
            break
    if not has_triggered and shape[-1] >= fixed_pre_trigger_len_ns:
        return waveform[..., :fixed_pre_trigger_len_ns]
    start = max(pos - samples_len_ns + flushed_len_ns, 0)
    return waveform[..., start:]


def sliding_window_cmn(specgram: Tensor, cmn_window: int = 600, min_cmn_window: int = 100, center: bool = False,
                       norm_vars: bool = False) -> Tensor:
    """Cepstral mean (and optionally variance) normalization over a sliding window of frames, on
    ``(..., time, freq)`` (Kaldi's ``apply-cmvn-sliding``). Runs on arrays (not differentiable).

    Example:
        >>> sliding_window_cmn(ember.randn(2, 50, 13)).shape
        ember.Size([2, 50, 13])
    """
    shape = tuple(specgram.shape)
    num_frames, num_feats = shape[-2:]
    data = specgram.numpy(force=True).reshape(-1, num_frames, num_feats)
    cumsum = np.concatenate([np.zeros_like(data[:, :1]), np.cumsum(data, axis=1)], axis=1)
    cumsq = np.concatenate([np.zeros_like(data[:, :1]), np.cumsum(data * data, axis=1)], axis=1)
    out = np.zeros_like(data)
    for t in range(num_frames):
        if center:
            start = t - cmn_window // 2
            end = start + cmn_window
        else:
            start, end = t - cmn_window, t + 1
        if start < 0:
            end -= start
            start = 0
        if not center and end > t:
            end = max(t + 1, min_cmn_window)
        if end > num_frames:
            start = max(start - (end - num_frames), 0)
            end = num_frames
        frames = end - start
        window_sum = cumsum[:, end] - cumsum[:, start]
        out[:, t] = data[:, t] - window_sum / frames
        if norm_vars:
            if frames == 1:
                out[:, t] = 0
            else:
                variance = (cumsq[:, end] - cumsq[:, start]) / frames - window_sum**2 / frames**2
                out[:, t] *= variance ** -0.5
    return ember.from_numpy(out.reshape(shape))


def detect_pitch_frequency(waveform: Tensor, sample_rate: int, frame_time: float = 10 ** (-2), win_length: int = 30,
                           freq_low: int = 85, freq_high: int = 3400) -> Tensor:
    """Pitch in Hz per frame of ``frame_time`` seconds, ``(..., frames)``: the lag maximizing the normalized
    cross-correlation (preferring a shorter lag within 1 % of the best), median-smoothed over ``win_length``
    frames (torchaudio's method). Runs on arrays (not differentiable).

    Example:
        >>> t = ember.arange(8000) / 8000
        >>> pitch = detect_pitch_frequency((t * 2 * math.pi * 200).sin(), 8000)
        >>> bool((pitch[10:-10] - 200).abs().max() < 10)
        True
    """
    shape = tuple(waveform.shape)
    x = waveform.numpy(force=True).reshape(-1, shape[-1])
    eps = 1e-9
    lags = math.ceil(sample_rate / freq_low)
    frame_size = math.ceil(sample_rate * frame_time)
    num_frames = math.ceil(shape[-1] / frame_size)
    x = np.pad(x, ((0, 0), (0, lags + num_frames * frame_size - shape[-1])))
    span = num_frames * frame_size
    nccf = np.empty((x.shape[0], num_frames, lags), dtype=x.dtype)
    s1 = x[:, :span].reshape(-1, num_frames, frame_size)
    norm1 = (eps + np.sqrt((s1 * s1).sum(-1))) ** 2
    for lag in range(1, lags + 1):
        s2 = x[:, lag : lag + span].reshape(-1, num_frames, frame_size)
        norm2 = (eps + np.sqrt((s2 * s2).sum(-1))) ** 2
        nccf[..., lag - 1] = (s1 * s2).sum(-1) / norm1 / norm2
    lag_min = math.ceil(sample_rate / freq_high)
    best = nccf[..., lag_min:]
    best_index = best.argmax(-1)
    half = nccf[..., lag_min : nccf.shape[-1] // 2]
    half_index = half.argmax(-1)
    prefer_half = np.take_along_axis(half, half_index[..., None], -1)[..., 0] > 0.99 * best.max(-1)
    indices = np.where(prefer_half, half_index, best_index) + lag_min + 1
    # median over a window ending at each frame, the first value repeated in front (torch.median: lower median)
    pad = (win_length - 1) // 2
    indices = np.concatenate([np.repeat(indices[:, :1], pad, axis=1), indices], axis=1)
    windows = np.sort(np.lib.stride_tricks.sliding_window_view(indices, win_length, axis=-1), axis=-1)
    smoothed = windows[..., (win_length - 1) // 2]
    freq = sample_rate / (eps + smoothed.astype(np.float32))
    return ember.from_numpy(freq.astype(np.float32).reshape(shape[:-1] + freq.shape[-1:]))


__all__ = ["detect_pitch_frequency", "loudness", "sliding_window_cmn", "spectral_centroid", "vad"]
