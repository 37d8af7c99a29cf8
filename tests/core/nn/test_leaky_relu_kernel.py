"""``leaky_relu`` as one pass each way (``ember.kernels.activation``) against torch.

Float32 and float64 arrays of any layout take the numba kernels (split over the threads from their size
up); the values at zero, NaN, negative and zero slopes, the in-place form, and the double backward (which
keeps the differentiable composite) must match torch.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.kernels import activation

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]


def _pair(x, slope, inplace=False, transpose=False):
    results = []
    for lib in (ember, torch):
        leaf = (ember.tensor if lib is ember else torch.tensor)(x, requires_grad=True)
        source = leaf.transpose(0, -1) if transpose else leaf
        out = lib.nn.functional.leaky_relu(source * 1 if inplace else source, slope, inplace=inplace)
        upstream = (ember.tensor if lib is ember else torch.tensor)(np.linspace(-1, 1, out.numel()).reshape(
            tuple(out.shape)).astype(x.dtype))
        (out * upstream).sum().backward()
        results.append((out.detach().numpy(), leaf.grad.numpy()))
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.2, 0.0, -0.5])
@pytest.mark.parametrize("size", ["small", "split"])  # below / above the kernels' one-thread size
def test_leaky_relu_matches_torch(dtype, slope, size, kernel_threads):
    rng = np.random.default_rng(0)
    shape = (2, 3, 4, 5) if size == "small" else (4, 64, 32, 32)
    if size == "split":
        assert np.prod(shape) >= activation._leaky_relu_forward.work
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:7] = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-30, -1e-30]
    for inplace in (False, True) if slope >= 0 else (False,):  # torch: no in-place backward at a negative slope
        for transpose in (False, True):
            (out, grad), (ref, ref_grad) = _pair(x, slope, inplace, transpose)
            assert out.dtype == ref.dtype == dtype
            np.testing.assert_array_equal(out, ref, err_msg=f"output (inplace {inplace}, transposed {transpose})")
            np.testing.assert_array_equal(grad, ref_grad, err_msg=f"gradient (inplace {inplace})")


def test_leaky_relu_double_backward_matches_torch():
    x = np.array([[-1.5, 0.0, 2.0], [0.5, -0.25, 3.0]], np.float64)
    grads = []
    for lib in (ember, torch):
        leaf = (ember.tensor if lib is ember else torch.tensor)(x, requires_grad=True)
        out = lib.nn.functional.leaky_relu(leaf * leaf, 0.1)
        (first,) = lib.autograd.grad(out.sum(), leaf, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), leaf)
        grads.append((first.detach().numpy(), second.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1])
