"""stft / istft / spectrogram / griffinlim / phase_vocoder: parity with torch.stft, round trips, gradients."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember.audio import functional as F
from ember.autograd.gradcheck import gradcheck, gradgradcheck


def _torch_window(torch, name, n):
    return {"hann": torch.hann_window, "hamming": torch.hamming_window}[name](n) if name else torch.ones(n)


def _ember_window(name, n):
    return {"hann": F.hann_window, "hamming": F.hamming_window}[name](n) if name else None


@pytest.mark.parity
@pytest.mark.parametrize(
    "n_fft, hop, win_length, window, center, pad_mode, normalized, onesided",
    [
        (400, 200, None, "hann", True, "reflect", False, True),  # torchaudio Spectrogram defaults
        (256, 64, 200, "hamming", True, "constant", True, True),  # short window zero-padded to n_fft
        (255, 100, None, "hann", False, "reflect", False, True),  # odd n_fft, no centering
        (64, 16, None, None, True, "replicate", False, False),  # rectangular window, two-sided
        (128, 33, 100, "hann", True, "circular", True, False),
    ],
)
def test_stft_matches_torch(n_fft, hop, win_length, window, center, pad_mode, normalized, onesided):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 1500)).astype(np.float32)
    ours = F.stft(ember.tensor(x), n_fft, hop, win_length, _ember_window(window, win_length or n_fft), center,
                  pad_mode, normalized, onesided)
    ref = torch.stft(torch.from_numpy(x).reshape(6, -1), n_fft, hop, win_length,
                     _torch_window(torch, window, win_length or n_fft), center, pad_mode, normalized, onesided,
                     return_complex=True)
    ref = torch.view_as_real(ref).reshape(2, 3, *ref.shape[-2:], 2).numpy()
    assert tuple(ours.shape) == ref.shape
    np.testing.assert_allclose(ours.numpy(), ref, atol=2e-4 * math.sqrt(n_fft), rtol=1e-4)


@pytest.mark.parity
@pytest.mark.parametrize("power, normalized", [(2.0, False), (1.0, False), (None, False), (2.0, True),
                                               (0.5, "frame_length"), (2.0, "window")])
def test_spectrogram_matches_torch_stft(power, normalized):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((2, 4000)).astype(np.float32)
    ours = F.spectrogram(ember.tensor(x), 3, F.hann_window(400), 400, 200, 400, power, normalized)
    tx = torch.nn.functional.pad(torch.from_numpy(x), (3, 3))
    w = torch.hann_window(400)
    spec = torch.stft(tx, 400, 200, 400, w, normalized=normalized == "frame_length", return_complex=True)
    if normalized in (True, "window"):
        spec = spec / w.pow(2).sum().sqrt()
    ref = spec if power is None else spec.abs().pow(power)  # power=None: complex, as torchaudio
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-4, atol=1e-3 * (ref.abs().max().item() / 100))


def test_istft_rejects_a_window_without_overlap():
    spec = F.stft(ember.randn(1000), 128, 32, window=F.hann_window(128), center=False)
    with pytest.raises(RuntimeError, match="NOLA"):
        F.istft(spec, 128, 32, window=F.hann_window(128), center=False)


def test_stft_gradients_pass_gradcheck_and_gradgradcheck():
    x = ember.randn(2, 40, dtype=ember.float64, requires_grad=True)
    w = F.hann_window(16, dtype=ember.float64)
    fn = lambda t: F.stft(t, 16, 5, window=w)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(lambda t: F.spectrogram(t, 0, w, 16, 5, 16, 2.0, False), (x,))


def test_stft_gradient_with_respect_to_a_learnable_window():
    x = ember.randn(2, 40, dtype=ember.float64, requires_grad=True)
    w = F.hann_window(16, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda a, b: F.stft(a, 16, 5, window=b), (x, w))
    assert gradgradcheck(lambda a, b: F.spectrogram(a, 0, b, 16, 5, 16, 2.0, False), (x, w))


def test_istft_gradients_pass_gradcheck():
    w = F.hann_window(16, dtype=ember.float64)
    spec = F.stft(ember.randn(40, dtype=ember.float64), 16, 4, window=w).detach().requires_grad_()
    assert gradcheck(lambda s: F.istft(s, 16, 4, window=w, length=40), (spec,))


@pytest.mark.parametrize("n_fft, hop, center", [(400, 200, True), (256, 64, True), (128, 32, False)])
def test_istft_inverts_stft(n_fft, hop, center):
    x = ember.randn(3, 2000)
    # without centering the first sample only sees window[0], which is 0 for Hann: use Hamming there
    w = F.hann_window(n_fft) if center else F.hamming_window(n_fft)
    spec = F.stft(x, n_fft, hop, window=w, center=center)
    y = F.istft(spec, n_fft, hop, window=w, center=center, length=2000 if center else None)
    if center:
        np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)
    else:  # without centering the output stops at the last full frame
        np.testing.assert_allclose(y.numpy(), x.numpy()[:, : y.shape[-1]], atol=1e-5)
        assert y.shape[-1] == 128 + 32 * ((2000 - 128) // 32)


@pytest.mark.parity
def test_istft_matches_torch_istft():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    spec = rng.standard_normal((2, 129, 20, 2)).astype(np.float32)
    ours = F.istft(ember.tensor(spec), 256, 64, window=F.hann_window(256), length=1200)
    ref = torch.istft(torch.view_as_complex(torch.from_numpy(spec)), 256, 64, window=torch.hann_window(256),
                      length=1200)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-4, rtol=1e-4)


def test_inverse_spectrogram_with_pad_and_window_norm_reconstructs():
    x = ember.randn(2, 3000)
    w = F.hann_window(400)
    spec = F.spectrogram(x, 5, w, 400, 100, 400, None, True)
    y = F.inverse_spectrogram(spec, 3000, 5, w, 400, 100, 400, True)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)


def test_pad_last_modes_match_numpy():
    x = np.arange(1.0, 6.0)
    for mode, np_mode in [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap"), ("constant", "constant")]:
        np.testing.assert_array_equal(F.pad_last(ember.tensor(x), 3, 2, mode).numpy(), np.pad(x, (3, 2), np_mode))
    with pytest.raises(ValueError, match="reflect"):
        F.pad_last(ember.tensor(x), 5, 0, "reflect")


def _spectral_convergence(x, target, w):
    mag = F.spectrogram(x, 0, w, 256, 64, 256, 1.0, False).numpy()
    return np.linalg.norm(mag - target) / np.linalg.norm(target)


def test_griffinlim_recovers_a_consistent_phase():
    t = np.arange(4000) / 8000
    x = ember.tensor((np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 1250 * t)).astype(np.float32))
    w = F.hann_window(256)
    power = F.spectrogram(x, 0, w, 256, 64, 256, 2.0, False)
    target = np.sqrt(power.numpy())
    few = F.griffinlim(power, w, 256, 64, 256, 2.0, 1, 0.99, 4000, True)
    many = F.griffinlim(power, w, 256, 64, 256, 2.0, 40, 0.99, 4000, True)
    assert many.shape == (4000,)
    assert _spectral_convergence(many, target, w) < 0.5 * _spectral_convergence(few, target, w)
    assert _spectral_convergence(many, target, w) < 0.15


def test_phase_vocoder_keeps_pitch_and_changes_duration():
    sr, freq = 8000, 500.0
    x = ember.tensor(np.sin(2 * np.pi * freq * np.arange(8000) / sr).astype(np.float32))
    w = F.hann_window(512)
    spec = F.stft(x, 512, 128, window=w)
    stretched = F.phase_vocoder(spec, 2.0, ember.linspace(0, math.pi * 128, 257)[:, None])
    assert stretched.shape[-2] == math.ceil(spec.shape[-2] / 2.0)
    y = F.istft(stretched, 512, 128, window=w).numpy()
    assert abs(len(y) - 4000) <= 128
    spectrum = np.abs(np.fft.rfft(y[512:-512] * np.hanning(len(y) - 1024)))
    peak = np.argmax(spectrum) * sr / (len(y) - 1024)
    assert abs(peak - freq) < 20


def test_stft_is_ember_stft_over_any_batch_dims_with_torchs_errors():
    x = ember.randn(2, 3, 500)
    w = F.hann_window(64)
    ours = F.stft(x, 64, 16, window=w, return_complex=True)
    flat = ember.stft(x.reshape(6, 500), 64, 16, window=w, return_complex=True)
    np.testing.assert_array_equal(ours.numpy(), flat.reshape(2, 3, 33, 32).numpy())
    np.testing.assert_array_equal(F.stft(x, 64, 16, window=w).numpy(), ember.view_as_real(ours).numpy())
    with pytest.raises(RuntimeError, match="hop_length > 0"):
        F.stft(x, 64, 0)
    with pytest.raises(RuntimeError, match="win_length"):
        F.stft(x, 64, 16, win_length=65)
