"""Audio transforms as modules (``torchaudio.transforms``' names, arguments and defaults).

Complex spectrograms (``Spectrogram(power=None)``, ``InverseSpectrogram``, ``TimeStretch``) use the layout
``(..., freq, time, 2)`` with the last dim = (real, imag).
"""

from __future__ import annotations

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
                        "LFCC",
                        "MFCC",
                        "AddNoise",
                        "AmplitudeToDB",
                        "ComputeDeltas",
                        "Fade",
                        "FrequencyMasking",
                        "GriffinLim", "InverseMelScale",
                        "InverseSpectrogram",
                        "MelScale",
                        "MelSpectrogram",
                        "MuLawDecoding",
                        "MuLawEncoding",
                        "PitchShift",
                        "Preemphasis",
                        "Resample",
                        "SpecAugment",
                        "Spectrogram",
                        "TimeMasking",
                        "TimeStretch",
                        "Vol",
]
