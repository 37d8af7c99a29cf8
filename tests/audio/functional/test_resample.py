"""Resampling: frequency preserved, anti-aliasing, round trips, torchaudio's kernel and lengths."""

from __future__ import annotations

import importlib
import math

import ember
import numpy as np
import pytest
from ember.audio import functional as F
from ember.audio import transforms as T
from ember.autograd.gradcheck import gradcheck

resample_module = importlib.import_module("ember.audio.functional.resample")  # the module (F.resample is the function)


def _peak_frequency(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.argmax(spectrum) * sr / len(y)


@pytest.mark.parametrize("orig, new", [(16000, 8000), (8000, 16000), (44100, 16000), (16000, 22050), (48000, 44100)])
@pytest.mark.parametrize("method", ["sinc_interp_hann", "sinc_interp_kaiser"])
def test_sine_keeps_its_frequency(orig, new, method):
    freq = 1000.0
    x = np.sin(2 * np.pi * freq * np.arange(orig) / orig).astype(np.float32)
    y = F.resample(ember.tensor(x), orig, new, resampling_method=method).numpy()
    assert y.shape == (math.ceil(new * orig / orig),)
    assert abs(_peak_frequency(y, new) - freq) <= 1.0
    t = np.arange(new) / new
    np.testing.assert_allclose(y[200:-200], np.sin(2 * np.pi * freq * t)[200:-200], atol=2e-3)


def _stopband_leak_db(**kwargs) -> float:
    """White noise at 48 kHz keeping only its content above 8 kHz (the new Nyquist), resampled to 16 kHz:
    the energy that survives (aliased into 0-8 kHz) relative to the energy that went in, in dB."""
    noise = np.random.default_rng(0).standard_normal(48000 * 2)
    freqs = np.fft.rfftfreq(len(noise), 1 / 48000)
    high = np.fft.irfft(np.where(freqs >= 8000, np.fft.rfft(noise), 0), n=len(noise))
    leaked = F.resample(ember.tensor(high), 48000, 16000, **kwargs).numpy()
    return 10 * np.log10(np.mean(leaked[500:-500] ** 2) / np.mean(high**2))


@pytest.mark.parametrize("kwargs", [
    {"lowpass_filter_width": 16, "rolloff": 0.9},
    {"lowpass_filter_width": 32, "rolloff": 0.9, "resampling_method": "sinc_interp_kaiser"},
])
def test_downsampling_white_noise_leaves_energy_above_new_nyquist_60db_down(kwargs):
    assert _stopband_leak_db(**kwargs) < -60


def test_default_filter_trades_stopband_for_bandwidth_like_torchaudio():
    # torchaudio's defaults (width 6, rolloff 0.99) put the transition band across the new Nyquist: only about
    # 20 dB of aliasing rejection for white noise. Sharper settings buy more rejection.
    default = _stopband_leak_db()
    assert -30 < default < -15
    assert _stopband_leak_db(lowpass_filter_width=16) < default - 3


def test_round_trip_16k_8k_16k_keeps_band_limited_signal():
    sr = 16000
    t = np.arange(sr) / sr
    # band-limited to 2.5 kHz (0.62 of the 8 kHz rate's Nyquist, inside the default filter's flat passband)
    x = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1270 * t + 1) + 0.2 * np.sin(2 * np.pi * 2500 * t)
    x = ember.tensor(x[None].astype(np.float32))
    y = T.Resample(8000, 16000)(T.Resample(16000, 8000)(x))
    assert y.shape == x.shape
    err = (y - x).numpy()[:, 300:-300]
    assert np.sqrt(np.mean(err**2)) < 0.005 * np.sqrt(np.mean(x.numpy() ** 2))
    assert np.abs(err).max() < 0.005


@pytest.mark.parity
@pytest.mark.parametrize("orig, new, sparse", [(44100, 16000, False), (16000, 12000, False), (1021, 800, True)])
@pytest.mark.parametrize("method", ["sinc_interp_hann", "sinc_interp_kaiser"])
def test_matches_torchaudio_kernel_applied_with_torch_conv1d(orig, new, sparse, method):
    torch = pytest.importorskip("torch")
    gcd = math.gcd(orig, new)
    o, n = orig // gcd, new // gcd
    kernel, width = F.sinc_resample_kernel(orig, new, resampling_method=method, dtype=np.float64)
    assert kernel.shape == (n, 2 * width + o)
    x = np.random.default_rng(1).standard_normal((2, 3000))
    # torchaudio's application: pad (width, width + orig), conv1d with stride orig, interleave phases
    padded = torch.nn.functional.pad(torch.from_numpy(x), (width, width + o))
    out = torch.nn.functional.conv1d(padded[:, None], torch.from_numpy(kernel)[:, None], stride=o)
    ref = out.transpose(1, 2).reshape(2, -1)[:, : math.ceil(n * 3000 / o)].numpy()
    # the functional form takes the banded path when building the dense kernel would cost more than the band's
    # taps over the output (short waveforms, large reduced rates); the module keeps its dense kernel
    assert resample_module.use_sparse_kernel(orig, new, length=3000) == sparse
    assert not resample_module.use_sparse_kernel(orig, new)
    np.testing.assert_allclose(F.resample(ember.tensor(x), orig, new, resampling_method=method).numpy(), ref,
                               atol=1e-10)
    module = T.Resample(orig, new, method, dtype=ember.float64)
    np.testing.assert_allclose(module(ember.tensor(x)).numpy(), ref, atol=1e-10)


def test_batched_lengths_and_errors():
    x = ember.randn(2, 3, 1001)
    assert F.resample(x, 16000, 8000).shape == (2, 3, 501)
    assert F.resample(x, 16000, 16000) is x
    with pytest.raises(ValueError, match="integers"):
        F.resample(x, 44100, 5512.5)
    with pytest.raises(ValueError, match="positive"):
        F.resample(x, 0, 8000)


@pytest.mark.parametrize("orig, new", [(3, 2), (97, 16)])  # dense and banded kernels
def test_resample_is_differentiable(orig, new):
    assert resample_module.use_sparse_kernel(orig, new, 2, length=60) == (orig == 97)
    x = ember.randn(60, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda t: F.resample(t, orig, new, lowpass_filter_width=2), (x,))


@pytest.mark.parametrize("method", ["sinc_interp_hann", "sinc_interp_kaiser"])
def test_module_takes_the_band_only_for_much_longer_dense_rows(method):
    """Coprime 2003 -> 1000 Hz: dense rows 72x the band's, so Resample keeps the band; its output is the dense
    kernel's (whose taps come from the angle-addition formulas; the band's from the same function)."""
    assert resample_module.use_sparse_kernel(2003, 1000) and not resample_module.use_sparse_kernel(1601, 800)
    x = np.random.default_rng(2).standard_normal((2, 3000))
    module = T.Resample(2003, 1000, method, dtype=ember.float64)
    assert module.sparse
    kernel, width = F.sinc_resample_kernel(2003, 1000, resampling_method=method, dtype=np.float64)
    dense = resample_module.apply_resample_kernel(ember.tensor(x), 2003, 1000, ember.tensor(kernel), width)
    np.testing.assert_allclose(module(ember.tensor(x)).numpy(), dense.numpy(), atol=1e-12)
    # the taps by the angle-addition formulas are the directly computed sinc x window
    t = (np.arange(-width, width + 2003)[None, :] / 2003 - np.arange(1000)[:, None] / 1000) * 1000 * 0.99
    t = np.clip(t, -6, 6)
    window = (np.cos(t * np.pi / 12) ** 2 if method == "sinc_interp_hann"
              else np.i0(14.769656459379492 * np.sqrt(1 - (t / 6) ** 2)) / np.i0(14.769656459379492))
    np.testing.assert_allclose(kernel, np.sinc(t) * window * 1000 * 0.99 / 2003, atol=1e-15)
