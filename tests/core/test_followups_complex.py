"""In-place ops on the real views of a complex tensor (``z.real``, ``z.imag``, ``view_as_real(z)``) and on the
complex view of a real one: recorded as in-place ops on a view of the tensor (torch's CopySlices)."""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

START = np.array([1 + 2j, 3 - 1j, -0.5 + 0.5j])

CASES = {
    "real.mul_": lambda lib, z: z.real.mul_(2),
    "imag.zero_": lambda lib, z: z.imag.zero_(),
    "view_as_real.add_": lambda lib, z: lib.view_as_real(z).add_(1),
    "real[1:].add_": lambda lib, z: z.real[1:].add_(3),
    "view_as_real[:, 1].mul_": lambda lib, z: lib.view_as_real(z)[:, 1].mul_(-2),
    "imag setter": lambda lib, z: setattr(z, "imag", lib.tensor([5.0, 6.0, 7.0], dtype=lib.float64)),
    "real.copy_ of a tensor that requires grad": lambda lib, z: z.real.copy_(lib.view_as_real(z)[:, 1].clone() ** 2),
}


def _grad_through_inplace(lib, name):
    z0 = lib.tensor(START, requires_grad=True)
    z = z0 * (1 + 1j)
    CASES[name](lib, z)
    (lib.view_as_real(z) ** 3).sum().backward()
    return z, z0.grad


@pytest.mark.parity
@pytest.mark.parametrize("name", list(CASES))
def test_inplace_on_a_real_view_of_a_complex_tensor_differentiates_as_torch(name):
    z, grad = _grad_through_inplace(ember, name)
    tz, tgrad = _grad_through_inplace(torch, name)
    np.testing.assert_allclose(z.detach().numpy(), tz.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), tgrad.numpy(), rtol=1e-12)


@pytest.mark.parity
@pytest.mark.parametrize("name", list(CASES))
def test_inplace_on_a_view_of_a_complex_leaf_that_requires_grad_raises_as_torch(name):
    for lib in (torch, ember):
        z = lib.tensor(START, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation"):
            CASES[name](lib, z)


@pytest.mark.parity
def test_inplace_on_the_complex_view_of_a_real_tensor_differentiates_as_torch():
    def run(lib):
        x0 = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        x = x0 * 1
        lib.view_as_complex(x).mul_(1j)
        (x**3).sum().backward()
        return x, x0.grad

    x, grad = run(ember)
    tx, tgrad = run(torch)
    np.testing.assert_allclose(x.detach().numpy(), tx.detach().numpy())
    np.testing.assert_allclose(grad.numpy(), tgrad.numpy())


def test_real_view_shares_the_version_counter_so_a_saved_complex_tensor_is_checked():
    z0 = ember.tensor(START, requires_grad=True)
    z = z0 * 1
    out = z * z  # saves z for backward
    z.real.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.abs().sum().backward()


def test_inplace_on_a_real_view_without_grad_writes_the_complex_tensor():
    z = ember.tensor(START)
    z.real.mul_(2)
    ember.view_as_real(z)[:, 1].add_(1)
    np.testing.assert_array_equal(z.numpy(), [2 + 3j, 6 + 0j, -1 + 1.5j])
