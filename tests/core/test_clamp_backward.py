"""clamp's backward masks the incoming gradient as torch does: a clamped element gets exactly zero, even
when the gradient arriving there is inf or nan (e.g. from an unselected ``where`` branch)."""

from __future__ import annotations

import numpy as np

import ember


def test_clamped_elements_get_zero_even_from_a_nan_gradient():
    a = ember.tensor([0.5, 2.0], requires_grad=True)
    clamped = a.clamp(min=1)
    # 1 / (clamped - 1) is inf at the clamped element; where() sends it a zero gradient, and 0 * inf is nan
    ember.where(ember.tensor([False, True]), 1 / (clamped - 1), ember.zeros(2)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, -1.0])


def test_clamp_with_tensor_bounds_masks_nan_gradients_too():
    a = ember.tensor([0.0, 5.0], requires_grad=True)
    low = ember.tensor([1.0, 1.0], requires_grad=True)
    high = ember.tensor([3.0, 3.0], requires_grad=True)
    clamped = ember.clamp(a, low, high)
    (clamped * ember.tensor([float("nan"), 1.0])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    assert np.isnan(low.grad.numpy()[0]) and low.grad.numpy()[1] == 0.0
    np.testing.assert_array_equal(high.grad.numpy(), [0.0, 1.0])
