"""Datasets with torchvision's names: folders of images, MNIST-style IDX files, CIFAR batches, and
built-in synthetic sets that need no download (``SyntheticDigits``, ``Shapes``).

Example:
    >>> from ember.vision.datasets import SyntheticDigits
    >>> len(SyntheticDigits(train=False, size=20))
    20
"""

from __future__ import annotations

from .cifar import CIFAR10, CIFAR100, RestrictedUnpickler, safe_load_pickle
from .fakedata import FakeData
from .folder import (
    IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_cache_dir, default_loader, find_classes,
    has_file_allowed_extension, is_image_file, make_dataset, pil_loader,
)
from .mnist import KMNIST, MNIST, FashionMNIST, read_idx
from .synthetic import Shapes, SyntheticDigits

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "IMG_EXTENSIONS",
    "KMNIST",
    "MNIST",
    "DatasetFolder",
    "FakeData",
    "FashionMNIST",
    "ImageFolder",
    "RestrictedUnpickler",
    "Shapes",
    "SyntheticDigits",
    "default_cache_dir",
    "default_loader",
    "find_classes",
    "has_file_allowed_extension",
    "is_image_file",
    "make_dataset",
    "pil_loader",
    "read_idx",
    "safe_load_pickle",
]
