"""Detection losses give torchvision's values and gradients."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.vision import ops

from .._torchvision import import_torchvision


def _pairs(rng, n: int):
    xy = rng.uniform(0, 10, (2, n, 2))
    wh = rng.uniform(0.5, 6, (2, n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=-1)
    boxes[1, 0] = [50, 50, 52, 53]  # one pair that does not overlap at all
    return boxes[0], boxes[1]


@pytest.mark.parity
@pytest.mark.parametrize("name", ["generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_box_losses_match_torchvision(name, reduction):
    tv = import_torchvision()
    import torch

    b1, b2 = _pairs(np.random.default_rng(0), 6)
    e1, e2 = ember.tensor(b1, requires_grad=True), ember.tensor(b2, requires_grad=True)
    t1, t2 = torch.tensor(b1, requires_grad=True), torch.tensor(b2, requires_grad=True)
    out = getattr(ops, name)(e1, e2, reduction=reduction)
    expected = getattr(tv.ops, name)(t1, t2, reduction=reduction)
    np.testing.assert_allclose(np.asarray(out.detach()), expected.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(np.asarray(e1.grad), t1.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(np.asarray(e2.grad), t2.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parity
@pytest.mark.parametrize("alpha, gamma, reduction", [(0.25, 2, "none"), (-1, 0.5, "mean"), (0.7, 0, "sum")])
def test_sigmoid_focal_loss_matches_torchvision(alpha, gamma, reduction):
    tv = import_torchvision()
    import torch

    rng = np.random.default_rng(1)
    logits, targets = rng.standard_normal((4, 5)) * 3, (rng.random((4, 5)) > 0.7).astype(np.float64)
    e = ember.tensor(logits, requires_grad=True)
    t = torch.tensor(logits, requires_grad=True)
    out = ops.sigmoid_focal_loss(e, ember.from_numpy(targets), alpha, gamma, reduction)
    expected = tv.ops.sigmoid_focal_loss(t, torch.from_numpy(targets), alpha, gamma, reduction)
    np.testing.assert_allclose(np.asarray(out.detach()), expected.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(np.asarray(e.grad), t.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_losses_reject_an_unknown_reduction():
    with pytest.raises(ValueError, match="invalid reduction 'avg'"):
        ops.generalized_box_iou_loss(ember.ones(1, 4), ember.ones(1, 4), reduction="avg")
