"""MixUp and CutMix mix a batch with its neighbour and produce matching soft labels."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.vision.transforms import CutMix, MixUp, RandomChoice


def _batch():
    images = ember.Tensor(np.stack([np.full((1, 8, 8), v, np.float32) for v in (0.0, 1.0, 2.0, 3.0)]))
    return images, ember.tensor([0, 1, 2, 3])


def test_mixup_mixes_images_and_labels_with_the_same_ratio():
    images, labels = MixUp(alpha=0.4, num_classes=5)(_batch())
    lam = float(labels._data[1, 1])
    assert labels.shape == (4, 5) and np.allclose(labels._data.sum(1), 1)
    np.testing.assert_allclose(images._data[1], lam * 1.0 + (1 - lam) * 0.0, atol=1e-6)  # mixed with sample 0


def test_cutmix_labels_follow_the_pasted_area():
    ember.manual_seed(1)
    images, labels = CutMix(alpha=1.0, num_classes=4)(_batch())
    for i in range(4):
        pasted = (images._data[i] == (i - 1) % 4).mean()
        assert labels._data[i, i] == pytest.approx(1 - pasted, abs=1e-6)


def test_bad_batches_raise():
    with pytest.raises(ValueError, match="index based"):  # a lone tensor is taken for the labels, as torchvision
        MixUp(num_classes=3)(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="num_classes must be passed"):  # index labels need num_classes
        MixUp()(_batch())
    with pytest.raises(ValueError, match="labels must be in"):
        CutMix(num_classes=2)(_batch())
    with pytest.raises(ValueError, match="batched input with 4 dims"):
        MixUp(num_classes=4)(ember.rand(4, 8, 8), ember.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="must match num_classes"):
        MixUp(num_classes=3)(ember.rand(4, 1, 2, 2), ember.rand(4, 5))


def test_called_as_torchvision_calls_it_images_and_labels_as_two_arguments():
    """torchvision's tutorial: ``cutmix_or_mixup(images, labels)`` and ``cutmix_or_mixup(*default_collate(batch))``
    (through ``RandomChoice``); the two come back as a pair."""
    images, labels = _batch()
    for mix in (MixUp(num_classes=4), CutMix(num_classes=4), RandomChoice([CutMix(num_classes=4), MixUp(num_classes=4)])):
        out_images, out_labels = mix(images, labels)
        assert out_images.shape == (4, 1, 8, 8) and out_labels.shape == (4, 4)
        np.testing.assert_allclose(out_labels.numpy().sum(1), 1, rtol=1e-6)


def test_labels_found_in_a_dict_by_key_or_by_labels_getter_and_the_rest_passed_through():
    batch = {"imgs": ember.rand(4, 3, 8, 8), "target": {"classes": ember.tensor([0, 1, 2, 3]), "note": "kept"}}
    out = CutMix(num_classes=5, labels_getter=lambda b: b["target"]["classes"])(batch)
    assert out["imgs"].shape == (4, 3, 8, 8) and out["target"]["classes"].shape == (4, 5)
    assert out["target"]["note"] == "kept"
    out = MixUp(num_classes=5)({"image": ember.rand(4, 3, 8, 8), "Labels": ember.tensor([0, 1, 2, 3])})
    assert out["Labels"].shape == (4, 5)


def test_soft_labels_need_no_num_classes_and_a_tv_tensors_image_stays_one():
    from ember.vision import tv_tensors

    soft = ember.softmax(ember.randn(4, 6), dim=1)
    images, labels = MixUp()(tv_tensors.Image(ember.rand(4, 3, 8, 8)), soft)
    assert isinstance(images, tv_tensors.Image) and labels.shape == (4, 6)
    np.testing.assert_allclose(labels.numpy().sum(1), 1, rtol=1e-5)


@pytest.mark.parity
def test_mixup_gives_torchvisions_batch_for_the_same_ratio(monkeypatch):
    torch = pytest.importorskip("torch")
    from tests.vision._torchvision import import_torchvision

    import_torchvision()
    from torchvision.transforms import v2
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 3, 5, 5), dtype=np.float32), np.array([2, 0, 1, 2])
    theirs = v2.MixUp(num_classes=3)
    theirs._dist = type("Fixed", (), {"sample": lambda self, shape: torch.tensor(0.3)})()
    expected = theirs(torch.from_numpy(x), torch.from_numpy(y))
    from ember.vision.transforms import mixup

    monkeypatch.setattr(mixup, "rng", lambda: type("Fixed", (), {"beta": lambda self, a, b: 0.3})())
    got = MixUp(num_classes=3)(ember.from_numpy(x), ember.from_numpy(y))
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == ember.float32 and str(e.dtype) == "torch.float32"
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6)
