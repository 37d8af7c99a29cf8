"""lfilter, filtfilt, the biquad family and the sox effects against torchaudio: values and gradients."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.audio import functional as F
from ember.autograd.gradcheck import gradcheck, gradgradcheck

from .._torchaudio import import_torchaudio


def _waveform(shape=(2, 3, 400), scale=0.3, seed=0, dtype=np.float32):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def _both(x, requires_grad=False):
    torch, _ = import_torchaudio()
    return (ember.tensor(x, requires_grad=requires_grad),
            torch.tensor(x, requires_grad=requires_grad))


def _assert_same_values_and_grads(ember_fn, torch_fn, *arrays, rtol=1e-5, atol=1e-6):
    """Runs both with float64 inputs, compares outputs and the gradients of a random projection."""
    torch, _ = import_torchaudio()
    ours_in = [ember.tensor(a, requires_grad=True) for a in arrays]
    ref_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, ref = ember_fn(*ours_in), torch_fn(*ref_in)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    weight = np.random.default_rng(7).standard_normal(tuple(ref.shape))
    (ours * ember.tensor(weight)).sum().backward()
    (ref * torch.tensor(weight)).sum().backward()
    for o, r in zip(ours_in, ref_in):
        np.testing.assert_allclose(o.grad.numpy(), r.grad.numpy(), rtol=rtol * 10, atol=atol * 10)


@pytest.mark.parity
@pytest.mark.parametrize("clamp", [True, False])
@pytest.mark.parametrize("coeff_shape, batching", [((3,), True), ((3, 3), True), ((3, 3), False), ((2, 5), False)])
def test_lfilter_values_and_gradients_match_torchaudio(coeff_shape, batching, clamp):
    _, torchaudio = import_torchaudio()
    rng = np.random.default_rng(1)
    x = _waveform((2, 3, 300), dtype=np.float64)
    order = coeff_shape[-1]
    # stable denominators: poles inside the unit circle
    a = np.concatenate([np.ones(coeff_shape[:-1] + (1,)), rng.uniform(-0.3, 0.3, coeff_shape[:-1] + (order - 1,))], -1)
    b = rng.uniform(-0.5, 0.5, coeff_shape)
    _assert_same_values_and_grads(
        lambda x, a, b: F.lfilter(x, a, b, clamp=clamp, batching=batching),
        lambda x, a, b: torchaudio.functional.lfilter(x, a, b, clamp=clamp, batching=batching),
        x, a * 1.3, b)  # a0 != 1: normalization is part of the graph


@pytest.mark.parity
def test_lfilter_float32_impulse_response_matches_torchaudio():
    torch, torchaudio = import_torchaudio()
    x = _waveform((4, 1000))
    a, b = [1.0, -1.6, 0.7], [0.05, 0.1, 0.05]
    ours = F.lfilter(ember.tensor(x), ember.tensor(a), ember.tensor(b))
    ref = torchaudio.functional.lfilter(torch.tensor(x), torch.tensor(a), torch.tensor(b))
    assert ours.dtype == ember.float32
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)


def test_lfilter_second_order_gradients():
    x = ember.tensor(_waveform((2, 40), dtype=np.float64), requires_grad=True)
    a = ember.tensor([1.0, -0.4, 0.2], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([0.3, 0.2, 0.1], dtype=ember.float64, requires_grad=True)

    def fn(x, a, b):
        return F.lfilter(x, a, b, clamp=False)

    assert gradcheck(fn, (x, a, b))
    assert gradgradcheck(fn, (x, a, b))


def test_lfilter_rejects_mismatched_coefficients():
    with pytest.raises(ValueError, match="same size"):
        F.lfilter(ember.randn(10), ember.tensor([1.0, 0.5]), ember.tensor([1.0, 0.5, 0.2]))
    with pytest.raises(ValueError, match="batches"):
        F.lfilter(ember.randn(2, 10), ember.ones(3, 2), ember.ones(3, 2))


@pytest.mark.parity
def test_filtfilt_matches_torchaudio():
    _, torchaudio = import_torchaudio()
    x = _waveform((2, 3, 200), dtype=np.float64)
    a = np.array([[1.0, -0.5, 0.1], [1.0, 0.2, 0.0], [1.0, -0.9, 0.3]])
    b = np.array([[0.2, 0.3, 0.1], [0.5, 0.0, 0.0], [0.1, 0.1, 0.1]])
    _assert_same_values_and_grads(F.filtfilt, torchaudio.functional.filtfilt, x, a, b)


_BIQUADS = [
    ("allpass_biquad", (16000, 1500.0), {"Q": 0.9}),
    ("band_biquad", (16000, 1500.0), {"noise": False}),
    ("band_biquad", (16000, 800.0, 1.2), {"noise": True}),
    ("bandpass_biquad", (16000, 1500.0), {}),
    ("bandpass_biquad", (16000, 1500.0, 2.0), {"const_skirt_gain": True}),
    ("bandreject_biquad", (16000, 1500.0), {}),
    ("bass_biquad", (16000, 6.0), {}),
    ("bass_biquad", (44100, -4.0, 300.0, 1.1), {}),
    ("treble_biquad", (16000, 4.0), {}),
    ("equalizer_biquad", (16000, 1000.0, 3.0), {}),
    ("highpass_biquad", (16000, 2000.0), {}),
    ("lowpass_biquad", (16000, 2000.0), {"Q": 1.5}),
    ("deemph_biquad", (44100,), {}),
    ("deemph_biquad", (48000,), {}),
    ("riaa_biquad", (44100,), {}),
    ("riaa_biquad", (96000,), {}),
    ("biquad", (0.2, 0.1, 0.05, 1.1, -0.3, 0.1), {}),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, args, kwargs", _BIQUADS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(_BIQUADS)])
def test_biquads_match_torchaudio(name, args, kwargs):
    _, torchaudio = import_torchaudio()
    x = _waveform((2, 3, 500), scale=0.2, dtype=np.float64)
    _assert_same_values_and_grads(lambda w: getattr(F, name)(w, *args, **kwargs),
                                  lambda w: getattr(torchaudio.functional, name)(w, *args, **kwargs), x)
    x32 = _waveform((2, 500), scale=0.2)
    ours, ref = _both(x32)
    np.testing.assert_allclose(getattr(F, name)(ours, *args, **kwargs).numpy(),
                               getattr(torchaudio.functional, name)(ref, *args, **kwargs).numpy(),
                               rtol=1e-4, atol=2e-5)


@pytest.mark.parity
def test_lowpass_cutoff_tensor_gets_torchaudios_gradient():
    torch, torchaudio = import_torchaudio()
    x = _waveform((2, 300), dtype=np.float64)
    cutoff = ember.tensor(1200.0, dtype=ember.float64, requires_grad=True)
    ref_cutoff = torch.tensor(1200.0, dtype=torch.float64, requires_grad=True)
    F.lowpass_biquad(ember.tensor(x), 16000, cutoff).pow(2).sum().backward()
    torchaudio.functional.lowpass_biquad(torch.tensor(x), 16000, ref_cutoff).pow(2).sum().backward()
    np.testing.assert_allclose(cutoff.grad.item(), ref_cutoff.grad.item(), rtol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("name, args", [
    ("contrast", (60.0,)),
    ("overdrive", (15.0, 30.0)),
    ("dcshift", (0.3,)),
    ("dcshift", (0.4, 0.05)),
    ("dcshift", (-0.4, 0.05)),
])
def test_effects_match_torchaudio(name, args):
    _, torchaudio = import_torchaudio()
    x = _waveform((2, 3, 500), scale=0.5, dtype=np.float64)
    ref_fn = getattr(torchaudio.functional, name)
    # torchaudio's dcshift writes into its input: hand it a copy
    _assert_same_values_and_grads(lambda w: getattr(F, name)(w, *args), lambda w: ref_fn(w.clone(), *args), x)


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{}, {"sinusoidal": False, "delay_ms": 2.0, "decay": 0.6, "mod_speed": 1.0}])
def test_phaser_matches_torchaudio(kwargs):
    _, torchaudio = import_torchaudio()
    x = _waveform((2, 3, 4000), scale=0.3)
    ours, ref = _both(x)
    np.testing.assert_allclose(F.phaser(ours, 8000, **kwargs).numpy(),
                               torchaudio.functional.phaser(ref, 8000, **kwargs).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{}, {"modulation": "triangular", "interpolation": "quadratic", "regen": 30.0,
                                         "delay": 2.0, "phase": 60.0}])
def test_flanger_matches_torchaudio(kwargs):
    _, torchaudio = import_torchaudio()
    x = _waveform((2, 3, 1500), scale=0.3)
    ours, ref = _both(x)
    np.testing.assert_allclose(F.flanger(ours, 8000, **kwargs).numpy(),
                               torchaudio.functional.flanger(ref, 8000, **kwargs).numpy(), rtol=1e-5, atol=1e-6)
