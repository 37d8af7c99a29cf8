"""ember.vision.ops box functions give torchvision's numbers and gradients on random boxes."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.vision import ops

from .._torchvision import import_torchvision


def _random_boxes(rng, n: int, scale: float = 20.0) -> np.ndarray:
    xy = rng.uniform(0, scale, (n, 2))
    wh = rng.uniform(0.5, scale / 2, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def _reference_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """The greedy algorithm as torchvision documents it, written out plainly."""
    order, keep = list(np.argsort(-scores, kind="stable")), []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        iou = np.asarray(ops.box_iou(ember.from_numpy(boxes[i:i + 1]), ember.from_numpy(boxes[order])))[0]
        order = [j for j, v in zip(order, iou) if v <= threshold]
    return keep


def test_nms_suppresses_overlaps_above_the_threshold_only():
    boxes = ember.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0], [0.0, 6.0, 10.0, 10.0]])
    # IoU with the first box: 0.5 (kept: suppression needs IoU > threshold) and 0.4
    assert ops.nms(boxes, ember.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 1, 2]
    assert ops.nms(boxes, ember.tensor([0.9, 0.8, 0.7]), 0.45).tolist() == [0, 2]
    assert ops.nms(boxes, ember.tensor([0.1, 0.8, 0.7]), 0.3).tolist() == [1, 2]
    assert ops.nms(boxes, ember.tensor([0.9, 0.8, 0.7]), 0.5).dtype == ember.int64


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_nms_matches_the_greedy_reference_on_random_boxes(threshold):
    rng = np.random.default_rng(1)
    boxes, scores = _random_boxes(rng, 200), rng.random(200)
    kept = ops.nms(ember.from_numpy(boxes), ember.from_numpy(scores), threshold).tolist()
    assert kept == _reference_nms(boxes, scores, threshold)


def test_batched_nms_never_suppresses_across_categories():
    boxes = ember.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]])
    scores = ember.tensor([0.9, 0.8, 0.7])
    assert ops.batched_nms(boxes, scores, ember.tensor([0, 1, 0]), 0.5).tolist() == [0, 1]
    assert ops.batched_nms(boxes, scores, ember.tensor([0, 0, 0]), 0.5).tolist() == [0]
    assert ops.batched_nms(ember.zeros((0, 4)), ember.zeros(0), ember.zeros(0, dtype=ember.int64), 0.5).shape == (0,)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"])
def test_pairwise_iou_matches_torchvision_values_and_gradients(name):
    tv = import_torchvision()
    import torch

    rng = np.random.default_rng(2)
    b1, b2 = _random_boxes(rng, 7), _random_boxes(rng, 5)
    e1, e2 = (ember.tensor(b, requires_grad=True) for b in (b1, b2))
    t1, t2 = (torch.tensor(b, requires_grad=True) for b in (b1, b2))
    weights = rng.standard_normal((7, 5))
    out = getattr(ops, name)(e1, e2)
    expected = getattr(tv.ops, name)(t1, t2)
    np.testing.assert_allclose(np.asarray(out.detach()), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out * ember.from_numpy(weights)).sum().backward()
    (expected * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(np.asarray(e1.grad), t1.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(np.asarray(e2.grad), t2.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parity
def test_box_utilities_match_torchvision():
    tv = import_torchvision()
    import torch

    rng = np.random.default_rng(3)
    boxes = _random_boxes(rng, 9).astype(np.float32) - 3
    e, t = ember.from_numpy(boxes), torch.from_numpy(boxes)
    for in_fmt in ("xyxy", "xywh", "cxcywh"):
        for out_fmt in ("xyxy", "xywh", "cxcywh"):
            np.testing.assert_allclose(np.asarray(ops.box_convert(e, in_fmt, out_fmt)),
                                       tv.ops.box_convert(t, in_fmt, out_fmt).numpy(), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(ops.box_area(e, fmt=in_fmt)),
                                   tv.ops.box_area(t, fmt=in_fmt).numpy(), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(ops.box_iou(e, e[:4], fmt=in_fmt)),
                                   tv.ops.box_iou(t, t[:4], fmt=in_fmt).numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(ops.clip_boxes_to_image(e, (12, 15))),
                                  tv.ops.clip_boxes_to_image(t, (12, 15)).numpy())
    for min_size in (1.0, 4.0):
        assert ops.remove_small_boxes(e, min_size).tolist() == tv.ops.remove_small_boxes(t, min_size).tolist()
    masks = rng.random((4, 10, 13)) > 0.97
    masks[2] = False
    np.testing.assert_array_equal(np.asarray(ops.masks_to_boxes(ember.from_numpy(masks))),
                                  tv.ops.masks_to_boxes(torch.from_numpy(masks)).numpy())


def test_box_functions_name_the_bad_shape():
    with pytest.raises(ValueError, match=r"box_iou: expected boxes of shape \(\.\.\., 4\), got \(3, 5\)"):
        ops.box_iou(ember.zeros(3, 5), ember.zeros(2, 4))
    with pytest.raises(ValueError, match="unsupported box format 'xy'"):
        ops.box_convert(ember.zeros(3, 4), "xy", "xyxy")
