"""``MNIST``, ``FashionMNIST``, ``KMNIST``, ``EMNIST``, ``QMNIST``: IDX files (raw or gzipped) in
torchvision's folder layout, downloaded with ``download=True``.

The files go in ``root/<ClassName>/raw/`` (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally ``.gz``). ``download=True`` fetches
the ``resources`` from the first of the ``mirrors`` that serves them (torchvision's URLs and MD5s), checks
each file's MD5 and unpacks it; files already there are not fetched again.
"""

from __future__ import annotations

import gzip
import os
import shutil
import string
from collections.abc import Callable

import ember
import numpy as np
from ember.data.dataset import Dataset

from .utils import download_resources

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Reads an IDX file (``.gz`` or raw) into an ndarray; a damaged file raises an error naming it."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise RuntimeError(f"could not read IDX file {path}: {e}") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise RuntimeError(f"{path} is not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise RuntimeError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise RuntimeError(f"{path}: IDX header says shape {shape} ({expected} bytes of data), file has "
                           f"{len(data) - header}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(Dataset):
    """The MNIST digits (60k train / 10k test, 28x28 grey); ``dataset[i]`` is ``(PIL image, int label)``.

    Args:
        root: folder holding ``MNIST/raw/`` (the class name for the other variants).
        train: the training or the test split.
        transform / target_transform: applied to the image / the label.
        download: fetch the files into ``root/MNIST/raw/`` unless they are there already.

    Example:
        >>> ds = MNIST("data", train=True, download=True)  # doctest: +SKIP
        >>> image, label = ds[0]  # doctest: +SKIP
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        if any(self._path(name) is None for name in self._split_names()):  # (the other split may be absent)
            self._raise_not_found()
        images, labels = self._load_data()
        self.data = ember.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))
        self.targets = ember.from_numpy(labels.astype(np.int64))

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _raw_names(self) -> list[str]:
        """The files this data set reads, without ``.gz`` (all of them: ``download`` fetches both splits)."""
        return [os.path.splitext(filename)[0] for filename, _ in self.resources]

    def _split_names(self) -> tuple[str, str]:
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _path(self, name: str) -> str | None:
        """``raw_folder/name``, else its ``.gz``; ``None`` when neither is there."""
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self) -> bool:
        """Every file ``download`` fetches is there (raw or ``.gz``)."""
        return all(self._path(name) is not None for name in self._raw_names())

    def download(self) -> None:
        """Fetches the ``resources`` into ``raw_folder`` (MD5 checked, unpacked) unless they are there."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_resources(type(self).__name__, self.mirrors, self.resources, self.raw_folder)

    def _raise_not_found(self):
        files = ", ".join(self._raw_names())
        raise FileNotFoundError(
            f"{type(self).__name__}: dataset not found. Pass download=True to fetch it, or put the IDX files "
            f"({files}; raw or .gz) in {os.path.abspath(self.raw_folder)}/; "
            "ember.vision.datasets.SyntheticDigits needs no download."
        )

    def _load_data(self) -> tuple[np.ndarray, np.ndarray]:
        image_name, label_name = self._split_names()
        images, labels = read_idx(self._path(image_name)), read_idx(self._path(label_name))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise RuntimeError(f"{self.raw_folder}: {len(images)} images of shape {images.shape[1:]} and "
                               f"{len(labels)} labels do not match")
        return images, labels

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(self.data.numpy()[index])
        target = int(self.targets.numpy()[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"

    def __repr__(self) -> str:
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: "
                f"{self.root}\n    {self.extra_repr()}")


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, files in ``root/FashionMNIST/raw/``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST, files in ``root/KMNIST/raw/``."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


_EMNIST_MERGED = set("cijklmopsuvwxyz")  # letters whose upper and lower case look alike (merged classes)
_EMNIST_ALL = set(string.digits + string.ascii_letters)


class EMNIST(MNIST):
    """Extended MNIST (Cohen et al., 2017): handwritten digits and letters in six splits (``byclass``,
    ``bymerge``, ``balanced``, ``letters``, ``digits``, ``mnist``), files in ``root/EMNIST/raw/``.

    ``download=True`` fetches NIST's one ``gzip.zip`` (all splits, ~560 MB) and unpacks its IDX files into
    ``raw/`` (``emnist-<split>-<train|test>-<images|labels>-idx?-ubyte``).

    Example:
        >>> ds = EMNIST("data", split="letters", download=True)  # doctest: +SKIP
    """

    mirrors = ["https://biometrics.nist.gov/cs_links/EMNIST/"]
    resources = [("gzip.zip", "58c8d27c78d21e728a6bc7b3cc06412e")]
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    classes_split_dict = {
        "byclass": sorted(_EMNIST_ALL),
        "bymerge": sorted(_EMNIST_ALL - _EMNIST_MERGED),
        "balanced": sorted(_EMNIST_ALL - _EMNIST_MERGED),
        "letters": ["N/A", *string.ascii_lowercase],
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str | os.PathLike, split: str, **kwargs):
        if split not in self.splits:
            raise ValueError(f"EMNIST: split must be one of {self.splits}, got {split!r}")
        self.split = split
        self.classes = self.classes_split_dict[split]
        super().__init__(root, **kwargs)

    def _split_names(self) -> tuple[str, str]:
        prefix = f"emnist-{self.split}-{'train' if self.train else 'test'}"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _raw_names(self) -> list[str]:
        return list(self._split_names())

    def download(self) -> None:
        """Fetches ``gzip.zip`` (MD5 checked) and unpacks every split's IDX files into ``raw_folder``."""
        from ember.utils.download import extract_archive

        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_resources("EMNIST", self.mirrors, self.resources, self.raw_folder)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in sorted(os.listdir(gzip_folder)):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)
        shutil.rmtree(gzip_folder)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"


class QMNIST(MNIST):
    """QMNIST (Yadav & Bottou, 2019): MNIST's digits with the test set rebuilt from NIST, in ``root/QMNIST/raw/``.

    ``what`` picks ``"train"``, ``"test"`` (60k), ``"test10k"`` (the 10k matching MNIST's test set),
    ``"test50k"`` (the other 50k) or ``"nist"`` (all of NIST's digits); by default ``train`` decides between
    ``"train"`` and ``"test"``. Labels are 8 integers per image (class, NIST writer, ...); with ``compat=True``
    ``dataset[i]`` gives only the class, as MNIST does, else the int64 tensor of all 8.

    Example:
        >>> ds = QMNIST("data", what="test10k", download=True)  # doctest: +SKIP
    """

    mirrors = ["https://raw.githubusercontent.com/facebookresearch/qmnist/master/"]
    subsets = {"train": "train", "test": "test", "test10k": "test", "test50k": "test", "nist": "nist"}
    resources = {
        "train": [("qmnist-train-images-idx3-ubyte.gz", "ed72d4157d28c017586c42bc6afe6370"),
                  ("qmnist-train-labels-idx2-int.gz", "0058f8dd561b90ffdd0f734c6a30e5e4")],
        "test": [("qmnist-test-images-idx3-ubyte.gz", "1394631089c404de565df7b7aeaf9412"),
                 ("qmnist-test-labels-idx2-int.gz", "5b5b05890a5e13444e108efe57b788aa")],
        "nist": [("xnist-images-idx3-ubyte.xz", "7f124b3b8ab81486c9d8c2749c17f834"),
                 ("xnist-labels-idx2-int.xz", "5ed0e788978e45d4a8bd4b7caec3d79d")],
    }

    def __init__(self, root: str | os.PathLike, what: str | None = None, compat: bool = True, train: bool = True,
                 **kwargs):
        what = what if what is not None else ("train" if train else "test")
        if what not in self.subsets:
            raise ValueError(f"QMNIST: what must be one of {tuple(self.subsets)}, got {what!r}")
        self.what, self.compat = what, compat
        super().__init__(root, train, **kwargs)

    def _files(self) -> list[tuple[str, str]]:
        return self.resources[self.subsets[self.what]]

    def _raw_names(self) -> list[str]:
        return [os.path.splitext(filename)[0] for filename, _ in self._files()]

    def _split_names(self) -> tuple[str, str]:
        images, labels = self._raw_names()
        return images, labels

    def download(self) -> None:
        """Fetches only the files of ``what`` (MD5 checked, unpacked) unless they are there."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_resources("QMNIST", self.mirrors, self._files(), self.raw_folder)

    def _load_data(self) -> tuple[np.ndarray, np.ndarray]:
        image_name, label_name = self._split_names()
        images, labels = read_idx(self._path(image_name)), read_idx(self._path(label_name))
        if images.dtype != np.uint8 or images.ndim != 3 or labels.ndim != 2 or len(images) != len(labels):
            raise RuntimeError(f"{self.raw_folder}: expected uint8 images (N, H, W) and labels (N, 8), got "
                               f"{images.dtype} {images.shape} and {labels.shape}")
        if self.what == "test10k":
            images, labels = images[:10000], labels[:10000]
        elif self.what == "test50k":
            images, labels = images[10000:], labels[10000:]
        return images, labels

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(self.data.numpy()[index])
        target = self.targets[index]
        if self.compat:
            target = int(target.numpy()[0])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return f"Split: {self.what}"
