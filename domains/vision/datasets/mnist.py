"""``MNIST``, ``FashionMNIST``, ``KMNIST``: IDX files (raw or gzipped) in torchvision's folder layout.

The files go in ``root/<ClassName>/raw/`` (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally ``.gz``). Nothing is downloaded:
with the files missing, the error says which files to put where.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable

import ember
import numpy as np
from ember.data.dataset import Dataset

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
        download: not supported (no network access); the error says where to put the files.

    Example:
        >>> ds = MNIST("data", train=True)  # doctest: +SKIP
        >>> image, label = ds[0]  # doctest: +SKIP
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        images = read_idx(self._find(f"{prefix}-images-idx3-ubyte", download))
        labels = read_idx(self._find(f"{prefix}-labels-idx1-ubyte", download))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise RuntimeError(f"{self.raw_folder}: {len(images)} images of shape {images.shape[1:]} and "
                               f"{len(labels)} labels do not match")
        self.data = ember.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))
        self.targets = ember.from_numpy(labels.astype(np.int64))

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _find(self, name: str, download: bool) -> str:
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        files = ", ".join(f"{p}-{k}-idx{d}-ubyte" for p in ("train", "t10k") for k, d in (("images", 3), ("labels", 1)))
        note = " (download=True is not supported here: there is no network access)" if download else ""
        raise FileNotFoundError(
            f"{type(self).__name__}: {name} not found{note}. Put the four IDX files ({files}; raw or .gz) in "
            f"{os.path.abspath(self.raw_folder)}/ or use ember.vision.datasets.SyntheticDigits, which needs no "
            "download."
        )

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

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: "
                f"{self.root}\n    Split: {split}")


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, files in ``root/FashionMNIST/raw/``."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST, files in ``root/KMNIST/raw/``."""

    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
