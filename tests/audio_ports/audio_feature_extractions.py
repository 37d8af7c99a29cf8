"""Audio feature extractions, after torchaudio's tutorial examples/tutorials/audio_feature_extractions_tutorial.py
(Moto Hira): ``Spectrogram`` with several ``n_fft``, the spectrogram of a resampled signal, ``GriffinLim``,
``functional.melscale_fbanks(norm="slaney")``, ``MelSpectrogram`` with the tutorial's arguments
(``norm="slaney"``, ``mel_scale="htk"``), ``MFCC`` with ``melkwargs``, ``LFCC`` with ``speckwargs`` and
``functional.detect_pitch_frequency``; ``AmplitudeToDB("power", 80.0)`` as its ``plot_spectrogram`` applies it.

What changes: the VOiCES speech clip is a generated one (a voiced sound with a gliding pitch, written as a
16-bit WAV with the standard library's ``wave`` and read back with ``torchaudio.load``), 1 second long; no
plots. ``main`` returns the features, so that a test can compare them with torchaudio's.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import argparse
import math
import os
import tempfile
import wave

import numpy as np

import torch
import torchaudio
import torchaudio.functional as F
import torchaudio.transforms as T


def make_speech(path, sample_rate=16000, seconds=1.0, seed=0):
    """A voiced sound: harmonics of a pitch gliding from 120 to 190 Hz under two formants, an envelope,
    a little noise; written as 16-bit PCM."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    f0 = 120 + 70 * t / seconds
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    signal = np.zeros_like(t)
    for k in range(1, 30):
        freq = k * f0
        gain = np.exp(-((freq - 700) / 250) ** 2) + 0.5 * np.exp(-((freq - 1800) / 400) ** 2) + 0.02
        signal += gain * np.sin(k * phase) * (freq < sample_rate / 2)
    signal *= np.sin(np.pi * t / seconds) ** 0.5
    signal = 0.5 * signal / np.abs(signal).max() + 0.003 * rng.normal(size=t.size)
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes((signal * 32767).astype("<i2").tobytes())


def main(argv=None):
    parser = argparse.ArgumentParser(description="Audio feature extractions")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)

    torch.random.manual_seed(0)
    results = {}

    def plot_spectrogram(specgram, title=None, ylabel="freq_bin", ax=None):
        power_to_db = T.AmplitudeToDB("power", 80.0)
        results[ylabel] = power_to_db(specgram).numpy()

    with tempfile.TemporaryDirectory() as folder:
        SAMPLE_SPEECH = os.path.join(folder, "speech.wav")
        make_speech(SAMPLE_SPEECH, seconds=args.seconds)

        # Spectrogram
        SPEECH_WAVEFORM, SAMPLE_RATE = torchaudio.load(SAMPLE_SPEECH)

    spectrogram = T.Spectrogram(n_fft=512)
    spec = spectrogram(SPEECH_WAVEFORM)
    results["speech"] = SPEECH_WAVEFORM.numpy()
    results["spec"] = spec.numpy()
    plot_spectrogram(spec[0], title="spectrogram")

    # The effect of n_fft parameter
    n_ffts = [32, 128, 512, 2048]
    hop_length = 64

    specs = []
    for n_fft in n_ffts:
        spectrogram = T.Spectrogram(n_fft=n_fft, hop_length=hop_length)
        spec = spectrogram(SPEECH_WAVEFORM)
        specs.append(spec)
    for i, (spec, n_fft) in enumerate(zip(specs, n_ffts)):
        plot_spectrogram(spec[0], ylabel=f"n_fft={n_fft}")

    # Downsample to half of the original sample rate
    speech2 = torchaudio.functional.resample(SPEECH_WAVEFORM, SAMPLE_RATE, SAMPLE_RATE // 2)
    # Upsample to the original sample rate
    speech3 = torchaudio.functional.resample(speech2, SAMPLE_RATE // 2, SAMPLE_RATE)

    # Apply the same spectrogram
    spectrogram = T.Spectrogram(n_fft=512)

    spec0 = spectrogram(SPEECH_WAVEFORM)
    spec2 = spectrogram(speech2)
    spec3 = spectrogram(speech3)
    results["speech2"], results["speech3"] = speech2.numpy(), speech3.numpy()
    plot_spectrogram(spec0[0], ylabel="Original")
    plot_spectrogram(spec2[0], ylabel="Downsampled")
    plot_spectrogram(spec3[0], ylabel="Upsampled")

    # GriffinLim
    n_fft = 1024
    spectrogram = T.Spectrogram(n_fft=n_fft)
    griffin_lim = T.GriffinLim(n_fft=n_fft)

    spec = spectrogram(SPEECH_WAVEFORM)
    reconstructed_waveform = griffin_lim(spec)
    results["griffin_lim_spec"] = spec.numpy()
    results["reconstructed_waveform"] = reconstructed_waveform.numpy()

    # Mel Filter Bank
    n_fft = 256
    n_mels = 64
    sample_rate = 6000

    mel_filters = F.melscale_fbanks(
        int(n_fft // 2 + 1),
        n_mels=n_mels,
        f_min=0.0,
        f_max=sample_rate / 2.0,
        sample_rate=sample_rate,
        norm="slaney",
    )
    results["mel_filters"] = mel_filters.numpy()

    # MelSpectrogram
    n_fft = 1024
    win_length = None
    hop_length = 512
    n_mels = 128

    mel_spectrogram = T.MelSpectrogram(
        sample_rate=sample_rate,
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop_length,
        center=True,
        pad_mode="reflect",
        power=2.0,
        norm="slaney",
        n_mels=n_mels,
        mel_scale="htk",
    )

    melspec = mel_spectrogram(SPEECH_WAVEFORM)
    results["melspec"] = melspec.numpy()
    plot_spectrogram(melspec[0], title="MelSpectrogram - torchaudio", ylabel="mel freq")

    # MFCC
    n_fft = 2048
    win_length = None
    hop_length = 512
    n_mels = 256
    n_mfcc = 256

    mfcc_transform = T.MFCC(
        sample_rate=sample_rate,
        n_mfcc=n_mfcc,
        melkwargs={
            "n_fft": n_fft,
            "n_mels": n_mels,
            "hop_length": hop_length,
            "mel_scale": "htk",
        },
    )

    mfcc = mfcc_transform(SPEECH_WAVEFORM)
    results["mfcc"] = mfcc.numpy()

    # LFCC
    n_fft = 2048
    win_length = None
    hop_length = 512
    n_lfcc = 256

    lfcc_transform = T.LFCC(
        sample_rate=sample_rate,
        n_lfcc=n_lfcc,
        speckwargs={
            "n_fft": n_fft,
            "win_length": win_length,
            "hop_length": hop_length,
        },
    )

    lfcc = lfcc_transform(SPEECH_WAVEFORM)
    results["lfcc"] = lfcc.numpy()

    # Pitch
    pitch = F.detect_pitch_frequency(SPEECH_WAVEFORM, SAMPLE_RATE)
    results["pitch"] = pitch.numpy()
    results["sample_rate"] = SAMPLE_RATE
    return results
