"""Audio feature augmentation, after torchaudio's tutorial examples/tutorials/audio_feature_augmentation_tutorial.py
(Moto Hira): a complex spectrogram (``Spectrogram(power=None)``) stretched by ``TimeStretch`` with
``overriding_rate`` 1.2 and 0.9, heard back through ``InverseSpectrogram``, and ``TimeMasking`` /
``FrequencyMasking`` (``time_mask_param=80``, ``freq_mask_param=80``) of a power spectrogram after
``torch.random.manual_seed(4)``; the tutorial's numpy ``power_to_db`` of what it plots.

What changes: the VOiCES speech clip is a generated one (a voiced sound with a gliding pitch, written as a
16-bit WAV with the standard library's ``wave`` and read back with ``torchaudio.load``); no plots or
``IPython.display``. ``main`` returns the spectrograms, so that a test can compare them with torchaudio's.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import argparse
import os
import tempfile
import wave

import torch
import torchaudio
import torchaudio.transforms as T
import numpy as np

SAMPLE_WAV_SPEECH_PATH = None


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


def _get_sample(path):
    return torchaudio.load(path)


def get_speech_sample():
    return _get_sample(SAMPLE_WAV_SPEECH_PATH)


def get_spectrogram(
    n_fft=400,
    win_len=None,
    hop_len=None,
    power=2.0,
):
    waveform, _ = get_speech_sample()
    spectrogram = T.Spectrogram(
        n_fft=n_fft,
        win_length=win_len,
        hop_length=hop_len,
        center=True,
        pad_mode="reflect",
        power=power,
    )
    return spectrogram(waveform)


def power_to_db(S):
    S = np.asarray(S)
    return 10.0 * np.log10(np.maximum(1e-10, S))


def preview(spec, rate=16000):
    ispec = T.InverseSpectrogram()
    waveform = ispec(spec)

    return waveform[0].numpy().T


def main(argv=None):
    global SAMPLE_WAV_SPEECH_PATH
    parser = argparse.ArgumentParser(description="Audio feature augmentation")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    results = {}

    with tempfile.TemporaryDirectory() as folder:
        SAMPLE_WAV_SPEECH_PATH = os.path.join(folder, "speech.wav")
        make_speech(SAMPLE_WAV_SPEECH_PATH, seconds=args.seconds)

        # TimeStretch
        spec = get_spectrogram(power=None)
        stretch = T.TimeStretch()

        spec_12 = stretch(spec, overriding_rate=1.2)
        spec_09 = stretch(spec, overriding_rate=0.9)
        results["spec"], results["spec_12"], results["spec_09"] = spec.numpy(), spec_12.numpy(), spec_09.numpy()

        def plot():
            def plot_spec(ax, spec, title):
                results[title] = power_to_db(spec**2)

            plot_spec(None, torch.abs(spec_12[0]), title="Stretched x1.2")
            plot_spec(None, torch.abs(spec[0]), title="Original")
            plot_spec(None, torch.abs(spec_09[0]), title="Stretched x0.9")

        plot()

        results["speech"] = get_speech_sample()[0].numpy()
        results["preview"] = preview(spec)
        results["preview_12"] = preview(spec_12)
        results["preview_09"] = preview(spec_09)

        # Time and Frequency Masking
        torch.random.manual_seed(4)

        time_masking = T.TimeMasking(time_mask_param=80)
        freq_masking = T.FrequencyMasking(freq_mask_param=80)

        spec = get_spectrogram()
        time_masked = time_masking(spec)
        freq_masked = freq_masking(spec)
        results["power_spec"] = spec.numpy()
        results["time_masked"], results["freq_masked"] = time_masked.numpy(), freq_masked.numpy()

        def plot():
            def plot_spec(ax, spec, title):
                results[title] = power_to_db(spec)

            plot_spec(None, spec[0], title="Original power")
            plot_spec(None, time_masked[0], title="Masked along time axis")
            plot_spec(None, freq_masked[0], title="Masked along frequency axis")

        plot()
    return results
