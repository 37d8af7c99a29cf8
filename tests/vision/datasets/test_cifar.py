"""CIFAR readers against batches written in the real pickle format; a hostile pickle cannot run code."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ember.vision.datasets import CIFAR10, CIFAR100, safe_load_pickle


def _dump(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)  # the python batches are protocol-2 pickles


def _write_cifar10(root, n=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    batches = {}
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        _dump(folder / name, {"batch_label": f"{name} of 5", "labels": labels, "data": data,
                              "filenames": [f"img_{i}.png" for i in range(n)]})
        batches[name] = (data, labels)
    _dump(folder / "batches.meta", {"num_cases_per_batch": n, "label_names": ["airplane", "automobile", "bird",
          "cat", "deer", "dog", "frog", "horse", "ship", "truck"], "num_vis": 3072})
    return batches


def test_cifar10_reads_python_batches(tmp_path):
    batches = _write_cifar10(tmp_path)
    train = CIFAR10(tmp_path, train=True)
    test = CIFAR10(tmp_path, train=False)
    assert len(train) == 20 and len(test) == 4 and train.classes[1] == "automobile"
    data, labels = batches["data_batch_2"]
    img, label = train[5]  # first image of the second batch
    expected = data[1].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(np.asarray(img), expected)
    assert label == labels[1]
    images, targets = test.as_tensors()
    assert images.shape == (4, 3, 32, 32) and targets._data.tolist() == batches["test_batch"][1]


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    for name in ("train", "test"):
        _dump(folder / name, {"filenames": ["a", "b"], "fine_labels": [7, 99], "coarse_labels": [1, 19],
                              "data": data})
    _dump(folder / "meta", {"fine_label_names": [f"c{i}" for i in range(100)], "coarse_label_names": ["x"] * 20})
    ds = CIFAR100(tmp_path, train=False)
    assert ds.targets == [7, 99] and ds.classes[99] == "c99"


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_restricted_unpickler_refuses_a_payload(tmp_path):
    batches = _write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    hostile = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    _dump(hostile, {"labels": batches["data_batch_3"][1], "data": batches["data_batch_3"][0],
                    "extra": _Payload(marker)})
    # control: the payload is real, a plain pickle.load runs it
    with open(hostile, "rb") as f:
        pickle.load(f)
    assert marker.read_text() == "ran"
    marker.unlink()
    with pytest.raises(pickle.UnpicklingError, match="data_batch_3.*refusing to load (__builtin__|builtins).exec"):
        CIFAR10(tmp_path, train=True)
    assert not marker.exists()


def test_other_globals_and_damage_are_refused(tmp_path):
    _dump(tmp_path / "os", {"f": __import__("os").getcwd})
    with pytest.raises(pickle.UnpicklingError, match="posix.getcwd|os.getcwd"):
        safe_load_pickle(str(tmp_path / "os"))
    (tmp_path / "cut").write_bytes(pickle.dumps({"data": np.zeros(10, np.uint8)}, protocol=2)[:-5])
    with pytest.raises((RuntimeError, pickle.UnpicklingError), match="cut"):
        safe_load_pickle(str(tmp_path / "cut"))


def test_missing_files_say_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py.*data_batch_1"):
        CIFAR10(tmp_path)
