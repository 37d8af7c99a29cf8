"""The transforms torchaudio has, against torchaudio on batched random input (values and gradients)."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.audio import transforms as T

from ._torchaudio import import_torchaudio


def _rand(shape, seed=0, scale=1.0, dtype=np.float64):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parity
def test_every_torchaudio_transform_but_beamforming_and_rnnt_exists():
    _, torchaudio = import_torchaudio()
    theirs = {n for n in dir(torchaudio.transforms) if n[0].isupper()}
    skipped = {"MVDR", "PSD", "RTFMVDR", "SoudenMVDR", "RNNTLoss"}  # multi-channel beamforming, RNN-T loss
    assert sorted(theirs - skipped - set(T.__all__)) == []


@pytest.mark.parity
@pytest.mark.parametrize("make", [
    lambda m: m.Convolve("valid"), lambda m: m.FFTConvolve("same"), lambda m: m.Convolve(),
])
def test_convolution_modules_match_torchaudio(make):
    torch, torchaudio = import_torchaudio()
    x, y = _rand((2, 3, 60), 1), _rand((2, 3, 11), 2)
    ours_x, ours_y = ember.tensor(x, requires_grad=True), ember.tensor(y, requires_grad=True)
    ref_x, ref_y = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    ours, ref = make(T)(ours_x, ours_y), make(torchaudio.transforms)(ref_x, ref_y)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    ours.pow(2).sum().backward()
    ref.pow(2).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), ref_x.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(ours_y.grad.numpy(), ref_y.grad.numpy(), atol=1e-9)


@pytest.mark.parity
@pytest.mark.parametrize("name, args", [("Deemphasis", (0.9,)), ("Preemphasis", (0.9,)), ("Loudness", (16000,))])
def test_waveform_modules_match_torchaudio_with_gradients(name, args):
    torch, torchaudio = import_torchaudio()
    x = _rand((2, 2, 16000), 3, 0.1)
    ours_x, ref_x = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, ref = getattr(T, name)(*args)(ours_x), getattr(torchaudio.transforms, name)(*args)(ref_x)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-9)
    ours.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parity
def test_add_noise_module_matches_torchaudio():
    torch, torchaudio = import_torchaudio()
    x, n, snr = _rand((2, 3, 100), 1), _rand((2, 3, 100), 2), _rand((2, 3), 3) * 10
    lengths = np.array([[100, 50, 3], [99, 100, 10]])
    ours = T.AddNoise()(ember.tensor(x), ember.tensor(n), ember.tensor(snr), ember.tensor(lengths))
    ref = torchaudio.transforms.AddNoise()(torch.tensor(x), torch.tensor(n), torch.tensor(snr), torch.tensor(lengths))
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10)


@pytest.mark.parity
@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_module_matches_torchaudio(factor):
    torch, torchaudio = import_torchaudio()
    x = _rand((2, 3, 4000), 4, dtype=np.float32)
    lengths = np.array([4000, 2500])
    ours, ours_len = T.Speed(16000, factor)(ember.tensor(x), ember.tensor(lengths))
    ref, ref_len = torchaudio.transforms.Speed(16000, factor)(torch.tensor(x), torch.tensor(lengths))
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-5)
    np.testing.assert_array_equal(ours_len.numpy(), ref_len.numpy())


def test_speed_perturbation_draws_every_factor_reproducibly():
    module = T.SpeedPerturbation(16000, [0.9, 1.0, 1.1])
    x = ember.randn(1, 1600)
    lengths_seen = set()
    for _ in range(30):
        out, lengths = module(x, ember.tensor([1600]))
        assert out.shape[-1] == lengths.item() or abs(out.shape[-1] - lengths.item()) <= 1
        lengths_seen.add(out.shape[-1])
    assert lengths_seen == {1778, 1600, 1455}
    ember.manual_seed(3)
    first = [module(x)[0].shape[-1] for _ in range(5)]
    ember.manual_seed(3)
    assert [module(x)[0].shape[-1] for _ in range(5)] == first


@pytest.mark.parity
def test_vad_module_matches_torchaudio():
    torch, torchaudio = import_torchaudio()
    rng = np.random.default_rng(5)
    t = np.arange(16000) / 16000
    x = np.concatenate([rng.standard_normal(6000) * 1e-3, 0.5 * np.sin(2 * np.pi * 300 * t)]).astype(np.float32)
    x = np.stack([x, x * 0.5])
    ours = T.Vad(16000, trigger_level=6.0)(ember.tensor(x))
    ref = torchaudio.transforms.Vad(16000, trigger_level=6.0)(torch.tensor(x))
    assert ours.shape[-1] < x.shape[-1]
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())


@pytest.mark.parity
def test_spectral_centroid_and_cmn_modules_match_torchaudio():
    torch, torchaudio = import_torchaudio()
    x = _rand((2, 3, 4000), 6, dtype=np.float32)
    np.testing.assert_allclose(T.SpectralCentroid(16000, n_fft=256)(ember.tensor(x)).numpy(),
                               torchaudio.transforms.SpectralCentroid(16000, n_fft=256)(torch.tensor(x)).numpy(),
                               rtol=1e-4)
    feats = _rand((2, 80, 13), 7)
    np.testing.assert_allclose(T.SlidingWindowCmn(30, 10, norm_vars=True)(ember.tensor(feats)).numpy(),
                               torchaudio.transforms.SlidingWindowCmn(30, 10, norm_vars=True)(torch.tensor(feats)).numpy(),
                               rtol=1e-8, atol=1e-10)


@pytest.mark.parity
def test_lfcc_with_more_coefficients_than_filters_matches_torchaudio():
    torch, torchaudio = import_torchaudio()
    kwargs = {"sample_rate": 6000, "n_lfcc": 256, "speckwargs": {"n_fft": 2048, "win_length": None,
                                                                "hop_length": 512}}
    x = np.random.default_rng(0).standard_normal((2, 6000)).astype(np.float32)
    expected = torchaudio.transforms.LFCC(**kwargs)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(T.LFCC(**kwargs)(ember.tensor(x)).numpy(), expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())
