"""IDX readers against files written in the real format (raw and gzipped), and the missing-file message."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from ember.vision.datasets import KMNIST, MNIST, FashionMNIST, read_idx


def _write_idx(path, array: np.ndarray, gz: bool = False):
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    (gzip.open if gz else open)(path, "wb").write(payload) if gz else path.write_bytes(payload)


def _write_split(raw, prefix, n, rng, gz):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    suffix = ".gz" if gz else ""
    _write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
    _write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
    return images, labels


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST, KMNIST])
@pytest.mark.parametrize("gz", [False, True])
def test_reads_torchvision_layout(tmp_path, cls, gz):
    raw = tmp_path / cls.__name__ / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train_images, train_labels = _write_split(raw, "train", 12, rng, gz)
    test_images, test_labels = _write_split(raw, "t10k", 5, rng, gz)
    train = cls(tmp_path, train=True)
    test = cls(tmp_path, train=False)
    assert len(train) == 12 and len(test) == 5 and len(cls.classes) == 10
    img, label = train[3]
    assert img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), train_images[3])
    assert label == int(train_labels[3])
    np.testing.assert_array_equal(test.data._data, test_images)
    np.testing.assert_array_equal(test.targets._data, test_labels)


def test_read_idx_dtypes_and_damage(tmp_path):
    ints = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    _write_idx(tmp_path / "ints", ints)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "ints")), ints)
    (tmp_path / "short").write_bytes((tmp_path / "ints").read_bytes()[:-2])
    with pytest.raises(RuntimeError, match="short"):
        read_idx(str(tmp_path / "short"))
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(RuntimeError, match="junk.*not an IDX"):
        read_idx(str(tmp_path / "junk"))


def test_missing_files_say_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        FashionMNIST(tmp_path, train=True)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert str(tmp_path / "FashionMNIST" / "raw") in message and "SyntheticDigits" in message
