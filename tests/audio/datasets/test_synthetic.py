"""SyntheticVowels: deterministic, cached, balanced, with the variation the docs promise."""

from __future__ import annotations

import numpy as np
import pytest
from ember.audio.datasets import SyntheticVowels


def test_items_are_deterministic_and_independent_of_access_order():
    a = SyntheticVowels(subset="testing", num_samples=10, seed=3)
    b = SyntheticVowels(subset="testing", num_samples=10, seed=3)
    np.testing.assert_array_equal(a[7][0].numpy(), b[7][0].numpy())  # b generates item 7 first
    np.testing.assert_array_equal(a[2][0].numpy(), b[2][0].numpy())
    c = SyntheticVowels(subset="testing", num_samples=10, seed=4)
    assert not np.allclose(a[2][0].numpy(), c[2][0].numpy())


def test_shapes_labels_and_balance():
    data = SyntheticVowels(subset="validation", num_samples=20)
    waveform, _ = data[0]
    assert waveform.shape == (1, 8000) and waveform.dtype.is_floating_point
    labels = [data[i][1] for i in range(20)]
    assert np.bincount(labels).tolist() == [4, 4, 4, 4, 4]
    assert data.classes == ["a", "e", "i", "o", "u"]
    assert float(waveform.abs().max()) <= 1.0
    with pytest.raises(IndexError):
        data[20]


def test_splits_have_different_speakers_and_clips():
    train = SyntheticVowels(subset="training", num_samples=5)
    test = SyntheticVowels(subset="testing", num_samples=5)
    for i in range(5):
        assert not np.allclose(train[i][0].numpy(), test[i][0].numpy())


def test_disk_cache_round_trip(tmp_path):
    fresh = SyntheticVowels(tmp_path, subset="testing", num_samples=6)
    files = list((tmp_path / "SyntheticVowels").glob("*.npy"))
    assert len(files) == 1
    cached = SyntheticVowels(tmp_path, subset="testing", num_samples=6)
    np.testing.assert_array_equal(cached[5][0].numpy(), fresh[5][0].numpy())
    np.testing.assert_array_equal(cached[5][0].numpy(), SyntheticVowels(subset="testing", num_samples=6)[5][0].numpy())


def _spectral_peak(clip: np.ndarray, sr: int = 8000) -> np.ndarray:
    return np.abs(np.fft.rfft(clip * np.hanning(len(clip))))


def test_variation_in_loudness_timing_and_pitch():
    data = SyntheticVowels(subset="training", num_samples=40)
    clips = np.stack([data[i][0].numpy()[0] for i in range(40)])
    rms = np.sqrt((clips**2).mean(1))
    assert rms.max() / rms.min() > 3  # loudness varies by more than ~10 dB
    onsets = [np.argmax(np.abs(c) > 0.3 * np.abs(c).max()) for c in clips]
    assert np.ptp(onsets) > 1000  # vowels start at different times
    # the same vowel from different speakers has different fundamental frequencies
    def f0(clip):
        ac = np.correlate(clip[2000:6000], clip[2000:6000], "full")[4000:]
        lo, hi = 8000 // 350, 8000 // 70
        return 8000 / (lo + np.argmax(ac[lo:hi]))

    pitches = [f0(clips[i]) for i in range(0, 40, 5)]  # class "a", eight different speakers
    assert max(pitches) / min(pitches) > 1.3


def test_invalid_arguments():
    with pytest.raises(ValueError, match="subset"):
        SyntheticVowels(subset="train")
    with pytest.raises(ValueError, match="sample_rate"):
        SyntheticVowels(sample_rate=4000)
