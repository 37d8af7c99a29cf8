"""Functional forms of Ember's audio transforms (``torchaudio.functional``'s names, defaults and formulas).

Complex spectra use a real layout: ``(..., freq, time, 2)`` with the last dim = (real, imag), as
``torch.view_as_real`` gives.
"""

from __future__ import annotations

from .convolution import convolve, fftconvolve
from .effects import (
                      add_noise,
                      compute_deltas,
                      deemphasis,
                      fade,
                      gain,
                      mask_along_axis,
                      mask_along_axis_iid,
                      mu_law_decoding,
                      mu_law_encoding,
                      pitch_shift,
                      preemphasis,
                      speed,
)
from .filterbanks import (
                      DB_to_amplitude,
                      amplitude_to_DB,
                      create_dct,
                      hz_to_mel,
                      linear_fbanks,
                      mel_to_hz,
                      melscale_fbanks,
)
from .filtering import (
                      allpass_biquad,
                      band_biquad,
                      bandpass_biquad,
                      bandreject_biquad,
                      bass_biquad,
                      biquad,
                      contrast,
                      dcshift,
                      deemph_biquad,
                      equalizer_biquad,
                      filtfilt,
                      flanger,
                      highpass_biquad,
                      lfilter,
                      lowpass_biquad,
                      overdrive,
                      phaser,
                      riaa_biquad,
                      treble_biquad,
)
from .measures import detect_pitch_frequency, loudness, sliding_window_cmn, spectral_centroid, vad
from .resample import resample, sinc_resample_kernel
from .spectral import (
                      complex_norm,
                      griffinlim,
                      inverse_spectrogram,
                      istft,
                      pad_last,
                      phase_vocoder,
                      spectrogram,
                      stft,
)
from .windows import bartlett_window, blackman_window, hamming_window, hann_window, kaiser_window

__all__ = [
    "DB_to_amplitude", "add_noise", "allpass_biquad", "amplitude_to_DB", "band_biquad", "bandpass_biquad",
    "bandreject_biquad", "bartlett_window", "bass_biquad", "biquad", "blackman_window", "complex_norm",
    "compute_deltas", "contrast", "convolve", "create_dct", "dcshift", "deemph_biquad", "deemphasis",
    "detect_pitch_frequency", "equalizer_biquad", "fade", "fftconvolve", "filtfilt", "flanger", "gain",
    "griffinlim", "hamming_window", "hann_window", "highpass_biquad", "hz_to_mel", "inverse_spectrogram",
    "istft", "kaiser_window", "lfilter", "linear_fbanks", "loudness", "lowpass_biquad", "mask_along_axis",
    "mask_along_axis_iid", "mel_to_hz", "melscale_fbanks", "mu_law_decoding", "mu_law_encoding",
    "overdrive", "pad_last", "phase_vocoder", "phaser", "pitch_shift", "preemphasis", "resample",
    "riaa_biquad", "sinc_resample_kernel", "sliding_window_cmn", "spectral_centroid", "spectrogram",
    "speed", "stft", "treble_biquad", "vad",
]
