"""GELU's float32 kernels (``ember.kernels.activation``: the Gaussian computed inside the kernel, rows split
between threads) against torch, on one thread and split between two (thresholds lowered to 0 so that small
inputs take that path)."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.kernels import activation

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture
def mode(kernel_threads, monkeypatch):
    """"serial" on one thread; "split" on two, the kernels' thresholds at 0 so that small inputs split."""
    if kernel_threads == 1:
        return "serial"
    for kernel in (activation._gelu_forward, activation._gelu_backward):
        monkeypatch.setattr(kernel, "work", 0)
    return "split"


@pytest.mark.parametrize("shape", [(4, 5, 6), (2, 3, 4, 33)], ids=["3d", "4d"])
def test_gelu_matches_torch(shape, mode):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    x.flat[:4] = [0.0, -30.0, 40.0, 1e-3]  # far tails (the Gaussian underflows) and the origin
    upstream = rng.standard_normal(shape).astype(np.float32)
    results = []
    for lib in (ember, torch):
        make = ember.tensor if lib is ember else torch.tensor
        leaf = make(x, requires_grad=True)
        out = lib.nn.functional.gelu(leaf)
        (out * make(upstream)).sum().backward()
        results.append((out.detach().numpy(), leaf.grad.numpy()))
    for what, got, ref in zip(("output", "gradient"), *results):
        np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-6, err_msg=f"gelu {shape} {mode}: {what}")


def test_gaussian_kernel_is_accurate_and_keeps_nan(mode):
    """The Gaussian made inside the kernel is exp(-x^2/2) to float32's precision, 0 in the far tails and
    NaN for NaN (so the output is NaN there, as numpy's exp made it)."""
    x = np.concatenate([np.linspace(-40, 40, 4001), [np.nan, 1e20]]).astype(np.float32)
    out, _cdf, gauss = activation.gelu_forward(x)
    expected = np.exp(-0.5 * x.astype(np.float64) ** 2)
    np.testing.assert_allclose(gauss[:-2], expected[:-2], rtol=3e-7, atol=1e-30)
    assert np.isnan(gauss[-2]) and np.isnan(out[-2]) and gauss[-1] == 0
