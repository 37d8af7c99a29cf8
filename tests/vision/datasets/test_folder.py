"""ImageFolder / DatasetFolder: layout, cached index reused while unchanged, corrupt files named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ember.vision.datasets import DatasetFolder, ImageFolder


def _make_tree(root, counts=(("cat", 3), ("dog", 2))):
    for cls, n in counts:
        os.makedirs(root / cls, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((4, 5, 3), i * 40, np.uint8)).save(root / cls / f"{i}.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    _age(root)


def _age(root, seconds=60):
    """Sets every directory's mtime into the past (as for data that was not just written)."""
    for dirpath, _, _ in os.walk(root):
        st = os.stat(dirpath)
        os.utime(dirpath, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))


def test_image_folder_layout(tmp_path):
    _make_tree(tmp_path / "data")
    ds = ImageFolder(tmp_path / "data", cache_dir=tmp_path / "cache")
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 5 and ds.targets == [0, 0, 0, 1, 1]
    img, label = ds[4]
    assert img.mode == "RGB" and img.size == (5, 4) and label == 1
    assert all(p.endswith(".png") for p, _ in ds.samples)


def test_index_is_cached_outside_the_data_and_reused_until_the_folder_changes(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    _make_tree(data)
    before = sorted(os.listdir(data))
    first = ImageFolder(data, cache_dir=cache)
    assert not first.index_from_cache
    assert sorted(os.listdir(data)) == before  # nothing written into the user's data
    assert len(list(cache.iterdir())) == 1
    second = ImageFolder(data, cache_dir=cache)
    assert second.index_from_cache and second.samples == first.samples and second.classes == first.classes
    # adding a file changes the class directory's mtime: the index is rebuilt
    Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(data / "dog" / "new.png")
    _age(data, seconds=30)
    third = ImageFolder(data, cache_dir=cache)
    assert not third.index_from_cache and len(third) == 6
    assert ImageFolder(data, cache_dir=cache).index_from_cache
    # a different cache location or no cache at all
    assert not ImageFolder(data, cache_dir=False).index_from_cache


def test_cached_index_is_really_used(tmp_path):
    """Tampering with the cache file (same signature) shows up: the scan was skipped."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    _make_tree(data)
    ImageFolder(data, cache_dir=cache)
    path = next(cache.iterdir())
    index = json.loads(path.read_text())
    index["samples"] = index["samples"][:1]
    path.write_text(json.dumps(index))
    assert len(ImageFolder(data, cache_dir=cache)) == 1


def test_default_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path / "envcache"))
    _make_tree(tmp_path / "data")
    ImageFolder(tmp_path / "data")
    assert any((tmp_path / "envcache" / "folder_index").iterdir())


def test_corrupt_image_error_names_the_file(tmp_path):
    data = tmp_path / "data"
    _make_tree(data)
    (data / "dog" / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    ds = ImageFolder(data, cache_dir=False)
    with pytest.raises(RuntimeError, match="zz_broken.png"):
        ds[len(ds) - 1]


def test_dataset_folder_options(tmp_path):
    data = tmp_path / "data"
    _make_tree(data)
    os.makedirs(data / "empty")
    with pytest.raises(FileNotFoundError, match="empty"):
        ImageFolder(data, cache_dir=False)
    ds = ImageFolder(data, allow_empty=True, cache_dir=False)
    assert ds.classes == ["cat", "dog", "empty"]
    texts = DatasetFolder(data, loader=lambda p: Path(p).read_text(), extensions=(".txt",), allow_empty=True,
                          cache_dir=False)
    assert len(texts) == 1 and texts[0] == ("not an image", 0)
    only_zero = ImageFolder(data, is_valid_file=lambda p: p.endswith("0.png"), allow_empty=True)
    assert len(only_zero) == 2
    with pytest.raises(ValueError):
        DatasetFolder(data, loader=open)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ImageFolder(tmp_path / "nowhere")
