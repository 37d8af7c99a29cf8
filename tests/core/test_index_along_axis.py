"""Indexing along one axis (``x[:, idx]``, ``index_select``, and through them reflection / replicate / circular
padding and nearest upsampling): ``np.take`` forward and a slice-wise scatter-add backward, which must give
``np.add.at``'s sums added in ``np.add.at``'s order, and torch's values and gradients."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F
from ember.ops.index import _add_along


@pytest.mark.parametrize("axis", [0, 1, 3])
def test_the_scatter_add_equals_np_add_at_bit_for_bit(axis):
    rng = np.random.default_rng(axis)
    shape = (3, 4, 5, 6)
    positions = rng.integers(-shape[axis], shape[axis], 17)  # repeats (up to several times) and negatives
    values = rng.standard_normal(shape[:axis] + (17,) + shape[axis + 1:]).astype(np.float32)
    expected = np.zeros(shape, np.float32)
    np.add.at(expected, (slice(None),) * axis + (positions,), values)
    ours = np.zeros(shape, np.float32)
    _add_along(ours, axis, positions, values)
    np.testing.assert_array_equal(ours, expected)


def test_an_empty_index_adds_nothing():
    out = np.ones((2, 3), np.float32)
    _add_along(out, 1, np.zeros(0, np.int64), np.zeros((2, 0), np.float32))
    np.testing.assert_array_equal(out, np.ones((2, 3), np.float32))


CASES = [
    ("getitem", lambda F, x: x[:, :, [4, -1, 0, 4, 2]]),
    ("index_select", lambda F, x: x.index_select(1, _tensor(F, [2, 0, 2, 2]))),
    ("reflect", lambda F, x: F.pad(x, (3, 2, 1, 2), mode="reflect")),
    ("replicate", lambda F, x: F.pad(x, (3, 2, 1, 2), mode="replicate")),
    ("circular", lambda F, x: F.pad(x, (3, 2, 1, 2), mode="circular")),
    ("nearest", lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest")),
]


def _tensor(F, values):
    import torch

    return ember.tensor(values) if F is ember.nn.functional else torch.tensor(values)


@pytest.mark.parity
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_equal_torch(case):
    torch = pytest.importorskip("torch")
    _, fn = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = fn(F, xe), fn(torch.nn.functional, xt)
    np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
    g = rng.standard_normal(tuple(ye.shape)).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-6)
