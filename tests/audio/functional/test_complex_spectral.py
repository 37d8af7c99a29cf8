"""Complex spectra: stft(return_complex=True), istft of complex input, spectrogram(power=None) as torchaudio."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember.audio import functional as F
from ember.audio import transforms as T

from .._torchaudio import import_torchaudio


@pytest.mark.parity
@pytest.mark.parametrize("n_fft, hop, win_length, center, normalized, onesided", [
    (400, 100, None, True, False, None),
    (256, 64, 200, True, True, True),
    (128, 33, None, False, False, False),
])
def test_stft_return_complex_values_and_gradients_match_torch(n_fft, hop, win_length, center, normalized, onesided):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 1200))
    w = np.hanning(win_length or n_fft)
    ours_x, ours_w = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    ref_x, ref_w = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ours = F.stft(ours_x, n_fft, hop, win_length, ours_w, center, "reflect", normalized, onesided,
                  return_complex=True)
    ref = torch.stft(ref_x, n_fft, hop, win_length, ref_w, center, "reflect", normalized, onesided,
                     return_complex=True)
    assert ours.dtype == ember.complex128 and tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), atol=1e-9 * n_fft)
    # a real loss of the complex output: gradients flow to the waveform and the window
    weight = np.random.default_rng(1).standard_normal(tuple(ref.shape))
    (ember.view_as_real(ours).pow(2).sum(-1) * ember.tensor(weight)).sum().backward()
    (torch.view_as_real(ref).pow(2).sum(-1) * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-7, atol=1e-7 * n_fft)
    np.testing.assert_allclose(ours_w.grad.numpy(), ref_w.grad.numpy(), rtol=1e-7, atol=1e-7 * n_fft)


def test_stft_return_complex_false_keeps_the_real_layout():
    x = ember.randn(2, 500)
    real = F.stft(x, 128, 32, window=F.hann_window(128), return_complex=False)
    default = F.stft(x, 128, 32, window=F.hann_window(128))
    assert real.shape == (2, 65, 16, 2) and not real.is_complex()
    np.testing.assert_array_equal(real.numpy(), default.numpy())


@pytest.mark.parity
def test_istft_of_a_complex_spectrum_matches_torch_with_gradients():
    torch = pytest.importorskip("torch")
    spec = np.random.default_rng(3).standard_normal((2, 129, 20, 2))
    ours_in = ember.tensor(spec, requires_grad=True)
    ref_in = torch.tensor(spec, requires_grad=True)
    ours = F.istft(ember.view_as_complex(ours_in), 256, 64, window=F.hann_window(256, dtype=ember.float64),
                   length=1200)
    ref = torch.istft(torch.view_as_complex(ref_in), 256, 64, window=torch.hann_window(256, dtype=torch.float64),
                      length=1200)
    assert ours.dtype == ember.float64
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    weight = np.random.default_rng(4).standard_normal((2, 1200))
    (ours * ember.tensor(weight)).sum().backward()
    (ref * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), ref_in.grad.numpy(), atol=1e-10)


def test_istft_inverts_a_complex_stft():
    x = ember.randn(3, 2000)
    w = F.hann_window(256)
    spec = F.stft(x, 256, 64, window=w, return_complex=True)
    y = F.istft(spec, 256, 64, window=w, length=2000)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)


@pytest.mark.parity
def test_spectrogram_power_none_is_complex_as_torchaudio():
    torch, torchaudio = import_torchaudio()
    x = np.random.default_rng(5).standard_normal((2, 3, 4000)).astype(np.float32)
    ours = T.Spectrogram(power=None, normalized=True)(ember.tensor(x))
    ref = torchaudio.transforms.Spectrogram(power=None, normalized=True)(torch.tensor(x))
    assert ours.dtype == ember.complex64 and tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-4)
    back = torchaudio.transforms.InverseSpectrogram(normalized=True)(ref, 4000)
    np.testing.assert_allclose(T.InverseSpectrogram(normalized=True)(ours, 4000).numpy(), back.numpy(), atol=1e-5)


@pytest.mark.parity
def test_time_stretch_of_a_complex_spectrogram_matches_torchaudio():
    torch, torchaudio = import_torchaudio()
    # float64 (the windows stay float32): in float32 the accumulated phase drifts by ~1e-3 rad
    x = np.random.default_rng(6).standard_normal((2, 8000))
    spec = torchaudio.transforms.Spectrogram(power=None).double()(torch.tensor(x))
    ref = torchaudio.transforms.TimeStretch(n_freq=201, fixed_rate=1.3).double()(spec)
    ours = T.TimeStretch(n_freq=201, fixed_rate=1.3).double()(T.Spectrogram(power=None).double()(ember.tensor(x)))
    assert ours.dtype == ember.complex128 and tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-4, atol=1e-3)  # float32 windows, advances
    assert ours.shape[-1] == math.ceil(spec.shape[-1] / 1.3)
