"""Auto-augment policies: every operation runs on every image kind; samples with boxes are refused."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import transforms as T
from ember.vision.transforms.autoaugment import apply_op

OPS = ["Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast",
       "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize", "Invert"]


@pytest.mark.parametrize("name", OPS)
def test_each_operation_agrees_between_pil_and_array(name):
    arr = np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    magnitude = {"Posterize": 4, "Solarize": 128.0, "TranslateX": 3.0, "TranslateY": -3.0, "Rotate": 90.0}.get(
        name, 0.3)
    ours = apply_op(arr, name, magnitude, T.InterpolationMode.NEAREST, None)
    pil = apply_op(Image.fromarray(arr), name, magnitude, T.InterpolationMode.NEAREST, None)
    assert ours.shape == arr.shape
    assert np.abs(ours.astype(int) - np.asarray(pil).astype(int)).max() <= 1
    floats = apply_op(arr.astype(np.float32) / 255, name, magnitude, T.InterpolationMode.NEAREST, None)
    assert floats.dtype == np.float32 and np.abs(floats * 255 - ours).max() <= 1.5


def test_policies_are_seeded_and_change_images():
    img = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for t in (T.AutoAugment(), T.AutoAugment("cifar10"), T.RandAugment(), T.TrivialAugmentWide()):
        ember.manual_seed(0)
        a = [t(img) for _ in range(6)]
        ember.manual_seed(0)
        b = [t(img) for _ in range(6)]
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
        assert any(not np.array_equal(x, img) for x in a)


def test_refuses_samples_it_cannot_keep_aligned():
    sample = {"image": np.zeros((8, 8), np.uint8), "mask": np.zeros((8, 8), np.uint8)}
    with pytest.raises(ValueError, match="images only"):
        T.RandAugment()(sample)
    assert T.RandAugment()({"image": np.zeros((8, 8, 3), np.uint8), "label": 3})["label"] == 3


def test_augmix_mixes_chains_and_keeps_kind_and_dtype():
    from PIL import Image

    ember.manual_seed(0)
    rng = np.random.default_rng(0)
    chw = rng.integers(0, 256, (3, 16, 16), dtype=np.uint8)
    out = T.AugMix(severity=5)(ember.from_numpy(chw))
    assert isinstance(out, ember.Tensor) and out.dtype == ember.uint8 and tuple(out.shape) == (3, 16, 16)
    assert not np.array_equal(np.asarray(out), chw)
    ember.manual_seed(0)
    np.testing.assert_array_equal(np.asarray(T.AugMix(severity=5)(ember.from_numpy(chw))), np.asarray(out))
    pil = T.AugMix()(Image.fromarray(chw.transpose(1, 2, 0)))
    assert isinstance(pil, Image.Image) and pil.size == (16, 16)
    floats = T.AugMix(chain_depth=2, all_ops=False)(ember.from_numpy(chw.astype(np.float32) / 255))
    assert floats.dtype == ember.float32 and 0.0 <= float(floats.min()) and float(floats.max()) <= 1.0
    with pytest.raises(ValueError, match="severity must be between"):
        T.AugMix(severity=11)
