"""MixUp and CutMix mix a batch with its neighbour and produce matching soft labels."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.vision.transforms import CutMix, MixUp


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
    with pytest.raises(TypeError):
        MixUp(num_classes=3)(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="num_classes"):
        MixUp()
    with pytest.raises(ValueError, match="labels must be in"):
        CutMix(num_classes=2)(_batch())
