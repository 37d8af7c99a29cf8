"""The arithmetic ops of ``ember.ops.arithmetic`` where PyTorch's checks are the behaviour under test."""

from __future__ import annotations

import numpy as np
import pytest

import ember


@pytest.mark.parametrize("dtype, name", [(ember.float32, "Float"), (ember.int64, "Long"),
                                         (ember.float64, "Double")])
def test_where_rejects_a_non_bool_condition_as_torch(dtype, name):
    condition = ember.tensor([1, 0], dtype=dtype)
    with pytest.raises(RuntimeError, match=f"where expected condition to be a boolean tensor, but got a tensor "
                                           f"with dtype {name}"):
        ember.where(condition, ember.ones(2), ember.zeros(2))


def test_where_takes_a_uint8_condition_with_torch_deprecation_warning():
    condition = ember.tensor([1, 0], dtype=ember.uint8)
    with pytest.warns(UserWarning, match="uint8 condition"):
        out = ember.where(condition, ember.ones(2), ember.zeros(2))
    np.testing.assert_array_equal(out.numpy(), [1.0, 0.0])


def test_where_with_a_bool_condition_selects():
    out = ember.where(ember.tensor([True, False]), ember.tensor([1.0, 2.0]), 0.0)
    np.testing.assert_array_equal(out.numpy(), [1.0, 0.0])
