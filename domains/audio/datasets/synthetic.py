"""``SyntheticVowels``: a built-in spoken-vowel dataset that needs no download.

Each clip is one vowel (a, e, i, o, u) made by source-filter synthesis: a glottal harmonic source (a
pitch contour with declination, vibrato and jitter; spectral tilt; breathiness noise) shaped by four
formant resonances, with an attack/decay envelope, placed at a random time in the clip, mixed with
background noise at a random SNR, and coloured by a random "microphone" EQ. Speakers differ in vocal-tract
length (all formants scaled together), mean pitch, breathiness and channel, and the training, validation and
testing splits have different speakers. Pitch, loudness, duration and position carry no class information,
so a classifier has to read the formant pattern, relative to the speaker's vocal-tract scale, from the
spectrum.

Everything is generated from ``(seed, split, index)`` alone: the same arguments give the same samples on every
machine, item by item (so any subset is cheap), and a ``root`` caches generated clips on disk.
"""

from __future__ import annotations

import hashlib
import math
import os

import ember
import numpy as np
from ember.data.dataset import Dataset

# Peterson & Barney (1952) adult male averages F1-F3 (Hz), F4 ~ 3500 Hz.
VOWEL_FORMANTS = {
    "a": (730.0, 1090.0, 2440.0, 3400.0),
    "e": (530.0, 1840.0, 2480.0, 3500.0),
    "i": (270.0, 2290.0, 3010.0, 3700.0),
    "o": (570.0, 840.0, 2410.0, 3400.0),
    "u": (300.0, 870.0, 2240.0, 3300.0),
}
_SPLITS = {"training": 0, "validation": 1, "testing": 2}
_SPEAKERS = {"training": 48, "validation": 12, "testing": 12}
_VERSION = 1  # bump when the synthesis changes, so stale caches are not reused


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def _speaker(seed: int, split: int, speaker: int) -> dict:
    rng = _rng(seed, split, 1, speaker)
    vtl = rng.uniform(0.85, 1.18)  # formant scale: >1 for shorter vocal tracts
    # mean pitch loosely follows vocal-tract size (children/women higher), with wide spread
    f0 = float(np.exp(rng.normal(np.log(110.0) + 1.6 * np.log(vtl), 0.18)))
    return {
        "vtl": vtl, "f0": float(np.clip(f0, 75.0, 320.0)), "breath": rng.uniform(0.0, 0.25),
        "tilt": rng.uniform(0.7, 1.4), "eq_tilt_db": rng.uniform(-3.0, 3.0),
        "eq_bumps": [(rng.uniform(200.0, 3600.0), rng.uniform(150.0, 900.0), rng.uniform(-6.0, 6.0))
                     for _ in range(2)],
    }


def _formant_gain(freqs: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """|H(f)| of cascaded second-order resonances, each normalised to 1 at DC."""
    gain = np.ones_like(freqs)
    for f_i, b_i in zip(formants, bandwidths):
        gain = gain * f_i**2 / np.sqrt((f_i**2 - freqs**2) ** 2 + (freqs * b_i) ** 2)
    return gain


def synthesize_vowel(vowel: int, speaker: dict, rng: np.random.Generator, sample_rate: int,
                     num_samples: int) -> np.ndarray:
    """One clip (float64, ``num_samples``) of vowel class ``vowel`` spoken by ``speaker``."""
    base = np.array(list(VOWEL_FORMANTS.values())[vowel])
    formants = base * speaker["vtl"] * np.exp(rng.normal(0.0, 0.04, 4))
    formants = np.minimum(formants, 0.45 * sample_rate)
    bandwidths = np.array([60.0, 90.0, 140.0, 200.0]) * rng.uniform(0.7, 1.5, 4)

    duration = int(rng.uniform(0.3, 0.75) * num_samples)
    onset = int(rng.integers(0, num_samples - duration + 1))
    t = np.arange(duration) / sample_rate
    f0 = speaker["f0"] * np.exp(rng.normal(0.0, 0.06))
    contour = f0 * (1 + rng.uniform(-0.15, 0.08) * t / max(t[-1], 1e-3))  # declination or rise
    contour = contour * (1 + rng.uniform(0.0, 0.015) * np.sin(2 * math.pi * rng.uniform(4.0, 6.5) * t))
    contour = contour * np.exp(np.cumsum(rng.normal(0.0, 0.002, duration)))  # jitter (random walk)
    phase = 2 * math.pi * np.cumsum(contour) / sample_rate

    n_harmonics = int(0.48 * sample_rate / contour.min())
    k = np.arange(1, n_harmonics + 1)[:, None]
    # harmonic amplitudes change slowly: evaluate them every `step` samples and interpolate linearly
    step = 32
    coarse = contour[::step]
    harmonic_freqs = k * coarse[None, :]
    amplitude = (1.0 / k) ** speaker["tilt"] * _formant_gain(harmonic_freqs, formants, bandwidths)
    amplitude *= harmonic_freqs < 0.48 * sample_rate
    position = np.arange(duration) / step
    left = np.minimum(position.astype(np.int64), len(coarse) - 1)
    right = np.minimum(left + 1, len(coarse) - 1)
    frac = position - left
    amplitude = (amplitude[:, left] * (1 - frac) + amplitude[:, right] * frac).astype(np.float32)
    # phases in cycles, reduced mod 1 in float64, then a float32 sine (vectorised, much faster than float64)
    cycles = k * (phase / (2 * math.pi))[None, :] + rng.uniform(0.0, 1.0, (n_harmonics, 1))
    cycles = (cycles - np.floor(cycles)).astype(np.float32)
    voice = (amplitude * np.sin(cycles * np.float32(2 * math.pi))).sum(0, dtype=np.float64)

    # breathiness: noise through the same formants (aspiration), scaled to the voiced level
    breath = np.fft.rfft(rng.standard_normal(duration))
    freqs = np.fft.rfftfreq(duration, 1.0 / sample_rate)
    breath = np.fft.irfft(breath * _formant_gain(freqs, formants, bandwidths) / np.maximum(freqs, 100.0) * 100.0,
                          n=duration)
    voice = voice + speaker["breath"] * breath * voice.std() / max(breath.std(), 1e-9)

    ramp = max(int(rng.uniform(0.015, 0.06) * sample_rate), 1)
    envelope = np.ones(duration)
    envelope[:ramp] = 0.5 - 0.5 * np.cos(np.linspace(0, math.pi, ramp))
    envelope[-ramp:] = envelope[:ramp][::-1]
    clip = np.zeros(num_samples)
    clip[onset : onset + duration] = voice * envelope
    voiced_rms = np.sqrt(np.mean((voice * envelope) ** 2)) + 1e-12

    # background noise (white to pink) at 5-30 dB SNR relative to the vowel
    noise_spec = np.fft.rfft(rng.standard_normal(num_samples))
    all_freqs = np.fft.rfftfreq(num_samples, 1.0 / sample_rate)
    noise_spec *= np.maximum(all_freqs, 20.0) ** (-rng.uniform(0.0, 0.5))
    noise = np.fft.irfft(noise_spec, n=num_samples)
    snr_db = rng.uniform(5.0, 30.0)
    clip = clip + noise / (noise.std() + 1e-12) * voiced_rms * 10 ** (-snr_db / 20)

    # channel colouring: the speaker's microphone EQ (tilt + two bumps) with a little per-take variation
    eq_db = speaker["eq_tilt_db"] * np.log2(np.maximum(all_freqs, 50.0) / 1000.0)
    for centre, width, level in speaker["eq_bumps"]:
        eq_db += (level + rng.normal(0.0, 1.0)) * np.exp(-0.5 * ((all_freqs - centre) / width) ** 2)
    clip = np.fft.irfft(np.fft.rfft(clip) * 10 ** (eq_db / 20), n=num_samples)

    loudness_db = rng.uniform(-36.0, -18.0)  # voiced RMS in dBFS
    clip *= 10 ** (loudness_db / 20) / voiced_rms
    return np.clip(clip, -1.0, 1.0)


class SyntheticVowels(Dataset):
    """Five synthesised vowels (a, e, i, o, u) with speaker, pitch, loudness, timing, noise and channel
    variation; no download needed.

    Items are ``(waveform, label)``: ``waveform`` is ``Tensor[1, sample_rate * duration]`` (float32), ``label``
    an int indexing :attr:`classes`. Speakers of the three splits are disjoint.

    Args:
        root: if given, generated clips are cached under ``root/SyntheticVowels/``.
        subset: "training", "validation" or "testing".
        num_samples: number of clips (default 1000 / 200 / 200 for the three splits), balanced over classes.
        sample_rate: 8000 (default) or any rate >= 8000.
        duration: clip length in seconds.
        seed: generation seed; same seed, same data.
        transform, target_transform: applied to the waveform / the label.

    Example:
        >>> data = SyntheticVowels(subset="testing", num_samples=10)
        >>> waveform, label = data[3]
        >>> waveform.shape, data.classes[label]
        (ember.Size([1, 8000]), 'o')
    """

    classes = list(VOWEL_FORMANTS)  # noqa: RUF012 (a plain list, as torchvision datasets have)

    def __init__(self, root=None, subset: str = "training", num_samples: int | None = None, sample_rate: int = 8000,
                 duration: float = 1.0, seed: int = 0, transform=None, target_transform=None) -> None:
        if subset not in _SPLITS:
            raise ValueError(f"subset must be one of {list(_SPLITS)}, got {subset!r}")
        if sample_rate < 8000:
            raise ValueError(f"sample_rate must be >= 8000 Hz (formants reach 3.7 kHz), got {sample_rate}")
        self.subset, self.sample_rate, self.duration, self.seed = subset, int(sample_rate), float(duration), int(seed)
        self.num_samples = num_samples if num_samples is not None else {"training": 1000}.get(subset, 200)
        self.num_speakers = _SPEAKERS[subset]
        self.transform, self.target_transform = transform, target_transform
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self._length = round(self.duration * self.sample_rate)
        self._cache: dict[int, np.ndarray] = {}
        self._cache_file = None
        if root is not None:
            key = f"v{_VERSION}-{subset}-{self.num_samples}-{self.sample_rate}-{self.duration}-{self.seed}"
            digest = hashlib.sha1(key.encode()).hexdigest()[:12]
            folder = os.path.join(os.fspath(root), "SyntheticVowels")
            self._cache_file = os.path.join(folder, f"{subset}-{digest}.npy")
            if os.path.exists(self._cache_file):
                self._array = np.load(self._cache_file, mmap_mode="r")
            else:
                os.makedirs(folder, exist_ok=True)
                self._array = np.stack([self._generate(i) for i in range(self.num_samples)]).astype(np.float32)
                tmp = self._cache_file + f".tmp{os.getpid()}.npy"
                np.save(tmp, self._array)
                os.replace(tmp, self._cache_file)
        else:
            self._array = None

    def __len__(self) -> int:
        return self.num_samples

    def label(self, index: int) -> int:
        """Class index of item ``index`` (labels cycle through the classes, so splits are balanced)."""
        return index % len(self.classes)

    def speaker(self, index: int) -> int:
        """Speaker id (within the split) of item ``index``."""
        return (index // len(self.classes)) % self.num_speakers

    def _generate(self, index: int) -> np.ndarray:
        split = _SPLITS[self.subset]
        speaker = _speaker(self.seed, split, self.speaker(index))
        rng = _rng(self.seed, split, 2, index)
        return synthesize_vowel(self.label(index), speaker, rng, self.sample_rate, self._length).astype(np.float32)

    def __getitem__(self, index: int):
        if not -self.num_samples <= index < self.num_samples:
            raise IndexError(f"SyntheticVowels index {index} out of range for {self.num_samples} clips")
        index = index % self.num_samples
        if self._array is not None:
            clip = np.array(self._array[index])
        else:
            clip = self._cache.get(index)
            if clip is None:
                clip = self._cache[index] = self._generate(index)
            clip = clip.copy()
        waveform = ember.from_numpy(clip[None, :])
        target = self.label(index)
        if self.transform is not None:
            waveform = self.transform(waveform)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return waveform, target
