"""nn.CrossMapLRN2d: torch's legacy LRN across channels, forward and backward number for number (its quirks
included: channel 0 stays in later windows, the backward's window sits one channel lower)."""

from __future__ import annotations

import ember
import numpy as np
import pytest


def _ember_lrn(x: np.ndarray, upstream: np.ndarray | None, size: int, alpha: float, beta: float, k: float):
    layer = ember.nn.CrossMapLRN2d(size, alpha, beta, k)
    leaf = ember.tensor(x, requires_grad=upstream is not None)
    out = layer(leaf)
    if upstream is None:
        assert not out.requires_grad
        return out.numpy(), None
    (out * ember.tensor(upstream)).sum().backward()
    return out.detach().numpy(), leaf.grad.numpy()


def test_forward_sums_the_neighbouring_channels_and_keeps_channel_0():
    x = np.arange(1.0, 8.0).reshape(1, 7, 1, 1)
    out, _ = _ember_lrn(x, None, 3, alpha=3.0, beta=1.0, k=1.0)  # window c-1..c+1, scale 1 + sum of squares
    squares = x.ravel() ** 2
    sums = [squares[max(0, c - 1):c + 2].sum() + (squares[0] if c > 1 else 0) for c in range(7)]
    np.testing.assert_allclose(out.ravel(), x.ravel() / (1 + np.array(sums)))


@pytest.mark.parity
@pytest.mark.parametrize("size", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("channels", [1, 3, 7])
def test_forward_and_backward_are_torchs(size, channels):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(size * 10 + channels)
    for dtype, rtol in ((np.float64, 1e-10), (np.float32, 1e-5)):
        x = rng.standard_normal((2, channels, 3, 4)).astype(dtype)
        upstream = rng.standard_normal(x.shape).astype(dtype)
        for needs_grad in (False, True):  # every subset of the one tensor input
            ours = _ember_lrn(x, upstream if needs_grad else None, size, 0.5, 0.75, 2.0)
            leaf = torch.tensor(x, requires_grad=needs_grad)
            out = torch.nn.CrossMapLRN2d(size, 0.5, 0.75, 2.0)(leaf)
            assert ours[0].dtype == x.dtype
            np.testing.assert_allclose(ours[0], out.detach().numpy(), rtol=rtol, atol=rtol)
            if needs_grad:
                (out * torch.tensor(upstream)).sum().backward()
                np.testing.assert_allclose(ours[1], leaf.grad.numpy(), rtol=rtol, atol=rtol)


def test_needs_a_4d_input_and_is_once_differentiable():
    layer = ember.nn.CrossMapLRN2d(3)
    with pytest.raises(ValueError, match="CrossMapLRN2d: Expected input to be 4D, got 3D instead."):
        layer(ember.ones(2, 3, 4))
    x = ember.randn(1, 3, 2, 2, requires_grad=True)
    (grad,) = ember.autograd.grad(layer(x).sum(), x)
    assert grad.shape == x.shape
    with pytest.raises(RuntimeError, match="only once differentiable"):
        ember.autograd.grad(layer(x).sum(), x, create_graph=True)
    assert repr(layer) == "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)"
