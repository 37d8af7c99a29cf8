"""Mel / linear filterbanks, DCT, dB conversion and the transforms built on them, against reference
formulas written here from torchaudio's documented definitions (computed in float64 numpy / torch)."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember.audio import functional as F
from ember.audio import transforms as T
from ember.autograd.gradcheck import gradcheck


# --- reference definitions (torchaudio docs: htk = 2595 log10(1 + f/700); slaney = linear below 1 kHz with
# 3 mels / 200 Hz, log above with step ln(6.4)/27; triangles between n_mels + 2 equally spaced mel points;
# slaney norm = 2 / (f[i+2] - f[i])) ------------------------------------------------------------------
def ref_hz_to_mel(f, scale):
    f = np.asarray(f, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    lin = f / (200.0 / 3)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (math.log(6.4) / 27.0), lin)


def ref_mel_to_hz(m, scale):
    m = np.asarray(m, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= 15.0, 1000.0 * np.exp(math.log(6.4) / 27.0 * (m - 15.0)), m * 200.0 / 3)


def ref_fbanks(n_freqs, f_min, f_max, n_mels, sr, norm, scale):
    freqs = np.linspace(0, sr // 2, n_freqs)
    f_pts = ref_mel_to_hz(np.linspace(ref_hz_to_mel(f_min, scale), ref_hz_to_mel(f_max, scale), n_mels + 2), scale)
    fb = np.zeros((n_freqs, n_mels))
    for i in range(n_mels):
        left, centre, right = f_pts[i], f_pts[i + 1], f_pts[i + 2]
        rising = (freqs - left) / (centre - left)
        falling = (right - freqs) / (right - centre)
        fb[:, i] = np.clip(np.minimum(rising, falling), 0, None)
        if norm == "slaney":
            fb[:, i] *= 2.0 / (right - left)
    return fb


def ref_dct_ortho(n_mfcc, n_mels):
    n = np.arange(n_mels)
    basis = np.array([np.cos(math.pi / n_mels * (n + 0.5) * k) for k in range(n_mfcc)])
    basis[0] *= math.sqrt(1.0 / n_mels)
    basis[1:] *= math.sqrt(2.0 / n_mels)
    return basis.T  # (n_mels, n_mfcc)


def ref_db(x, multiplier, top_db):
    db = multiplier * np.log10(np.maximum(x, 1e-10))
    if top_db is not None:
        lead = db.reshape(-1, *db.shape[-3:]) if db.ndim > 2 else db[None, None]
        floor = lead.max(axis=(-3, -2, -1), keepdims=True) - top_db
        db = np.maximum(lead, floor).reshape(db.shape)
    return db


def torch_power_spec(torch, x, n_fft=400, hop=200):
    spec = torch.stft(torch.from_numpy(x).double(), n_fft, hop, window=torch.hann_window(n_fft, dtype=torch.float64),
                      return_complex=True)
    return spec.abs().pow(2).numpy()


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_hz_mel_conversions_match_definitions(scale):
    f = np.array([0.0, 200.0, 999.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(F.hz_to_mel(f, scale), ref_hz_to_mel(f, scale), rtol=1e-12)
    np.testing.assert_allclose(F.mel_to_hz(F.hz_to_mel(f, scale), scale), f, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("scale", ["htk", "slaney"])
@pytest.mark.parametrize("norm", [None, "slaney"])
def test_melscale_fbanks_match_reference(scale, norm):
    ours = F.melscale_fbanks(201, 20.0, 7600.0, 40, 16000, norm, scale).numpy()
    np.testing.assert_allclose(ours, ref_fbanks(201, 20.0, 7600.0, 40, 16000, norm, scale), rtol=1e-5, atol=1e-7)


def test_linear_fbanks_peak_at_equally_spaced_centres():
    fb = F.linear_fbanks(201, 0.0, 8000.0, 9, 16000).numpy()
    centres = np.argmax(fb, axis=0) * 40.0  # bin spacing 8000 / 200
    np.testing.assert_allclose(centres, np.arange(1, 10) * 800.0)


def test_create_dct_ortho_matches_definition_and_is_orthonormal():
    d = F.create_dct(13, 40, "ortho").numpy()
    np.testing.assert_allclose(d, ref_dct_ortho(13, 40), atol=1e-6)
    square = F.create_dct(16, 16, "ortho").numpy().astype(np.float64)
    np.testing.assert_allclose(square.T @ square, np.eye(16), atol=1e-6)


@pytest.mark.parametrize("stype, multiplier", [("power", 10.0), ("magnitude", 20.0)])
@pytest.mark.parametrize("top_db", [None, 40.0])
def test_amplitude_to_db_matches_definition(stype, multiplier, top_db):
    x = np.abs(np.random.default_rng(0).standard_normal((3, 2, 20, 30))) ** 4
    x[0] *= 1e-6  # a quiet example in the batch gets its own top_db floor
    ours = T.AmplitudeToDB(stype, top_db)(ember.tensor(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(ours, ref_db(x, multiplier, top_db), rtol=1e-5, atol=1e-3)


@pytest.mark.parity
@pytest.mark.parametrize("scale, norm", [("htk", None), ("slaney", "slaney")])
def test_melspectrogram_matches_torch_stft_and_reference_fbank(scale, norm):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((2, 8000)).astype(np.float32)
    ours = T.MelSpectrogram(16000, n_mels=64, f_min=30.0, mel_scale=scale, norm=norm)(ember.tensor(x)).numpy()
    ref = np.einsum("bft,fm->bmt", torch_power_spec(torch, x), ref_fbanks(201, 30.0, 8000.0, 64, 16000, norm, scale))
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * ref.max())


@pytest.mark.parity
@pytest.mark.parametrize("log_mels", [False, True])
def test_mfcc_matches_reference(log_mels):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((2, 1, 8000)).astype(np.float32)
    ours = T.MFCC(16000, n_mfcc=20, log_mels=log_mels, melkwargs={"n_mels": 40})(ember.tensor(x)).numpy()
    mel = np.einsum("bcft,fm->bcmt", torch_power_spec(torch, x.reshape(2, 1, -1).reshape(2, -1))[:, None],
                    ref_fbanks(201, 0.0, 8000.0, 40, 16000, None, "htk"))
    # torchaudio: 2-D/3-D inputs share one top_db floor, 4-D inputs get one per item
    logmel = np.log(mel + 1e-6) if log_mels else ref_db(mel, 10.0, 80.0)
    ref = np.einsum("bcmt,mk->bckt", logmel, ref_dct_ortho(20, 40))
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=2e-3 * np.abs(ref).max())


def test_lfcc_uses_linear_filterbank_and_dct():
    x = ember.randn(1, 4000)
    lfcc = T.LFCC(16000, n_filter=32, n_lfcc=12)
    spec = T.Spectrogram()(x).numpy().astype(np.float64)
    fb = F.linear_fbanks(201, 0.0, 8000.0, 32, 16000).numpy()
    ref = np.einsum("cmt,mk->ckt", ref_db(np.einsum("cft,fm->cmt", spec, fb), 10.0, 80.0), ref_dct_ortho(12, 32))
    np.testing.assert_allclose(lfcc(x).numpy(), ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())


def test_melspectrogram_passes_gradcheck():
    mel = T.MelSpectrogram(sample_rate=800, n_fft=32, hop_length=8, n_mels=6).double()
    x = ember.randn(2, 60, dtype=ember.float64, requires_grad=True)
    assert gradcheck(mel, (x,))


def test_mfcc_log_mels_passes_gradcheck():
    mfcc = T.MFCC(sample_rate=800, n_mfcc=4, log_mels=True, melkwargs={"n_fft": 32, "hop_length": 8, "n_mels": 6})
    mfcc = mfcc.double()
    x = ember.randn(40, dtype=ember.float64, requires_grad=True)
    assert gradcheck(mfcc, (x,))


def test_db_to_amplitude_inverts_amplitude_to_db():
    x = ember.tensor([1e-3, 0.5, 2.0, 40.0])
    power_db = F.amplitude_to_DB(x, 10.0, 1e-10, 0.0)
    np.testing.assert_allclose(F.DB_to_amplitude(power_db, 1.0, 1.0).numpy(), x.numpy(), rtol=1e-5)
    magnitude_db = F.amplitude_to_DB(x, 20.0, 1e-10, 0.0)
    np.testing.assert_allclose(F.DB_to_amplitude(magnitude_db, 1.0, 0.5).numpy(), x.numpy(), rtol=1e-5)
