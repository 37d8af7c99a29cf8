"""convolve, fftconvolve, add_noise, speed, pre/deemphasis, loudness, spectral_centroid, vad and
sliding_window_cmn against torchaudio: values, and gradients where torchaudio has them."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember.audio import functional as F

from .._torchaudio import import_torchaudio
from .test_filtering import _assert_same_values_and_grads


def _rand(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


@pytest.mark.parity
@pytest.mark.parametrize("name", ["convolve", "fftconvolve"])
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("x_shape, y_shape", [((2, 3, 50), (2, 3, 9)), ((2, 1, 8), (1, 3, 30)), ((40,), (40,))])
def test_convolutions_match_torchaudio(name, mode, x_shape, y_shape):
    _, torchaudio = import_torchaudio()
    _assert_same_values_and_grads(lambda x, y: getattr(F, name)(x, y, mode),
                                  lambda x, y: getattr(torchaudio.functional, name)(x, y, mode),
                                  _rand(x_shape, 1), _rand(y_shape, 2), rtol=1e-7, atol=1e-9)


def test_convolve_rejects_bad_mode_and_shapes():
    with pytest.raises(ValueError, match="mode"):
        F.convolve(ember.randn(5), ember.randn(3), "middle")
    with pytest.raises(ValueError, match="broadcastable"):
        F.fftconvolve(ember.randn(2, 5), ember.randn(3, 3))


@pytest.mark.parity
@pytest.mark.parametrize("with_lengths", [False, True])
def test_add_noise_matches_torchaudio(with_lengths):
    torch, torchaudio = import_torchaudio()
    x, noise, snr = _rand((2, 3, 200), 1), _rand((2, 3, 200), 2), np.array([[10.0, 3.0, -5.0], [0.0, 20.0, 7.5]])
    lengths = np.array([[200, 150, 20], [1, 100, 199]])
    ours = F.add_noise(*(ember.tensor(a, requires_grad=True) for a in (x, noise, snr)),
                       lengths=ember.tensor(lengths) if with_lengths else None)
    ref = torchaudio.functional.add_noise(*(torch.tensor(a) for a in (x, noise, snr)),
                                          lengths=torch.tensor(lengths) if with_lengths else None)
    np.testing.assert_allclose(ours.detach().numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    _assert_same_values_and_grads(
        lambda a, b, c: F.add_noise(a, b, c, ember.tensor(lengths) if with_lengths else None),
        lambda a, b, c: torchaudio.functional.add_noise(a, b, c, torch.tensor(lengths) if with_lengths else None),
        x, noise, snr)


def test_add_noise_rejects_mismatched_leading_dims():
    with pytest.raises(ValueError, match="leading dimensions"):
        F.add_noise(ember.randn(2, 10), ember.randn(2, 10), ember.tensor(3.0))


@pytest.mark.parity
@pytest.mark.parametrize("factor", [0.9, 1.1, 1.0, 1.5])
def test_speed_matches_torchaudio(factor):
    torch, torchaudio = import_torchaudio()
    x = _rand((2, 3, 4000), 3).astype(np.float32)
    lengths = np.array([4000, 3111])
    ours, ours_len = F.speed(ember.tensor(x), 16000, factor, ember.tensor(lengths))
    ref, ref_len = torchaudio.functional.speed(torch.tensor(x), 16000, factor, torch.tensor(lengths))
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-5)
    np.testing.assert_array_equal(ours_len.numpy(), ref_len.numpy())
    assert F.speed(ember.tensor(x), 16000, factor)[1] is None


@pytest.mark.parity
@pytest.mark.parametrize("name", ["preemphasis", "deemphasis"])
def test_emphasis_matches_torchaudio(name):
    _, torchaudio = import_torchaudio()
    _assert_same_values_and_grads(lambda x: getattr(F, name)(x, 0.9),
                                  lambda x: getattr(torchaudio.functional, name)(x, 0.9), _rand((2, 3, 300), 4, 0.1))


@pytest.mark.parity
@pytest.mark.parametrize("channels", [1, 2, 5])
def test_loudness_matches_torchaudio(channels):
    _, torchaudio = import_torchaudio()
    x = _rand((2, channels, 16000), 5, 0.1)
    x[1, :, :6000] *= 1e-4  # a quiet start: the gates drop its blocks
    _assert_same_values_and_grads(lambda w: F.loudness(w, 16000), lambda w: torchaudio.functional.loudness(w, 16000),
                                  x, rtol=1e-6, atol=1e-7)


@pytest.mark.parity
def test_spectral_centroid_matches_torchaudio():
    torch, torchaudio = import_torchaudio()
    x = _rand((2, 3, 4000), 6).astype(np.float32)
    ours = F.spectral_centroid(ember.tensor(x), 16000, 0, F.hann_window(400), 400, 200, 400)
    ref = torchaudio.functional.spectral_centroid(torch.tensor(x), 16000, 0, torch.hann_window(400), 400, 200, 400)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-4)


def _speech_like(seed=7, sample_rate=16000):
    rng = np.random.default_rng(seed)
    t = np.arange(sample_rate) / sample_rate
    voiced = 0.4 * np.sin(2 * math.pi * 220 * t) * (1 + 0.5 * np.sin(2 * math.pi * 3 * t))
    return np.concatenate([rng.standard_normal(sample_rate // 2) * 1e-3, voiced]).astype(np.float32)


@pytest.mark.parity
@pytest.mark.parametrize("shape, kwargs", [((1,), {}), ((2,), {"pre_trigger_time": 0.1, "trigger_level": 5.0}),
                                           ((), {"search_time": 0.5})])
def test_vad_trims_where_torchaudio_does(shape, kwargs):
    torch, torchaudio = import_torchaudio()
    x = np.broadcast_to(_speech_like(), shape + (24000,)).copy()
    ours = F.vad(ember.tensor(x), 16000, **kwargs)
    ref = torchaudio.functional.vad(torch.tensor(x), 16000, **kwargs)
    assert tuple(ours.shape) == tuple(ref.shape) and ours.shape[-1] < 24000
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{}, {"center": True, "norm_vars": True, "cmn_window": 20, "min_cmn_window": 5},
                                    {"cmn_window": 10, "min_cmn_window": 3, "norm_vars": True}])
def test_sliding_window_cmn_matches_torchaudio(kwargs):
    torch, torchaudio = import_torchaudio()
    x = _rand((2, 3, 60, 13), 8)
    ref = torchaudio.functional.sliding_window_cmn(torch.tensor(x), **kwargs)
    np.testing.assert_allclose(F.sliding_window_cmn(ember.tensor(x), **kwargs).numpy(), ref.numpy(), rtol=1e-8,
                               atol=1e-10)


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{}, {"win_length": 5, "freq_low": 100, "freq_high": 1000, "frame_time": 0.02}])
def test_detect_pitch_frequency_matches_torchaudio(kwargs):
    torch, torchaudio = import_torchaudio()
    t = np.arange(8000) / 8000
    rng = np.random.default_rng(9)
    x = np.stack([np.sin(2 * math.pi * f * t) + 0.3 * rng.standard_normal(8000) for f in (150, 220, 330)])
    x = x.reshape(1, 3, 8000).astype(np.float32)
    ours = F.detect_pitch_frequency(ember.tensor(x), 8000, **kwargs)
    ref = torchaudio.functional.detect_pitch_frequency(torch.tensor(x), 8000, **kwargs)
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)
