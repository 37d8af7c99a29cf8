"""Transform modules: torchaudio's defaults, buffers, inversion, augmentation behaviour."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember.audio import functional as F
from ember.audio import transforms as T


@pytest.mark.parity
def test_spectrogram_defaults_match_torchaudio():
    torch = pytest.importorskip("torch")
    spec = T.Spectrogram()
    assert (spec.n_fft, spec.win_length, spec.hop_length, spec.power) == (400, 400, 200, 2.0)
    np.testing.assert_allclose(spec.window.numpy(), torch.hann_window(400).numpy(), atol=1e-6)
    x = np.random.default_rng(0).standard_normal((2, 1, 4000)).astype(np.float32)
    ref = torch.stft(torch.from_numpy(x).reshape(2, -1), 400, 200, window=torch.hann_window(400),
                     return_complex=True).abs().pow(2).reshape(2, 1, 201, -1)
    np.testing.assert_allclose(spec(ember.tensor(x)).numpy(), ref.numpy(), rtol=1e-4, atol=1e-3)


def test_inverse_spectrogram_reconstructs_the_waveform():
    x = ember.randn(2, 3, 5000)
    for kwargs in [{}, {"n_fft": 512, "hop_length": 128}, {"n_fft": 256, "win_length": 200, "normalized": True}]:
        spec = T.Spectrogram(power=None, **kwargs)(x)
        assert spec.is_complex() and spec.shape[-2] == kwargs.get("n_fft", 400) // 2 + 1
        y = T.InverseSpectrogram(**kwargs)(spec, length=5000)
        np.testing.assert_allclose(y.numpy(), x.numpy(), atol=2e-5)


def test_power_none_gives_the_complex_stft():
    x = ember.randn(1000)
    spec = T.Spectrogram(power=None)(x).numpy()
    power = T.Spectrogram(power=2.0)(x).numpy()
    np.testing.assert_allclose(np.abs(spec) ** 2, power, rtol=1e-5, atol=1e-6)
    ref = np.fft.rfft(np.pad(x.numpy(), 200, mode="reflect")[:400] * F.hann_window(400).numpy())
    np.testing.assert_allclose(spec[:, 0], ref, rtol=1e-4, atol=1e-4)


def test_modules_hold_buffers_and_convert_dtype():
    mel = T.MelSpectrogram(n_mels=32)
    names = {name for name, _ in mel.named_buffers()}
    assert names == {"spectrogram.window", "mel_scale.fb"}
    assert mel.mel_scale.fb.shape == (201, 32)
    mel64 = mel.double()
    assert mel64(ember.randn(800, dtype=ember.float64)).dtype == ember.float64
    assert "mfcc" not in T.MFCC().state_dict() and "dct_mat" in T.MFCC().state_dict()


def test_mfcc_rejects_more_coefficients_than_mels():
    with pytest.raises(ValueError, match="MFCC"):
        T.MFCC(n_mfcc=50, melkwargs={"n_mels": 40})


def test_lfcc_takes_more_coefficients_than_filters_up_to_n_fft():
    """torchaudio bounds n_lfcc by n_fft, not by n_filter (its feature-extraction tutorial asks for 256
    coefficients of the default 128 filters); the extra DCT rows are the cosines of higher orders."""
    lfcc = T.LFCC(sample_rate=6000, n_lfcc=256, speckwargs={"n_fft": 2048, "hop_length": 512})
    assert lfcc(ember.randn(1, 6000)).shape == (1, 256, 12)
    np.testing.assert_allclose(lfcc.dct_mat.numpy(), F.create_dct(256, 128, "ortho").numpy())
    with pytest.raises(ValueError, match="LFCC coefficients.*400"):
        T.LFCC(n_lfcc=401)


def test_audio_has_a_version_as_torchaudio():
    import ember.audio

    assert ember.audio.__version__ == ember.__version__


def test_time_stretch_changes_frame_count():
    spec = T.Spectrogram(power=None)(ember.randn(16000))
    assert T.TimeStretch(fixed_rate=1.25)(spec).shape == (201, math.ceil(81 / 1.25))
    assert T.TimeStretch()(spec, 0.5).shape == (201, 162)
    assert T.TimeStretch(fixed_rate=1.0)(spec) is spec
    with pytest.raises(ValueError, match="rate"):
        T.TimeStretch()(spec)


def test_resample_module_equals_functional():
    x = ember.randn(2, 4410)
    np.testing.assert_allclose(T.Resample(44100, 16000)(x).numpy(), F.resample(x, 44100, 16000).numpy(), atol=1e-6)
    np.testing.assert_array_equal(T.Resample(8000, 8000)(x).numpy(), x.numpy())


def test_spec_augment_masks_with_mean_and_is_reproducible():
    spec = ember.rand(4, 1, 40, 100) + 1.0
    ember.manual_seed(1)
    a = T.SpecAugment(2, 20, 2, 10)(spec)
    ember.manual_seed(1)
    b = T.SpecAugment(2, 20, 2, 10)(spec)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    changed = a.numpy() != spec.numpy()
    assert changed.any()
    np.testing.assert_allclose(a.numpy()[changed], float(spec._data.mean()), rtol=1e-6)
    zero = T.SpecAugment(1, 20, 1, 10, zero_masking=True)(spec).numpy()
    assert (zero == 0).any()


def test_frequency_and_time_masking_axes():
    ember.manual_seed(2)
    spec = ember.ones(1, 40, 100)
    f = T.FrequencyMasking(20)(spec).numpy()[0]
    t = T.TimeMasking(50)(spec).numpy()[0]
    rows, cols = (f == 0).all(axis=1), (t == 0).all(axis=0)
    assert rows.any() and (f[~rows] == 1).all()
    assert cols.any() and (t[:, ~cols] == 1).all()


def test_vol_fade_mulaw_preemphasis_addnoise():
    np.testing.assert_allclose(T.Vol(6.0, "db")(ember.full((3,), 0.1)).numpy(), 0.1 * 10 ** (6 / 20), rtol=1e-6)
    np.testing.assert_allclose(T.Vol(4.0, "power")(ember.full((3,), 0.1)).numpy(), 0.2, rtol=1e-6)
    assert float(T.Vol(10.0)(ember.tensor([0.5])).max()) == 1.0  # clamped
    faded = T.Fade(100, 100, "quarter_sine")(ember.ones(1000)).numpy()
    assert faded[0] == 0 and faded[500] == 1 and faded[-1] < 1e-6
    x = ember.linspace(-1, 1, 11)
    assert (T.MuLawDecoding()(T.MuLawEncoding()(x)) - x).abs().max() < 0.04
    np.testing.assert_allclose(T.Preemphasis()(x).numpy()[1:], (x[1:] - 0.97 * x[:-1]).numpy(), rtol=1e-6)
    y = T.AddNoise()(ember.ones(1, 100), ember.ones(1, 100), ember.tensor([20.0]))
    np.testing.assert_allclose((y - 1).numpy(), 0.1, rtol=1e-5)


def test_compute_deltas_of_a_ramp_is_its_slope():
    ramp = ember.arange(50.0).reshape(1, 50) * 2
    np.testing.assert_allclose(T.ComputeDeltas()(ramp).numpy()[0, 5:-5], 2.0, rtol=1e-6)


def test_pitch_shift_and_griffinlim_shapes():
    assert T.PitchShift(8000, -3)(ember.randn(2, 4000)).shape == (2, 4000)  # coprime rates 6727 -> 8000
    spec = T.Spectrogram(n_fft=128)(ember.randn(1, 2000))
    assert T.GriffinLim(n_fft=128, n_iter=2, length=2000)(spec).shape == (1, 2000)


@pytest.mark.parity
def test_inverse_mel_scale_matches_torch_least_squares():
    torch = pytest.importorskip("torch")
    melscale, inverse = T.MelScale(n_mels=40, n_stft=201), T.InverseMelScale(n_stft=201, n_mels=40)
    mel = melscale(T.Spectrogram()(ember.randn(2, 4000)))
    estimate = inverse(mel)
    fb = torch.from_numpy(melscale.fb.numpy()).double()
    ref = torch.relu(torch.linalg.lstsq(fb.T[None], torch.from_numpy(mel.numpy()).double(), driver="gels").solution)
    assert estimate.shape == (2, 201, 21) and float(estimate.min()) >= 0
    np.testing.assert_allclose(estimate.numpy(), ref.numpy(), rtol=1e-3, atol=1e-4 * float(ref.max()))
    # the estimate explains most of the mel energy (clamping negative bins loses a little)
    residual = np.linalg.norm((melscale(estimate) - mel).numpy()) / np.linalg.norm(mel.numpy())
    assert residual < 0.1
