"""ImageClassificationData: splits, transforms from recipes, folders, and reproducible batches."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from ember.vision.data import ImageClassificationData


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path / "cache"))


def test_builtin_dataset_splits_and_batches():
    dm = ImageClassificationData("synthetic_digits", train_size=100, test_size=30, batch_size=16, val_split=0.2)
    dm.setup("fit")
    assert dm.num_classes == 10 and len(dm._train) == 80 and len(dm._val) == 20 and len(dm._test) == 30
    assert not set(dm._train.indices) & set(dm._val.indices)
    images, labels = next(iter(dm.train_dataloader()))
    assert tuple(images.shape) == (16, 1, 28, 28) and tuple(labels.shape) == (16,)
    assert abs(float(images.mean())) < 0.5  # normalised with the data's statistics
    assert sum(len(b[1]) for b in dm.test_dataloader()) == 30


def test_transforms_from_recipe_and_reproducible_batches():
    recipe = [{"RandomCrop": {"size": 32, "padding": 4}}, "RandomHorizontalFlip", "ToTensor"]
    first = ImageClassificationData("shapes", train_size=40, test_size=10, batch_size=8, train_transforms=recipe)
    second = ImageClassificationData("shapes", train_size=40, test_size=10, batch_size=8, train_transforms=recipe,
                                     num_workers=2)
    import ember

    ember.manual_seed(5)
    a = next(iter(first.train_dataloader()))[0]._data
    ember.manual_seed(5)
    b = next(iter(second.train_dataloader()))[0]._data
    assert a.shape == (8, 3, 32, 32)
    np.testing.assert_array_equal(a, b)  # same augmentations whatever num_workers


def test_image_folder_with_train_and_val(tmp_path):
    for split in ("train", "val"):
        for cls in ("a", "b"):
            os.makedirs(tmp_path / "imgs" / split / cls)
            for i in range(3):
                Image.fromarray(np.full((40, 50, 3), 60 * i, np.uint8)).save(tmp_path / "imgs" / split / cls / f"{i}.png")
    dm = ImageClassificationData(str(tmp_path / "imgs"), image_size=32, batch_size=4)
    dm.setup("fit")
    assert dm.classes == ["a", "b"] and len(dm._train) == 6 and len(dm._val) == 6
    images, _ = next(iter(dm.val_dataloader()))
    assert tuple(images.shape) == (4, 3, 32, 32)


def test_bad_arguments():
    with pytest.raises(ValueError, match="dataset must be one of"):
        ImageClassificationData("imagenet_from_the_internet")
    dm = ImageClassificationData("synthetic_digits", train_size=10, test_size=5, val_split=10)
    with pytest.raises(ValueError, match="no training data"):
        dm.setup("fit")
