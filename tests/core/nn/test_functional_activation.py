"""Activations: gradcheck, torch parity, numerics at extreme inputs."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Spec, check_gradcheck, check_parity, ids

X = [(3, 4)]
SPECS = [
    Spec("relu", lambda F, x: F.relu(x), X),
    Spec("relu6", lambda F, x: F.relu6(x * 4), X),
    Spec("leaky_relu", lambda F, x: F.leaky_relu(x, 0.2), X),
    Spec("elu", lambda F, x: F.elu(x, 0.7), X),
    Spec("selu", lambda F, x: F.selu(x), X),
    Spec("celu", lambda F, x: F.celu(x, 1.5), X),
    Spec("gelu", lambda F, x: F.gelu(x), X),
    Spec("gelu_tanh", lambda F, x: F.gelu(x, approximate="tanh"), X),
    Spec("silu", lambda F, x: F.silu(x), X),
    Spec("mish", lambda F, x: F.mish(x), X),
    Spec("softplus", lambda F, x: F.softplus(x, beta=2.0, threshold=3.0), X),
    Spec("softsign", lambda F, x: F.softsign(x), X),
    Spec("hardtanh", lambda F, x: F.hardtanh(x, -0.5, 0.8), X),
    Spec("hardsigmoid", lambda F, x: F.hardsigmoid(x * 4), X),
    Spec("hardswish", lambda F, x: F.hardswish(x * 4), X),
    Spec("sigmoid", lambda F, x: F.sigmoid(x), X),
    Spec("tanh", lambda F, x: F.tanh(x), X),
    Spec("logsigmoid", lambda F, x: F.logsigmoid(x), X),
    Spec("glu", lambda F, x: F.glu(x, 1), X),
    Spec("softmax", lambda F, x: F.softmax(x, 1), [(2, 3, 4)]),
    Spec("softmax_dim0", lambda F, x: F.softmax(x, dim=0), X),
    Spec("log_softmax", lambda F, x: F.log_softmax(x, -1), [(2, 3, 4)]),
    Spec("log_softmax_dim1", lambda F, x: F.log_softmax(x, dim=1), [(2, 3, 4)]),
    Spec("softmin", lambda F, x: F.softmin(x, 1), X),
    Spec("prelu", lambda F, x, w: F.prelu(x, w), [(2, 3, 4), (3,)]),
    Spec("threshold", lambda F, x: F.threshold(x, 0.1, -2.0), X),
    Spec("tanhshrink", lambda F, x: F.tanhshrink(x), X),
    Spec("softshrink", lambda F, x: F.softshrink(x, 0.3), X),
    Spec("hardshrink", lambda F, x: F.hardshrink(x, 0.3), X),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


def test_softmax_and_log_softmax_are_stable_for_huge_logits():
    x = ember.tensor([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(F.softmax(x, -1).numpy(), [[1, 0, 0]])
    out = F.log_softmax(x, -1).numpy()
    assert np.isfinite(out[0, :2]).all() and out[0, 0] == 0 and out[0, 1] == -1000
    assert F.logsigmoid(ember.tensor([-200.0])).item() == pytest.approx(-200.0)


def test_log_softmax_twice_differentiable():
    x = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: F.log_softmax(t, 1), (x,))
    assert ember.autograd.gradgradcheck(lambda t: F.softmax(t, 1), (x,))


def test_activations_keep_float32():
    x = ember.randn(5)
    for name in ["relu6", "selu", "celu", "mish", "hardswish", "hardsigmoid", "gelu", "logsigmoid", "softsign"]:
        assert getattr(F, name)(x).dtype == ember.float32, name


def test_glu_needs_even_dim():
    with pytest.raises(RuntimeError, match="even"):
        F.glu(ember.randn(2, 3))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "silu", "relu6", "selu", "celu", "mish", "hardtanh",
                                  "hardsigmoid", "hardswish"])
def test_inplace_activation_modifies_input_and_keeps_gradients_right(name):
    fn = getattr(F, name)
    x = ember.tensor([-1.5, -0.2, 0.7, 2.5], requires_grad=True)
    y = x * 1
    out = fn(y, inplace=True)
    assert out is y
    out.sum().backward()
    reference = ember.tensor([-1.5, -0.2, 0.7, 2.5], requires_grad=True)
    expected = fn(reference)
    expected.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-6)


def test_gelu_and_erf_of_nan_are_nan_in_float32():
    # the float32 erf kernel raised ZeroDivisionError on NaN (Python's division check); PyTorch gives NaN
    x = ember.tensor([float("nan"), 0.5, -1.0])
    y = F.gelu(x).numpy()
    assert np.isnan(y[0]) and np.isfinite(y[1:]).all()
    assert np.isnan(ember.erf(x).numpy()[0])


@pytest.mark.parity
def test_softmax_rows_with_nan_and_infinities_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((6, 37)).astype(np.float32)  # a row longer than a vector
    x[1, 5] = np.nan  # the whole row becomes NaN
    x[2, :30] = -np.inf  # masked positions get probability 0
    x[3, :] = -np.inf  # a fully masked row is NaN, as in torch
    x[4, 7] = np.inf
    y = np.random.default_rng(1).integers(0, 37, 6)
    for name in ("softmax", "log_softmax"):
        ours = getattr(F, name)(ember.tensor(x), -1).numpy()
        theirs = getattr(torch.nn.functional, name)(torch.from_numpy(x), -1).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6, err_msg=name)
    ours = F.cross_entropy(ember.tensor(x), ember.tensor(y), reduction="none").numpy()
    theirs = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(y), reduction="none").numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("shape,transposed", [((4, 130, 200), False), ((3, 5, 7), True)])
def test_float32_gelu_and_its_gradient_match_torch(shape, transposed):
    # the float32 kernels (ember.kernels.activation): a 3-d input large enough to be split between
    # threads, extreme values, and a non-contiguous view
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    x.reshape(-1)[:6] = [0.0, -0.0, 40.0, -40.0, 1e-30, -7.5]
    g = rng.standard_normal(shape[::-1] if transposed else shape).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey = F.gelu(ex.transpose(0, 2) if transposed else ex)
    ty = torch.nn.functional.gelu(tx.transpose(0, 2) if transposed else tx)
    assert ey.dtype == ember.float32
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=2e-6, atol=2e-6)  # erf: 1.5e-7
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=2e-6, atol=2e-6)
