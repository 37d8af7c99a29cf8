"""download=True for the vision data sets, against a local mirror serving tiny files in the real formats.

Each case builds the files a real mirror serves (gzipped IDX, a zip of gzipped IDX, .xz IDX, CIFAR's pickled
batches in a tar.gz, an SVHN .mat, STL-10's binaries in a tar.gz), points the class's ``mirrors`` at the
local server and its MD5s at those files, then checks: the data set reads what was served, a second
construction asks the server nothing, and a corrupt file is refused and not kept.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import pickle
import struct
import zipfile

import numpy as np
import pytest
from ember.vision.datasets import CIFAR10, CIFAR100, EMNIST, KMNIST, MNIST, QMNIST, STL10, SVHN, FashionMNIST

from tests.http_server import tar_gz

pytestmark = pytest.mark.usefixtures("no_download_backoff")


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _idx(array: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _archive(members: dict[str, bytes], kind: str = "tar.gz") -> bytes:
    if kind != "zip":
        return tar_gz(members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _pickle(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)  # CIFAR's python batches are protocol-2 pickles


class Case:
    """One data set's tiny mirror: the served files, the class attributes pointing at them, and a check."""

    def __init__(self, cls, kwargs, files, attributes, check):
        self.cls, self.kwargs, self.files, self.attributes, self.check = cls, kwargs, files, attributes, check

    def install(self, monkeypatch, server):
        monkeypatch.setattr(self.cls, "mirrors", [server.url("/mirror/")])
        for name, value in self.attributes.items():
            monkeypatch.setattr(self.cls, name, value)


def _mnist_case(cls) -> Case:
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": np.array([7, 0, 9], dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": np.array([1, 2], dtype=np.uint8)}
    served = {f"{name}.gz": gzip.compress(_idx(a)) for name, a in arrays.items()}

    def check(ds, root):
        np.testing.assert_array_equal(np.asarray(ds[1][0]), arrays["train-images-idx3-ubyte"][1])
        assert [ds[i][1] for i in range(3)] == [7, 0, 9]
        test = cls(root, train=False)  # both splits were fetched
        np.testing.assert_array_equal(test.data.numpy(), arrays["t10k-images-idx3-ubyte"])
        assert (root / cls.__name__ / "raw" / "train-images-idx3-ubyte").is_file()  # unpacked beside the .gz

    return Case(cls, {"train": True}, {f"/mirror/{n}": d for n, d in served.items()},
                {"resources": [(n, _md5(d)) for n, d in served.items()]}, check)


def _emnist_case() -> Case:
    images = np.arange(2 * 28 * 28, dtype=np.int64).astype(np.uint8).reshape(2, 28, 28)
    members = {"gzip/emnist-letters-train-images-idx3-ubyte.gz": gzip.compress(_idx(images)),
               "gzip/emnist-letters-train-labels-idx1-ubyte.gz": gzip.compress(_idx(np.array([1, 26], np.uint8))),
               "gzip/emnist-letters-mapping.txt": b"1 65 97\n"}
    archive = _archive(members, "zip")

    def check(ds, root):
        assert [ds[i][1] for i in range(2)] == [1, 26] and ds.classes[1] == "a" and ds.classes[26] == "z"
        np.testing.assert_array_equal(np.asarray(ds[1][0]), images[1])
        assert not (root / "EMNIST" / "raw" / "gzip").exists()  # the unpacked zip's folder is removed

    return Case(EMNIST, {"split": "letters"}, {"/mirror/gzip.zip": archive},
                {"resources": [("gzip.zip", _md5(archive))]}, check)


def _qmnist_case(what: str) -> Case:
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = np.arange(24, dtype=np.int32).reshape(3, 8)
    if what == "nist":
        served = {"xnist-images-idx3-ubyte.xz": lzma.compress(_idx(images)),
                  "xnist-labels-idx2-int.xz": lzma.compress(_idx(labels))}
    else:
        served = {"qmnist-train-images-idx3-ubyte.gz": gzip.compress(_idx(images)),
                  "qmnist-train-labels-idx2-int.gz": gzip.compress(_idx(labels))}
    resources = dict(QMNIST.resources, **{what: [(n, _md5(d)) for n, d in served.items()]})

    def check(ds, root):
        assert [ds[i][1] for i in range(3)] == [0, 8, 16]  # compat: the class, the first of the 8 labels
        np.testing.assert_array_equal(ds.targets.numpy(), labels)
        np.testing.assert_array_equal(np.asarray(ds[2][0]), images[2])
        full = QMNIST(root, what=what, compat=False)
        assert full[1][1].tolist() == list(range(8, 16))

    return Case(QMNIST, {"what": what}, {f"/mirror/{n}": d for n, d in served.items()}, {"resources": resources},
                check)


def _cifar_case(cls) -> Case:
    rng = np.random.default_rng(2)
    is_100 = cls is CIFAR100
    names = ["train", "test"] if is_100 else [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {name: (rng.integers(0, 256, (2, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, 2)])
               for name in names}
    key = "fine_labels" if is_100 else "labels"
    files = {name: _pickle({"data": data, key: labels, "filenames": ["a.png", "b.png"]})
             for name, (data, labels) in batches.items()}
    meta_name, meta_key = ("meta", "fine_label_names") if is_100 else ("batches.meta", "label_names")
    files[meta_name] = _pickle({meta_key: [f"class{i}" for i in range(100 if is_100 else 10)]})
    archive_name = "cifar-100-python.tar.gz" if is_100 else "cifar-10-python.tar.gz"
    archive = _archive({f"{cls.base_folder}/{n}": d for n, d in files.items()})
    md5 = {n: _md5(d) for n, d in files.items()}

    def check(ds, root):
        train_names = names[:-1]
        expected = np.concatenate([batches[n][0] for n in train_names]).reshape(-1, 3, 32, 32)
        expected = expected.transpose(0, 2, 3, 1)
        np.testing.assert_array_equal(ds.data, expected)
        assert ds.targets == sum((batches[n][1] for n in train_names), []) and ds.classes[3] == "class3"
        assert len(cls(root, train=False)) == 2

    return Case(cls, {"train": True}, {f"/mirror/{archive_name}": archive},
                {"resources": [(archive_name, _md5(archive))],
                 "train_list": [[n, md5[n]] for n in names[:-1]], "test_list": [[names[-1], md5[names[-1]]]],
                 "meta": {"filename": meta_name, "key": meta_key, "md5": md5[meta_name]}}, check)


def _svhn_case() -> Case:
    import scipy.io

    images = np.random.default_rng(3).integers(0, 256, (32, 32, 3, 2), dtype=np.uint8)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"X": images, "y": np.array([[10], [3]], dtype=np.uint8)})
    data = buffer.getvalue()

    def check(ds, root):
        assert len(ds) == 2 and ds[0][1] == 0 and ds[1][1] == 3  # SVHN's label 10 is the digit 0
        np.testing.assert_array_equal(np.asarray(ds[1][0]), images[:, :, :, 1])

    resources = dict(SVHN.resources, train=("train_32x32.mat", _md5(data)))
    return Case(SVHN, {"split": "train"}, {"/mirror/train_32x32.mat": data}, {"resources": resources}, check)


def _stl10_case() -> Case:
    rng = np.random.default_rng(4)
    size = 3 * 96 * 96
    files = {"train_X.bin": rng.integers(0, 256, 2 * size, dtype=np.uint8).tobytes(),
             "train_y.bin": bytes([3, 10]),
             "unlabeled_X.bin": rng.integers(0, 256, size, dtype=np.uint8).tobytes(),
             "test_X.bin": rng.integers(0, 256, size, dtype=np.uint8).tobytes(), "test_y.bin": bytes([1])}
    extra = {"class_names.txt": b"\n".join(f"c{i}".encode() for i in range(10)), "fold_indices.txt": b"1\n0 1\n"}
    archive = _archive({f"stl10_binary/{n}": d for n, d in {**files, **extra}.items()})
    md5 = {n: _md5(d) for n, d in files.items()}

    def check(ds, root):
        assert [ds[i][1] for i in range(2)] == [2, 9] and ds.classes[9] == "c9"  # labels 1-10 become 0-9
        second = np.frombuffer(files["train_X.bin"], np.uint8)[size:].reshape(3, 96, 96)  # column-major
        np.testing.assert_array_equal(np.asarray(ds[1][0]), second.transpose(2, 1, 0))
        assert len(STL10(root, split="train+unlabeled")) == 3 and STL10(root, split="unlabeled")[0][1] == -1
        assert len(STL10(root, split="train", folds=0)) == 1

    return Case(STL10, {"split": "train"}, {"/mirror/stl10_binary.tar.gz": archive},
                {"resources": [("stl10_binary.tar.gz", _md5(archive))],
                 "train_list": [[n, md5[n]] for n in ("train_X.bin", "train_y.bin", "unlabeled_X.bin")],
                 "test_list": [[n, md5[n]] for n in ("test_X.bin", "test_y.bin")]}, check)


CASES = {
    "MNIST": lambda: _mnist_case(MNIST),
    "FashionMNIST": lambda: _mnist_case(FashionMNIST),
    "KMNIST": lambda: _mnist_case(KMNIST),
    "EMNIST": _emnist_case,
    "QMNIST-train": lambda: _qmnist_case("train"),
    "QMNIST-nist": lambda: _qmnist_case("nist"),
    "CIFAR10": lambda: _cifar_case(CIFAR10),
    "CIFAR100": lambda: _cifar_case(CIFAR100),
    "SVHN": _svhn_case,
    "STL10": _stl10_case,
}


@pytest.mark.parametrize("name", list(CASES))
def test_download_reads_the_served_files_and_never_fetches_twice(name, tmp_path, monkeypatch, serve):
    case = CASES[name]()
    server = serve(case.files)
    case.install(monkeypatch, server)
    ds = case.cls(tmp_path, download=True, **case.kwargs)
    assert sorted(server.requests) == sorted(case.files)  # each served file fetched once
    case.check(ds, tmp_path)
    again = case.cls(tmp_path, download=True, **case.kwargs)
    assert len(server.requests) == len(case.files)  # the second construction asks nothing
    assert len(again) == len(ds)
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob(".extracting-*"))


@pytest.mark.parametrize("name", list(CASES))
def test_a_corrupt_download_is_refused_and_not_kept(name, tmp_path, monkeypatch, serve):
    case = CASES[name]()
    path = sorted(case.files)[0]
    files = dict(case.files)
    files[path] = files[path][:-4] + bytes(b ^ 0xFF for b in files[path][-4:])  # same size, wrong MD5
    case.install(monkeypatch, serve(files))
    filename = path.rsplit("/", 1)[1]
    with pytest.raises(RuntimeError, match=rf"could not download {filename}(.|\n)*MD5"):
        case.cls(tmp_path, download=True, **case.kwargs)
    assert not list(tmp_path.rglob(filename)) and not list(tmp_path.rglob("*.partial"))


def test_mnist_tries_the_next_mirror(tmp_path, monkeypatch, serve):
    case = _mnist_case(MNIST)
    server = serve(case.files)
    case.install(monkeypatch, server)
    monkeypatch.setattr(MNIST, "mirrors", [server.url("/gone/"), server.url("/mirror/")])
    ds = MNIST(tmp_path, download=True)
    assert len(ds) == 3 and server.requests[:2] == ["/gone/train-images-idx3-ubyte.gz",
                                                    "/mirror/train-images-idx3-ubyte.gz"]


def test_a_download_cut_midway_resumes(tmp_path, monkeypatch, serve):
    case = _cifar_case(CIFAR10)
    server = serve(case.files)
    case.install(monkeypatch, server)
    server.cut_next["/mirror/cifar-10-python.tar.gz"] = 100  # the connection drops after 100 bytes
    case.check(CIFAR10(tmp_path, download=True), tmp_path)
    assert server.ranges == [None, "bytes=100-"]


def test_unpacked_batches_with_wrong_md5s_are_reported(tmp_path, monkeypatch, serve):
    case = _cifar_case(CIFAR10)
    case.attributes["meta"] = dict(case.attributes["meta"], md5="0" * 32)
    case.install(monkeypatch, serve(case.files))
    with pytest.raises(RuntimeError, match="do not match their MD5s"):
        CIFAR10(tmp_path, download=True)


def test_missing_files_without_download_name_the_remedy(tmp_path):
    for make in (lambda: MNIST(tmp_path), lambda: CIFAR10(tmp_path), lambda: SVHN(tmp_path),
                 lambda: STL10(tmp_path), lambda: EMNIST(tmp_path, "digits"), lambda: QMNIST(tmp_path)):
        with pytest.raises(FileNotFoundError, match="download=True"):
            make()
    with pytest.raises(ValueError, match="split"):
        EMNIST(tmp_path, "cursive")


@pytest.mark.parity
def test_urls_and_md5s_are_torchvisions():
    from tests.vision._torchvision import import_torchvision

    tv = import_torchvision().datasets
    for ours, theirs in [(MNIST, tv.MNIST), (FashionMNIST, tv.FashionMNIST), (KMNIST, tv.KMNIST)]:
        assert ours.mirrors == theirs.mirrors and ours.resources == theirs.resources
    assert [(EMNIST.mirrors[0] + f, m) for f, m in EMNIST.resources] == [(tv.EMNIST.url, tv.EMNIST.md5)]
    for split, files in tv.QMNIST.resources.items():
        assert [(QMNIST.mirrors[0] + f, m) for f, m in QMNIST.resources[split]] == [tuple(r) for r in files]
    for ours, theirs in [(CIFAR10, tv.CIFAR10), (CIFAR100, tv.CIFAR100), (STL10, tv.STL10)]:
        assert [(ours.mirrors[0] + f, m) for f, m in ours.resources] == [(theirs.url, theirs.tgz_md5)]
        assert ours.train_list == theirs.train_list and ours.test_list == theirs.test_list
    assert CIFAR10.meta == tv.CIFAR10.meta and CIFAR100.meta == tv.CIFAR100.meta
    for split, (url, filename, md5) in tv.SVHN.split_list.items():
        assert (SVHN.mirrors[0] + SVHN.resources[split][0], SVHN.resources[split][1]) == (url, md5)
