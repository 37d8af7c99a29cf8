"""Dropout: masks from Ember's generator, scaling, channel masks, gradients through the mask."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Spec, check_gradcheck, ids

SPECS = [
    Spec("dropout", lambda F, x: F.dropout(x, 0.4), [(4, 5)], torch=False),
    Spec("dropout1d", lambda F, x: F.dropout1d(x, 0.5), [(2, 4, 3)], torch=False),
    Spec("dropout2d", lambda F, x: F.dropout2d(x, 0.5), [(2, 4, 2, 2)], torch=False),
    Spec("alpha_dropout", lambda F, x: F.alpha_dropout(x, 0.3, training=True), [(4, 5)], torch=False),
    Spec("dropout3d", lambda F, x: F.dropout3d(x, 0.5), [(2, 4, 2, 2, 2)], torch=False),
    Spec("feature_alpha_dropout", lambda F, x: F.feature_alpha_dropout(x, 0.3, training=True), [(2, 4, 3)],
         torch=False),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


def test_dropout_scales_kept_values_and_keeps_expectation():
    x = ember.ones(100_000)
    y = F.dropout(x, 0.3).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.7)}
    assert abs((y == 0).mean() - 0.3) < 0.01
    assert abs(y.mean() - 1) < 0.02 and y.dtype == np.float32


def test_dropout_is_identity_in_eval_and_reproducible_with_manual_seed():
    x = ember.randn(50)
    assert F.dropout(x, 0.5, training=False) is x
    ember.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    ember.manual_seed(7)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5).numpy())


def test_dropout_gradient_is_the_mask():
    x = ember.randn(1000, requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (y.detach().numpy() != 0) * 2.0)


def test_channel_dropout_zeroes_whole_channels():
    y = F.dropout2d(ember.ones(8, 16, 3, 3), 0.5).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    assert 0 < (per_channel == 0).all(-1).mean() < 1
    y1 = F.dropout1d(ember.ones(4, 10, 5), 0.5).numpy()
    assert ((y1 == 0).all(-1) | (y1 == 2).all(-1)).all()


def test_dropout_rejects_bad_probability():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(ember.ones(2), 1.5)
