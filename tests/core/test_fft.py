"""``ember.fft`` with complex inputs against torch (values, dtypes and gradients, every norm), gradcheck
with complex inputs, and the helpers (fftfreq, fftshift). Real-input cases run in the op-spec table
(op_specs_fft.py)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(3)
REAL = RNG.standard_normal((3, 6))
CPLX = REAL + 1j * RNG.standard_normal((3, 6))
HALF = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))

# name -> (function of (module, input), input array)
CASES = {
    "fft": (lambda m, t, norm: m.fft.fft(t, norm=norm), CPLX),
    "fft_n_dim": (lambda m, t, norm: m.fft.fft(t, n=4, dim=0, norm=norm), CPLX),
    "ifft_n": (lambda m, t, norm: m.fft.ifft(t, n=9, norm=norm), CPLX),
    "fft2_s": (lambda m, t, norm: m.fft.fft2(t, s=(4, 5), norm=norm), CPLX),
    "ifft2": (lambda m, t, norm: m.fft.ifft2(t, norm=norm), CPLX),
    "fftn": (lambda m, t, norm: m.fft.fftn(t, norm=norm), CPLX),
    "ifftn_s": (lambda m, t, norm: m.fft.ifftn(t, s=(7,), norm=norm), CPLX),
    "irfft": (lambda m, t, norm: m.fft.irfft(t, norm=norm), HALF),
    "irfft_n_odd": (lambda m, t, norm: m.fft.irfft(t, n=7, norm=norm), HALF),
    "irfft_n_dim": (lambda m, t, norm: m.fft.irfft(t, n=3, dim=0, norm=norm), HALF),
    "irfft2": (lambda m, t, norm: m.fft.irfft2(t, norm=norm), HALF),
    "irfftn_s": (lambda m, t, norm: m.fft.irfftn(t, s=(4, 5), norm=norm), HALF),
    "hfft": (lambda m, t, norm: m.fft.hfft(t, norm=norm), HALF),
    "hfft_n": (lambda m, t, norm: m.fft.hfft(t, n=5, norm=norm), HALF),
    "hfft2_s": (lambda m, t, norm: m.fft.hfft2(t, s=(2, 5), norm=norm), HALF),
    "hfftn": (lambda m, t, norm: m.fft.hfftn(t, norm=norm), HALF),
    "ihfft2": (lambda m, t, norm: m.fft.ihfft2(t, norm=norm), REAL),
    "ihfftn_s": (lambda m, t, norm: m.fft.ihfftn(t, s=(2, 5), norm=norm), REAL),
    "rfft": (lambda m, t, norm: m.fft.rfft(t, norm=norm), REAL),
    "ihfft_n": (lambda m, t, norm: m.fft.ihfft(t, n=7, norm=norm), REAL),
}


def _run(m, name, norm, dtype):
    fn, data = CASES[name]
    data = data.astype(dtype if data.dtype.kind == "f" else {"float32": "complex64"}.get(dtype, "complex128"))
    t = m.tensor(data, requires_grad=True)
    out = fn(m, t, norm).resolve_conj()
    real = m.view_as_real(out) if out.is_complex() else out
    weights = np.random.default_rng(4).standard_normal(tuple(real.shape)).astype(dtype)
    (real * m.tensor(weights)).sum().backward()
    return real.detach().numpy(), str(out.dtype).split(".")[-1], t.grad.resolve_conj().numpy()


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
@pytest.mark.parametrize("name", list(CASES))
def test_transform_and_gradient_match_torch(name, norm, dtype):
    torch = pytest.importorskip("torch")
    out, out_dtype, grad = _run(ember, name, norm, dtype)
    want, want_dtype, want_grad = _run(torch, name, norm, dtype)
    tolerance = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    assert out_dtype == want_dtype and grad.dtype == want_grad.dtype
    np.testing.assert_allclose(out, want, **tolerance)
    np.testing.assert_allclose(grad, want_grad, **tolerance)


@pytest.mark.parametrize("name", ["fft_n_dim", "ifft2", "irfft", "irfft_n_odd", "irfftn_s", "hfft_n", "rfft"])
def test_gradcheck_and_gradgradcheck_with_complex_inputs(name):
    fn, data = CASES[name]
    t = ember.tensor(data[:2, :4] if data.dtype.kind == "c" else data[:2], requires_grad=True)
    assert gradcheck(lambda x: fn(ember, x, "ortho"), (t,))
    assert gradgradcheck(lambda x: fn(ember, x, "ortho"), (t,))


def test_gradcheck_catches_a_complex_gradient_without_the_conjugate():
    class ScaleWithoutConj(ember.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            return z * (2 + 3j)

        @staticmethod
        def backward(ctx, grad):
            return grad * (2 + 3j)  # PyTorch's convention needs grad * conj(2 + 3j)

    z = ember.tensor([1 + 1j, 2 - 1j], dtype=ember.complex128, requires_grad=True)
    assert gradcheck(lambda x: x * (2 + 3j), (z,))
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        gradcheck(ScaleWithoutConj.apply, (z,))


def test_dtypes_follow_torch():
    assert ember.fft.fft(ember.ones(4)).dtype == ember.complex64
    assert ember.fft.fft(ember.ones(4, dtype=ember.float64)).dtype == ember.complex128
    assert ember.fft.fft(ember.arange(4)).dtype == ember.complex64
    assert ember.fft.rfft(ember.ones(4)).shape == (3,)
    assert ember.fft.irfft(ember.ones(3, dtype=ember.complex128)).dtype == ember.float64
    assert ember.fft.irfft(ember.ones(3, dtype=ember.complex64)).shape == (4,)
    assert ember.fft.hfft(ember.ones(3, dtype=ember.complex64)).dtype == ember.float32


def test_graph_nodes_are_named_as_torch_names_them():
    x = ember.ones(4, requires_grad=True)
    assert ember.fft.rfft(x).grad_fn.name() == "FftR2CBackward"
    assert ember.fft.ifft(x).grad_fn.name() == "FftC2CBackward"
    assert ember.fft.irfft(ember.fft.rfft(x)).grad_fn.name() == "FftC2RBackward"


def test_round_trips():
    x = ember.tensor(REAL)
    np.testing.assert_allclose(ember.fft.irfft(ember.fft.rfft(x), n=6).numpy(), REAL, atol=1e-6)
    np.testing.assert_allclose(ember.fft.ifftn(ember.fft.fftn(x)).real.numpy(), REAL, atol=1e-6)
    np.testing.assert_allclose(ember.fft.hfft(ember.fft.ihfft(x), n=6).numpy(), REAL, atol=1e-6)


def test_bad_arguments_raise_torch_errors():
    x = ember.ones(4)
    with pytest.raises(RuntimeError, match='Invalid normalization mode: "bad"'):
        ember.fft.fft(x, norm="bad")
    with pytest.raises(RuntimeError, match=r"Invalid number of data points \(0\) specified"):
        ember.fft.fft(x, n=0)
    with pytest.raises(RuntimeError, match="rfft expects a real input tensor, but got ComplexFloat"):
        ember.fft.rfft(x.to(ember.complex64))
    with pytest.raises(IndexError, match="out of range"):
        ember.fft.fft2(x)
    with pytest.raises(RuntimeError, match="dim and shape arguments must have the same length"):
        ember.fft.fftn(x, s=(2, 3), dim=(0,))


def test_fftfreq_and_rfftfreq():
    np.testing.assert_allclose(ember.fft.fftfreq(5, 0.5).numpy(), [0.0, 0.4, 0.8, -0.8, -0.4], rtol=1e-6)
    np.testing.assert_allclose(ember.fft.rfftfreq(6).numpy(), [0.0, 1 / 6, 2 / 6, 0.5], rtol=1e-6)
    assert ember.fft.fftfreq(4).dtype == ember.float32
    assert ember.fft.rfftfreq(4, dtype=ember.float64).dtype == ember.float64


def test_fftshift_centres_the_zero_frequency():
    freqs = ember.fft.fftfreq(5)
    assert ember.fft.fftshift(freqs).tolist() == pytest.approx([-0.4, -0.2, 0.0, 0.2, 0.4])
    assert ember.fft.ifftshift(ember.fft.fftshift(freqs)).tolist() == freqs.tolist()
    x = ember.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(ember.fft.fftshift(x).numpy(), np.fft.fftshift(x.numpy()))
    np.testing.assert_array_equal(ember.fft.ifftshift(x, dim=1).numpy(), np.fft.ifftshift(x.numpy(), axes=1))
