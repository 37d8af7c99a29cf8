"""ember.stft / ember.istft beyond tests/core/test_toplevel.py's parity table: the window's gradient, second
derivatives, and torch's handling of a two-sided spectrum in istft."""

from __future__ import annotations

import ember
import numpy as np
import pytest


@pytest.mark.parity
@pytest.mark.parametrize("center", [True, False])
def test_stft_window_gradient_matches_torch(center):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    signal, window = rng.normal(size=(3, 90)), rng.normal(size=12)
    x_e, x_t = ember.tensor(signal, requires_grad=True), torch.tensor(signal, requires_grad=True)
    w_e, w_t = ember.tensor(window, requires_grad=True), torch.tensor(window, requires_grad=True)
    out_e = ember.stft(x_e, 16, 5, 12, w_e, center=center, return_complex=True)
    out_t = torch.stft(x_t, 16, 5, 12, w_t, center=center, return_complex=True)
    weights = rng.normal(size=tuple(out_t.shape) + (2,))
    (ember.view_as_real(out_e) * ember.tensor(weights)).sum().backward()
    (torch.view_as_real(out_t) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(w_e.grad.numpy(), w_t.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(x_e.grad.numpy(), x_t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_stft_and_istft_second_derivatives_pass_gradgradcheck():
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.normal(size=(2, 30)), requires_grad=True)
    w = ember.tensor(rng.uniform(0.5, 1.0, size=8), requires_grad=True)

    def power(x, w):
        return ember.stft(x, 8, 3, window=w, return_complex=True).abs().pow(2)

    def round_trip(x):
        window = ember.hann_window(8, dtype=ember.float64) + 0.5
        spec = ember.stft(x, 8, 3, window=window, return_complex=True)
        return ember.istft(spec * spec.abs(), 8, 3, window=window, length=30)

    assert ember.autograd.gradcheck(power, (x, w))
    assert ember.autograd.gradgradcheck(power, (x, w))
    assert ember.autograd.gradgradcheck(round_trip, (x,))


@pytest.mark.parity
def test_istft_of_a_two_sided_spectrum_to_a_real_signal_matches_torch():
    # torch reads only the first n_fft // 2 + 1 bins (it assumes a Hermitian spectrum), not Re(ifft)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    spec = rng.normal(size=(2, 16, 9)) + 1j * rng.normal(size=(2, 16, 9))
    s_e, s_t = ember.tensor(spec, requires_grad=True), torch.tensor(spec, requires_grad=True)
    w_e, w_t = ember.hann_window(16, dtype=ember.float64), torch.hann_window(16, dtype=torch.float64)
    y_e = ember.istft(s_e, 16, 4, window=w_e, onesided=False)
    y_t = torch.istft(s_t, 16, 4, window=w_t, onesided=False)
    np.testing.assert_allclose(y_e.detach().numpy(), y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = rng.normal(size=tuple(y_t.shape))
    (y_e * ember.tensor(weights)).sum().backward()
    (y_t * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(s_e.grad.numpy(), s_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_stft_refuses_an_integer_signal_as_torch():
    with pytest.raises(RuntimeError, match="expected a tensor of floating point or complex values"):
        ember.stft(ember.arange(100), 16, window=ember.ones(16), return_complex=True)


@pytest.mark.parity
@pytest.mark.parametrize("complex_signal, complex_window", [(True, False), (False, True), (True, True)])
def test_stft_of_complex_signal_or_window_matches_torch(complex_signal, complex_window):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(2, 40)) + (1j * rng.normal(size=(2, 40)) if complex_signal else 0)
    window = rng.normal(size=8) + (1j * rng.normal(size=8) if complex_window else 0)
    x_e, x_t = ember.tensor(signal, requires_grad=True), torch.tensor(signal, requires_grad=True)
    w_e, w_t = ember.tensor(window, requires_grad=True), torch.tensor(window, requires_grad=True)
    out_e = ember.stft(x_e, 8, 3, window=w_e, return_complex=True)
    out_t = torch.stft(x_t, 8, 3, window=w_t, return_complex=True)
    np.testing.assert_allclose(out_e.detach().numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-10)
    weights = rng.normal(size=tuple(out_t.shape) + (2,))
    (ember.view_as_real(out_e) * ember.tensor(weights)).sum().backward()
    (torch.view_as_real(out_t) * torch.tensor(weights)).sum().backward()
    assert x_e.grad.dtype == x_e.dtype and w_e.grad.dtype == w_e.dtype
    np.testing.assert_allclose(x_e.grad.numpy(), x_t.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w_e.grad.numpy(), w_t.grad.numpy(), rtol=1e-10, atol=1e-10)
