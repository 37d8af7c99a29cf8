"""Functional forms of Ember's audio transforms (``torchaudio.functional``'s names, defaults and formulas).

Complex spectra use a real layout: ``(..., freq, time, 2)`` with the last dim = (real, imag), as
``torch.view_as_real`` gives.
"""

from __future__ import annotations

from .effects import (
                      add_noise,
                      compute_deltas,
                      fade,
                      gain,
                      mask_along_axis,
                      mask_along_axis_iid,
                      mu_law_decoding,
                      mu_law_encoding,
                      pitch_shift,
                      preemphasis,
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
    "DB_to_amplitude", "add_noise", "amplitude_to_DB", "bartlett_window", "blackman_window", "complex_norm",
    "compute_deltas", "create_dct", "fade", "gain", "griffinlim", "hamming_window", "hann_window", "hz_to_mel",
    "inverse_spectrogram", "istft", "kaiser_window", "linear_fbanks", "mask_along_axis", "mask_along_axis_iid",
    "mel_to_hz", "melscale_fbanks", "mu_law_decoding", "mu_law_encoding", "pad_last", "phase_vocoder",
    "pitch_shift", "preemphasis", "resample", "sinc_resample_kernel", "spectrogram", "stft",
]
