"""Companding, emphasis, gain, fades, noise at a given SNR, deltas, masking and pitch shifting."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember.audio import functional as F


def test_mu_law_round_trip_and_codes():
    x = ember.linspace(-1, 1, 1001)
    codes = F.mu_law_encoding(x, 256)
    assert codes.dtype == ember.int64 and int(codes.min()) == 0 and int(codes.max()) == 255
    y = F.mu_law_decoding(codes, 256)
    # mu-law quantisation error is small near zero and grows with amplitude
    err = (y - x).abs().numpy()
    assert err.max() < 0.035 and err[480:520].max() < 0.001


@pytest.mark.parity
def test_mu_law_matches_torchaudio_formula():
    torch = pytest.importorskip("torch")
    x = torch.linspace(-1, 1, 301)
    mu = torch.tensor(255.0)
    ref = ((torch.sign(x) * torch.log1p(mu * x.abs()) / torch.log1p(mu) + 1) / 2 * mu + 0.5).to(torch.int64)
    np.testing.assert_array_equal(F.mu_law_encoding(ember.tensor(x.numpy()), 256).numpy(), ref.numpy())


def test_preemphasis_definition():
    x = np.random.default_rng(0).standard_normal((2, 50)).astype(np.float32)
    y = F.preemphasis(ember.tensor(x), 0.97).numpy()
    np.testing.assert_allclose(y[:, 1:], x[:, 1:] - 0.97 * x[:, :-1], rtol=1e-6)
    np.testing.assert_array_equal(y[:, 0], x[:, 0])


@pytest.mark.parametrize("shape", ["linear", "exponential", "logarithmic", "quarter_sine", "half_sine"])
def test_fade_curves_are_monotone_ramps(shape):
    from ember.audio.functional.effects import fade_curves

    curve = fade_curves(100, 30, 20, shape)
    assert np.all(np.diff(curve[:30]) >= 0) and np.all(np.diff(curve[80:]) <= 0)
    assert np.all(curve[30:80] == 1.0) and curve[0] < 0.1 and curve[-1] < 0.1


def test_add_noise_reaches_requested_snr():
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((3, 4000)).astype(np.float64))
    noise = ember.tensor(rng.standard_normal((3, 4000)).astype(np.float64) * 7)
    snr = ember.tensor([0.0, 10.0, 20.0], dtype=ember.float64)
    y = F.add_noise(x, noise, snr)
    added = (y - x).numpy()
    measured = 10 * np.log10((x.numpy() ** 2).sum(-1) / (added**2).sum(-1))
    np.testing.assert_allclose(measured, [0.0, 10.0, 20.0], atol=1e-6)


def test_add_noise_lengths_measure_only_valid_samples():
    x = ember.ones(1, 100)
    noise = ember.ones(1, 100)
    x._data[0, 50:] = 100.0  # padding that must not count as signal
    y = F.add_noise(x, noise, ember.tensor([0.0]), lengths=ember.tensor([50]))
    np.testing.assert_allclose((y - x).numpy()[0, :50], 1.0, rtol=1e-5)


@pytest.mark.parity
def test_compute_deltas_matches_conv_definition():
    torch = pytest.importorskip("torch")
    spec = np.random.default_rng(2).standard_normal((2, 5, 30)).astype(np.float32)
    n = 3  # win_length 7
    padded = torch.nn.functional.pad(torch.from_numpy(spec).reshape(1, 10, 30), (n, n), mode="replicate")
    kernel = torch.arange(-n, n + 1, dtype=torch.float32).repeat(10, 1, 1)
    ref = torch.nn.functional.conv1d(padded, kernel, groups=10) / (n * (n + 1) * (2 * n + 1) / 3)
    ours = F.compute_deltas(ember.tensor(spec), win_length=7)
    np.testing.assert_allclose(ours.numpy(), ref.reshape(2, 5, 30).numpy(), atol=1e-5)


def test_iid_masks_differ_per_example_and_respect_mask_param():
    ember.manual_seed(3)
    spec = ember.ones(8, 1, 20, 50)
    masked = F.mask_along_axis_iid(spec, 10, 0.0, axis=3).numpy()
    widths = (masked[:, 0, 0, :] == 0).sum(-1)
    assert np.all(widths < 10)
    assert len({tuple(np.flatnonzero(m[0, 0] == 0)) for m in masked}) > 1  # different masks per example
    assert np.all((masked == 0).all(axis=2) == (masked[:, :, 0, :] == 0))  # whole frequency columns


def test_shared_mask_is_the_same_for_all_examples_and_p_limits_width():
    ember.manual_seed(4)
    masked = F.mask_along_axis(ember.ones(4, 20, 50), 40, -1.0, axis=1, p=0.1).numpy()
    assert (masked == -1).any()
    rows = (masked == -1).all(axis=2)
    assert (rows == rows[:1]).all() and rows[0].sum() < 2  # p=0.1 of 20 rows -> at most 1 masked row


def test_masking_is_reproducible_from_the_seed():
    ember.manual_seed(7)
    a = F.mask_along_axis_iid(ember.ones(4, 1, 20, 50), 10, 0.0, axis=2).numpy()
    ember.manual_seed(7)
    b = F.mask_along_axis_iid(ember.ones(4, 1, 20, 50), 10, 0.0, axis=2).numpy()
    np.testing.assert_array_equal(a, b)


def test_pitch_shift_moves_a_sine_by_the_right_ratio():
    sr = 16000
    x = ember.tensor(np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32))
    y = F.pitch_shift(x, sr, 12).numpy()  # one octave up
    assert y.shape == (sr,)
    seg = y[2000:-2000]
    peak = np.argmax(np.abs(np.fft.rfft(seg * np.hanning(len(seg))))) * sr / len(seg)
    assert abs(peak - 880) < 10, peak


def test_gain_in_db():
    np.testing.assert_allclose(F.gain(ember.ones(3), 20.0).numpy(), 10.0, rtol=1e-6)
    assert math.isclose(float(F.gain(ember.ones(1), -6.0)[0]), 10 ** (-6 / 20), rel_tol=1e-6)
