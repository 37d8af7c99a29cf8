"""Audio data augmentation, after torchaudio's tutorial examples/tutorials/audio_data_augmentation_tutorial.py
(Moto Hira): a room impulse response cut out of a recording and normalised with
``torch.linalg.vector_norm``, applied with ``torchaudio.functional.fftconvolve``; background noise at
several SNRs with ``functional.add_noise`` (an SNR tensor of three values against one clip); and the
"phone recording" chain's RIR and noise steps. The tutorial's earlier version applied the RIR with
``torch.flip``, ``torch.nn.functional.pad`` and ``conv1d`` and mixed noise by hand (``norm(p=2)``); that
form runs too, beside the new one.

What changes: the four VOiCES / train-whistle recordings are generated (8 kHz 16-bit WAVs written with the
standard library's ``wave``, read back with ``torchaudio.load``); ``torchaudio.io.AudioEffector`` (ffmpeg
filters and codecs) and the plots are left out. ``main`` returns the waveforms.
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


def write_wav(path, signal, sample_rate):
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())


def make_assets(folder, sample_rate=8000, seconds=1.0, seed=0):
    """speech.wav (a voiced sound with a gliding pitch), rir.wav (1.5 s: silence, then an impulse at 1.01 s
    and its decaying echoes), noise.wav (babble-like: band-passed noise, amplitude-modulated, longer than the speech)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    f0 = 120 + 70 * t / seconds
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    speech = sum(np.exp(-((k * f0 - 700) / 300) ** 2) * np.sin(k * phase) * (k * f0 < sample_rate / 2)
                 for k in range(1, 25))
    speech = 0.5 * speech / np.abs(speech).max() + 0.003 * rng.normal(size=t.size)
    rir = np.zeros(int(1.5 * sample_rate))
    start = int(1.01 * sample_rate) + 8
    tail = np.arange(rir.size - start) / sample_rate
    rir[start:] = rng.normal(size=tail.size) * np.exp(-tail / 0.05) * 0.3
    rir[start] = 0.9
    rir[:start] += 0.002 * rng.normal(size=start)
    t_noise = np.arange(int(sample_rate * seconds * 1.5)) / sample_rate
    noise = np.convolve(rng.normal(size=t_noise.size + 31), np.hanning(32), mode="valid")[: t_noise.size]
    noise *= 0.1 * (1 + 0.5 * np.sin(2 * np.pi * 3 * t_noise)) / np.abs(noise).max()
    paths = {}
    for name, signal in (("speech", speech), ("rir", rir), ("noise", noise)):
        paths[name] = os.path.join(folder, f"{name}.wav")
        write_wav(paths[name], signal, sample_rate)
    return paths["speech"], paths["rir"], paths["noise"]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Audio data augmentation")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    results = {}

    with tempfile.TemporaryDirectory() as folder:
        SAMPLE_SPEECH, SAMPLE_RIR, SAMPLE_NOISE = make_assets(folder, seconds=args.seconds)

        # Simulating room reverberation
        rir_raw, sample_rate = torchaudio.load(SAMPLE_RIR)

        rir = rir_raw[:, int(sample_rate * 1.01) : int(sample_rate * 1.3)]
        rir = rir / torch.linalg.vector_norm(rir, ord=2)
        results["rir"] = rir.numpy()

        speech, _ = torchaudio.load(SAMPLE_SPEECH)
        augmented = F.fftconvolve(speech, rir)
        results["speech"], results["augmented"] = speech.numpy(), augmented.numpy()

        # (the tutorial's earlier version: conv1d with the flipped RIR)
        rir_old = rir_raw[:, int(sample_rate * 1.01) : int(sample_rate * 1.3)]
        rir_old = rir_old / torch.norm(rir_old, p=2)
        RIR = torch.flip(rir_old, [1])
        speech_ = torch.nn.functional.pad(speech, (RIR.shape[1] - 1, 0))
        augmented_old = torch.nn.functional.conv1d(speech_[None, ...], RIR[None, ...])[0]
        results["augmented_conv1d"] = augmented_old.numpy()

        # Adding background noise
        speech, _ = torchaudio.load(SAMPLE_SPEECH)
        noise, _ = torchaudio.load(SAMPLE_NOISE)
        noise = noise[:, : speech.shape[1]]

        snr_dbs = torch.tensor([20, 10, 3])
        noisy_speeches = F.add_noise(speech, noise, snr_dbs)
        results["noise"], results["noisy_speeches"] = noise.numpy(), noisy_speeches.numpy()
        for i in range(len(snr_dbs)):
            snr_db, noisy_speech = snr_dbs[i], noisy_speeches[i : i + 1]
            results[f"SNR: {snr_db} [dB]"] = noisy_speech.numpy()

        # (the tutorial's earlier version: mixing by hand)
        speech_rms = speech.norm(p=2)
        noise_rms = noise.norm(p=2)
        noisy_old = []
        for snr_db in [20, 10, 3]:
            snr = 10 ** (snr_db / 20)
            scale = snr * noise_rms / speech_rms
            noisy_old.append((scale * speech + noise) / 2)
        results["noisy_by_hand"] = torch.cat(noisy_old).numpy()

        # Simulating a phone recoding
        sample_rate = 16000
        original_speech, sample_rate = torchaudio.load(SAMPLE_SPEECH)

        # Apply RIR
        rir_applied = F.fftconvolve(speech, rir)

        # Add background noise
        noise, _ = torchaudio.load(SAMPLE_NOISE)
        noise = noise[:, : rir_applied.shape[1]]

        snr_db = torch.tensor([8])
        bg_added = F.add_noise(rir_applied, noise, snr_db)
        results["bg_added"] = bg_added.numpy()
    return results
