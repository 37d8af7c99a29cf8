"""Layer norm's row kernels (``ember.kernels.norm``, ``_threads.Split``) against torch, on one thread and with
the rows split between two (the kernels' thresholds lowered to 0 for the split cases, so small inputs take
that path): forward and the gradient of every subset of (input, weight, bias), float32 and float64."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.kernels import norm

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture
def mode(kernel_threads, monkeypatch):
    """"serial" on one thread; "split" on two, the kernels' thresholds at 0 so that small inputs split."""
    if kernel_threads == 1:
        return "serial"
    for kernel in (norm._layer_norm_forward, norm._layer_norm_backward):
        monkeypatch.setattr(kernel, "work", 0)
    return "split"


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 5, 16), (2, 3, 7, 6)], ids=["3d", "4d"])
def test_layer_norm_matches_torch(shape, dtype, mode):
    rng = np.random.default_rng(0)
    normalized = shape[-1:] if len(shape) == 3 else shape[-2:]
    arrays = [rng.standard_normal(shape) * 3 + 1, rng.standard_normal(normalized), rng.standard_normal(normalized)]
    arrays = [a.astype(dtype) for a in arrays]
    upstream = rng.standard_normal(shape).astype(dtype)
    tolerance = 2e-5 if dtype == np.float32 else 1e-10
    for subset in (s for size in (1, 2, 3) for s in itertools.combinations(range(3), size)):
        results = []
        for lib in (ember, torch):
            make = ember.tensor if lib is ember else torch.tensor
            leaves = [make(a, requires_grad=i in subset) for i, a in enumerate(arrays)]
            out = lib.nn.functional.layer_norm(leaves[0], normalized, leaves[1], leaves[2], eps=1e-5)
            (out * make(upstream)).sum().backward()
            results.append([out.detach().numpy()] + [leaves[i].grad.numpy() for i in subset])
        for what, got, ref in zip(["output"] + [f"gradient of operand {i}" for i in subset], *results):
            scale = max(1.0, float(np.abs(ref).max()))
            np.testing.assert_allclose(got, ref, rtol=tolerance, atol=tolerance * scale,
                                       err_msg=f"layer_norm {shape} {mode}: {what} (requires grad: {subset})")


def test_layer_norm_without_affine_splits_like_serial(monkeypatch):
    """No weight or bias: the split rows give the serial result, and the gradient matches torch's."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 9, 32)).astype(np.float32)
    serial = ember.nn.functional.layer_norm(ember.tensor(x), (32,)).numpy()
    for kernel in (norm._layer_norm_forward, norm._layer_norm_backward):
        monkeypatch.setattr(kernel, "work", 0)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ye, yt = ember.nn.functional.layer_norm(xe, (32,)), torch.nn.functional.layer_norm(xt, (32,))
    np.testing.assert_array_equal(ye.detach().numpy(), serial)
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
