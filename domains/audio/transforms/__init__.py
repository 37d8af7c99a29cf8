"""Audio transforms as modules (``torchaudio.transforms``' names, arguments and defaults).

Complex spectrograms (``Spectrogram(power=None)``, ``InverseSpectrogram``, ``TimeStretch``) are complex
tensors ``(..., freq, time)``, as in torchaudio; ``InverseSpectrogram`` and ``TimeStretch`` also take the
real layout ``(..., freq, time, 2)`` (last dim = real, imag).
"""

from __future__ import annotations

from ._effects import (
    Convolve,
    Deemphasis,
    FFTConvolve,
    Loudness,
    SlidingWindowCmn,
    SpectralCentroid,
    Speed,
    SpeedPerturbation,
    Vad,
)
from ._spectral import (
    LFCC,
    MFCC,
    AmplitudeToDB,
    ComputeDeltas,
    GriffinLim,
    InverseMelScale,
    InverseSpectrogram,
    MelScale,
    MelSpectrogram,
    Spectrogram,
    TimeStretch,
)
from ._waveform import (
    AddNoise,
    Fade,
    FrequencyMasking,
    MuLawDecoding,
    MuLawEncoding,
    PitchShift,
    Preemphasis,
    Resample,
    SpecAugment,
    TimeMasking,
    Vol,
)

__all__ = [
    "LFCC", "MFCC", "AddNoise", "AmplitudeToDB", "ComputeDeltas", "Convolve", "Deemphasis", "FFTConvolve", "Fade",
    "FrequencyMasking", "GriffinLim", "InverseMelScale", "InverseSpectrogram", "Loudness", "MelScale",
    "MelSpectrogram", "MuLawDecoding", "MuLawEncoding", "PitchShift", "Preemphasis", "Resample",
    "SlidingWindowCmn", "SpecAugment", "SpectralCentroid", "Spectrogram", "Speed", "SpeedPerturbation",
    "TimeMasking", "TimeStretch", "Vad", "Vol",
]
