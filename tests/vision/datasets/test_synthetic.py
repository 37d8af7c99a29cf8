"""SyntheticDigits and Shapes: deterministic from a seed, cached as .npz, no download needed."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ember.vision.datasets import FakeData, Shapes, SyntheticDigits


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "synthetic"


@pytest.mark.parametrize("cls, shape, mode", [(SyntheticDigits, (28, 28), "L"), (Shapes, (32, 32, 3), "RGB")])
def test_deterministic_cached_and_balanced(cache, cls, shape, mode):
    first = cls(train=True, size=60, seed=3)
    assert first.data.shape == (60, *shape) and first.data.dtype == np.uint8
    assert len(cls.classes) >= 10 and sorted(np.bincount(first.targets)) == [6] * 10
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].endswith(".npz")
    again = cls(train=True, size=60, seed=3)  # from the cache
    np.testing.assert_array_equal(again.data, first.data)
    fresh = cls(root=str(cache.parent / "elsewhere"), train=True, size=60, seed=3, cache=False)  # regenerated
    np.testing.assert_array_equal(fresh.data, first.data)
    assert not (cache.parent / "elsewhere").exists()
    other_seed = cls(train=True, size=60, seed=4)
    test_split = cls(train=False, size=60, seed=3)
    assert not np.array_equal(other_seed.data, first.data) and not np.array_equal(test_split.data, first.data)
    img, label = first[0]
    assert img.mode == mode and label == int(first.targets[0])
    images, _ = first.as_tensors()
    assert images.shape[0] == 60 and images.shape[1] == (1 if mode == "L" else 3)


def test_images_vary_like_real_data(cache):
    digits = SyntheticDigits(size=200, seed=0)
    ones = digits.data[digits.targets == 1].astype(np.float32)
    # position, size, rotation and noise differ: two images of the same digit are far apart
    assert np.abs(ones[0] - ones[1]).mean() > 10
    shapes = Shapes(size=100, seed=0)
    assert shapes.data.reshape(100, -1, 3).std(axis=1).mean() > 20  # textured, coloured backgrounds


def test_damaged_cache_is_regenerated(cache):
    SyntheticDigits(size=20)
    path = cache / os.listdir(cache)[0]
    path.write_bytes(b"not a npz file")
    assert len(SyntheticDigits(size=20)) == 20


def test_fake_data_is_a_function_of_the_index():
    ds = FakeData(size=10, image_size=(3, 6, 5), num_classes=4)
    a, la = ds[3]
    b, lb = ds[3]
    assert a.size == (5, 6) and np.array_equal(np.asarray(a), np.asarray(b)) and la == lb and 0 <= la < 4
    assert not np.array_equal(np.asarray(ds[4][0]), np.asarray(a))
    with pytest.raises(IndexError):
        ds[10]


def test_cache_is_stored_uncompressed_and_an_old_compressed_one_rewritten(cache):
    import zipfile

    first = SyntheticDigits(size=20, seed=5)
    with zipfile.ZipFile(first.cache_path) as z:  # inflating the images cost every run ~0.4 CPU-s
        assert {info.compress_type for info in z.infolist()} == {zipfile.ZIP_STORED}
    np.savez_compressed(first.cache_path, data=first.data, targets=first.targets)  # as an earlier version wrote
    again = SyntheticDigits(size=20, seed=5)
    np.testing.assert_array_equal(again.data, first.data)
    with zipfile.ZipFile(first.cache_path) as z:
        assert {info.compress_type for info in z.infolist()} == {zipfile.ZIP_STORED}
    assert sorted(os.listdir(cache)) == [os.path.basename(first.cache_path)]  # no temp file left behind
