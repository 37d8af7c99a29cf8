"""``STL10``: the 96x96 images of the STL-10 binary release (labelled, unlabelled and the ten training folds)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from ember.data.dataset import Dataset

from .utils import download_resources


class STL10(Dataset):
    """STL-10 (Coates et al., 2011): 96x96 RGB images of 10 classes; ``dataset[i]`` is
    ``(PIL image, int label)``, the label -1 for unlabelled images.

    Reads ``root/stl10_binary/`` (``train_X.bin``, ``train_y.bin``, ``test_X.bin``, ``test_y.bin``,
    ``unlabeled_X.bin``, ``class_names.txt``, ``fold_indices.txt``); ``download=True`` fetches and unpacks
    ``stl10_binary.tar.gz`` (torchvision's URL; the archive's and every file's MD5 checked) unless the files
    are there intact.

    Args:
        root: the folder holding ``stl10_binary/``.
        split: ``"train"``, ``"test"``, ``"unlabeled"`` or ``"train+unlabeled"``.
        folds: one of the ten predefined 1k-image training folds (0-9), or ``None`` for all 5k.
        transform / target_transform: applied to the image / the label.
        download: fetch the archive unless the files are there.

    Example:
        >>> ds = STL10("data", split="test", download=True)  # doctest: +SKIP
    """

    base_folder = "stl10_binary"
    mirrors = ["http://ai.stanford.edu/~acoates/stl10/"]
    resources = [("stl10_binary.tar.gz", "91f7769df0f17e558f3565bffb0c7dfb")]
    class_names_file = "class_names.txt"
    folds_list_file = "fold_indices.txt"
    train_list = [
        ["train_X.bin", "918c2871b30a85fa023e0c44e0bee87f"],
        ["train_y.bin", "5a34089d4802c674881badbb80307741"],
        ["unlabeled_X.bin", "5242ba1fed5e4be9e1e742405eb56ca4"],
    ]
    test_list = [
        ["test_X.bin", "7f263ba9f9e0b06b93213547f721ac82"],
        ["test_y.bin", "36f9794fa4beb8a2c72628de14fa638e"],
    ]
    splits = ("train", "train+unlabeled", "unlabeled", "test")

    def __init__(self, root: str | os.PathLike, split: str = "train", folds: int | None = None,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False):
        if split not in self.splits:
            raise ValueError(f"STL10: split must be one of {self.splits}, got {split!r}")
        if folds is not None and (not isinstance(folds, int) or folds not in range(10)):
            raise ValueError(f"STL10: folds must be None or an int in [0, 10), got {folds!r}")
        self.root = os.path.expanduser(os.fspath(root))
        self.split, self.folds = split, folds
        self.transform, self.target_transform = transform, target_transform
        if download:
            self.download()
        if split == "test":
            self.data, self.labels = self._load("test_X.bin", "test_y.bin")
        elif split == "unlabeled":
            self.data, _ = self._load("unlabeled_X.bin")
            self.labels = np.full(len(self.data), -1, dtype=np.int64)
        else:
            self.data, self.labels = self._load_folds(*self._load("train_X.bin", "train_y.bin"))
            if split == "train+unlabeled":
                unlabeled, _ = self._load("unlabeled_X.bin")
                self.data = np.concatenate([self.data, unlabeled])
                self.labels = np.concatenate([self.labels, np.full(len(unlabeled), -1, dtype=np.int64)])
        class_file = os.path.join(self.root, self.base_folder, self.class_names_file)
        if os.path.isfile(class_file):
            with open(class_file) as f:
                self.classes = f.read().splitlines()

    def _file(self, name: str) -> str:
        path = os.path.join(self.root, self.base_folder, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"STL10: {path} not found; pass download=True to fetch the dataset")
        return path

    def _load(self, data_file: str, labels_file: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Images as uint8 (N, 3, 96, 96) (the files store them column-major) and labels 0-9 as int64."""
        path = self._file(data_file)
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % (3 * 96 * 96):
            raise RuntimeError(f"{path}: {raw.size} bytes is not a whole number of 3x96x96 images")
        images = np.ascontiguousarray(raw.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2))
        if labels_file is None:
            return images, None
        labels = np.fromfile(self._file(labels_file), dtype=np.uint8).astype(np.int64) - 1
        if len(labels) != len(images):
            raise RuntimeError(f"STL10: {data_file} holds {len(images)} images but {labels_file} "
                               f"{len(labels)} labels")
        return images, labels

    def _load_folds(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.folds is None:
            return images, labels
        with open(self._file(self.folds_list_file)) as f:
            indices = np.array(f.read().splitlines()[self.folds].split(), dtype=np.int64)
        return images[indices], labels[indices]

    def _check_integrity(self) -> bool:
        """Every binary file is there with its MD5."""
        from ember.utils.download import check_integrity

        return all(check_integrity(os.path.join(self.root, self.base_folder, name), md5)
                   for name, md5 in self.train_list + self.test_list)

    def download(self) -> None:
        """Fetches and unpacks the archive into ``root`` unless every file is there intact.

        Raises:
            RuntimeError: no mirror served the archive intact, or the unpacked files' MD5s are wrong.
        """
        if self._check_integrity():
            return
        download_resources("STL10", self.mirrors, self.resources, self.root)
        if not self._check_integrity():
            raise RuntimeError(f"STL10: the files unpacked into {os.path.join(self.root, self.base_folder)} do "
                               "not match their MD5s")

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(np.ascontiguousarray(self.data[index].transpose(1, 2, 0)))
        target = int(self.labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (f"Dataset STL10\n    Number of datapoints: {len(self)}\n    Root location: {self.root}\n    "
                f"Split: {self.split}")
