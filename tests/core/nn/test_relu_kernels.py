"""``relu`` and ``leaky_relu`` as one pass each way (``ember.kernels.activation``) against torch.

Float32 and float64 arrays of any layout take the numba kernels (split over the threads from their size
up; relu from ``_RELU_KERNEL_SIZE``); the values at zero, NaN and infinities, negative and zero slopes, the
in-place form, and the double backward (which keeps the differentiable composite) must match torch.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.kernels import activation
from ember.ops import activation as activation_ops

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]


def _pair(x, slope, inplace=False, transpose=False, upstream_nan=False):
    results = []
    for lib in (ember, torch):
        leaf = (ember.tensor if lib is ember else torch.tensor)(x, requires_grad=True)
        source = leaf.transpose(0, -1) if transpose else leaf
        source = source * 1 if inplace else source
        if slope is None:
            out = lib.nn.functional.relu(source, inplace=inplace)
        else:
            out = lib.nn.functional.leaky_relu(source, slope, inplace=inplace)
        upstream = (ember.tensor if lib is ember else torch.tensor)(np.linspace(-1, 1, out.numel()).reshape(
            tuple(out.shape)).astype(x.dtype))
        if upstream_nan:  # a NaN gradient reaching relu where it is 0: torch passes 0 on
            upstream[(slice(None),) * (upstream.ndim - 1) + (0,)] = float("nan")
        out.backward(upstream)
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", ["numpy", "kernel", "split"])  # below the kernel size, one thread, split
def test_relu_matches_torch(dtype, size, kernel_threads):
    rng = np.random.default_rng(1)
    shape = {"numpy": (2, 3, 4, 5), "kernel": (2, 16, 48, 48), "split": (4, 64, 32, 32)}[size]
    elements = int(np.prod(shape))
    assert (elements >= activation_ops._RELU_KERNEL_SIZE) == (size != "numpy")
    assert (elements >= activation._relu_forward.work) == (size == "split")
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:7] = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-30, -1e-30]
    for inplace in (False, True):
        for transpose in (False, True):
            for upstream_nan in (False, True):
                (out, grad), (ref, ref_grad) = _pair(x, None, inplace, transpose, upstream_nan)
                assert out.dtype == ref.dtype == dtype
                np.testing.assert_array_equal(out, ref, err_msg=f"output (inplace {inplace})")
                if size == "numpy" and upstream_nan:  # numpy's grad * mask keeps NaN * 0 = NaN
                    continue
                np.testing.assert_array_equal(grad, ref_grad, err_msg=f"gradient (inplace {inplace})")


def test_relu_double_backward_matches_torch():
    x = np.random.default_rng(2).standard_normal((4, 64, 32, 32))  # above the kernel size
    grads = []
    for lib in (ember, torch):
        leaf = (ember.tensor if lib is ember else torch.tensor)(x, requires_grad=True)
        out = lib.nn.functional.relu(leaf * leaf * leaf)
        (first,) = lib.autograd.grad(out.sum(), leaf, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), leaf)
        grads.append((first.detach().numpy(), second.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1])
