"""``ImageClassificationData``: a DataModule over the built-in datasets or a folder of images.

Example (as a recipe would build it):
    >>> from ember.vision.data import ImageClassificationData
    >>> dm = ImageClassificationData("synthetic_digits", train_size=200, test_size=50, batch_size=32)
    >>> dm.setup("fit")
    >>> images, labels = next(iter(dm.train_dataloader()))
    >>> tuple(images.shape), dm.num_classes
    ((32, 1, 28, 28), 10)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from ember.data.dataset import Dataset
from ember.trainer.datamodule import SplitDataModule

from . import transforms as T

__all__ = ["ImageClassificationData"]

BUILTIN = ("synthetic_digits", "shapes", "mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100", "fake")
_STATS = {  # the datasets' published per-channel mean and std
    "mnist": ([0.1307], [0.3081]), "fashion_mnist": ([0.2860], [0.3530]), "kmnist": ([0.1918], [0.3483]),
    "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
    "cifar100": ([0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762]),
}


class _Split(Dataset):
    """Part of a dataset (by indices) with its own transform (so train and val can differ)."""

    def __init__(self, dataset, indices, transform: Callable | None):
        self.dataset, self.indices, self.transform = dataset, list(indices), transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        image, target = self.dataset[self.indices[index]]
        return (self.transform(image) if self.transform is not None else image), target


def _as_transform(spec) -> Callable | None:
    if spec is None or callable(spec):
        return spec
    return T.build_transform(spec)


class ImageClassificationData(SplitDataModule):
    """Train / validation / test loaders for image classification.

    Args:
        dataset: ``"synthetic_digits"``, ``"shapes"``, ``"mnist"``, ``"fashion_mnist"``, ``"kmnist"``,
            ``"cifar10"``, ``"cifar100"``, ``"fake"``, or the path of an image folder (``root/<class>/...``,
            or with ``train/`` and ``val/`` or ``test/`` sub-folders).
        root: where the files of mnist/cifar live (or the cache of the synthetic sets).
        train_transforms / val_transforms: transforms, or recipe data for ``build_transform``; by default
            ``ToTensor`` + ``Normalize`` with the dataset's statistics (plus a resize for folders).
        val_split: fraction (or count) of the training set held out for validation, chosen with ``seed``.
        batch_size, num_workers: for the loaders.
        train_size / test_size: sizes of the synthetic sets (their defaults otherwise).
        image_size: side of the images of a folder dataset (resized/cropped to it).
        seed: seeds the validation split and the synthetic data.
    """

    def __init__(self, dataset: str = "synthetic_digits", root: str | None = None, train_transforms: Any = None,
                 val_transforms: Any = None, val_split: float = 0.1, batch_size: int = 64,
                 num_workers: int = 0, train_size: int | None = None, test_size: int | None = None,
                 image_size: int = 224, seed: int = 0, pin_memory: bool = False):
        super().__init__()
        self.save_hyperparameters()
        name = str(dataset)
        if name.lower() not in BUILTIN and not os.path.isdir(os.path.expanduser(name)):
            raise ValueError(f"ImageClassificationData: dataset must be one of {', '.join(BUILTIN)} or an existing "
                             f"folder, got {dataset!r}")
        self.dataset = name.lower() if name.lower() in BUILTIN else os.path.expanduser(name)
        self.root = root
        self.train_transforms = _as_transform(train_transforms)
        self.val_transforms = _as_transform(val_transforms)
        self.val_split = val_split
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.train_size = train_size
        self.test_size = test_size
        self.image_size = image_size
        self.seed = seed
        self.pin_memory = pin_memory
        self.classes: list[str] = []
        self._train = self._val = self._test = None

    # --- building the datasets ------------------------------------------------------------------
    def _raw(self, train: bool):
        from . import datasets as D  # lazy: loaded on first use (import ember.vision stays light)

        name, root = self.dataset, self.root
        if name in ("synthetic_digits", "shapes"):
            cls = D.SyntheticDigits if name == "synthetic_digits" else D.Shapes
            return cls(root, train=train, size=self.train_size if train else self.test_size, seed=self.seed)
        if name == "fake":
            size = (self.train_size or 1000) if train else (self.test_size or 200)
            return D.FakeData(size=size, image_size=(3, 32, 32), random_offset=0 if train else 10**6)
        if name in ("mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100"):
            cls = {"mnist": D.MNIST, "fashion_mnist": D.FashionMNIST, "kmnist": D.KMNIST, "cifar10": D.CIFAR10,
                   "cifar100": D.CIFAR100}[name]
            return cls(root or os.path.join(D.default_cache_dir(), "datasets"), train=train)
        sub = [s for s in (("train",) if train else ("test", "val")) if os.path.isdir(os.path.join(name, s))]
        if sub:
            return D.ImageFolder(os.path.join(name, sub[0]))
        return D.ImageFolder(name) if train else None

    def _stats(self, raw) -> tuple[list[float], list[float]]:
        if self.dataset in _STATS:
            return _STATS[self.dataset]
        data = getattr(raw, "data", None)
        if isinstance(data, np.ndarray) and data.dtype == np.uint8:
            sample = data[: 5000].astype(np.float32) / 255.0
            axes = (0, 1, 2) if sample.ndim == 4 else None
            mean = np.atleast_1d(sample.mean(axis=axes)).tolist()
            std = np.atleast_1d(sample.std(axis=axes)).tolist()
            return [round(m, 4) for m in mean], [round(s, 4) for s in std]
        return [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet's, for folders of photos

    def _default_transforms(self, raw) -> tuple[Callable, Callable]:
        mean, std = self._stats(raw)
        normalize = [T.ToTensor(), T.Normalize(mean, std)]
        if self.dataset in BUILTIN:
            return T.Compose(normalize), T.Compose(normalize)
        size = self.image_size
        return (T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), *normalize]),
                T.Compose([T.Resize(int(size * 256 / 224)), T.CenterCrop(size), *normalize]))

    def setup(self, stage: str | None = None) -> None:
        """Builds the splits (idempotent): ``fit``/``validate`` -> train and val, ``test``/``predict`` -> test."""
        if self._train is not None and self._test is not None:
            return
        train_raw = self._raw(train=True)
        self.classes = list(getattr(train_raw, "classes", []))
        default_train, default_val = self._default_transforms(train_raw)
        train_tf = self.train_transforms or default_train
        val_tf = self.val_transforms or default_val
        test_raw = self._raw(train=False)
        n = len(train_raw)
        separate_val = self.dataset not in BUILTIN and os.path.isdir(os.path.join(self.dataset, "val")) and \
            os.path.isdir(os.path.join(self.dataset, "train"))
        if separate_val:
            self._train = _Split(train_raw, range(n), train_tf)
            val_raw = self.__class__._folder(os.path.join(self.dataset, "val"))
            self._val = _Split(val_raw, range(len(val_raw)), val_tf)
        else:
            n_val = round(self.val_split * n) if isinstance(self.val_split, float) else int(self.val_split)
            if not 0 <= n_val < n:
                raise ValueError(f"ImageClassificationData: val_split {self.val_split} leaves no training data "
                                 f"({n} samples)")
            order = np.random.Generator(np.random.PCG64(self.seed)).permutation(n)
            self._train = _Split(train_raw, sorted(order[n_val:].tolist()), train_tf)
            self._val = _Split(train_raw, sorted(order[:n_val].tolist()), val_tf) if n_val else None
        if test_raw is None:
            self._test = self._val
        else:
            self._test = _Split(test_raw, range(len(test_raw)), val_tf)

    @staticmethod
    def _folder(path: str):
        from .datasets import ImageFolder  # lazy: loaded on first use (import ember.vision stays light)

        return ImageFolder(path)

    def __repr__(self) -> str:
        return (f"ImageClassificationData(dataset={self.dataset!r}, batch_size={self.batch_size}, "
                f"num_workers={self.num_workers}, val_split={self.val_split})")
