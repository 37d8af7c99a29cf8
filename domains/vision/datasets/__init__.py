"""Datasets with torchvision's names: folders of images, the downloadable classics (MNIST, FashionMNIST,
KMNIST, EMNIST, QMNIST, CIFAR10, CIFAR100, SVHN, STL10: ``download=True``), and built-in synthetic sets that
need no download (``SyntheticDigits``, ``Shapes``).

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
from .mnist import EMNIST, KMNIST, MNIST, QMNIST, FashionMNIST, read_idx
from .stl10 import STL10
from .svhn import SVHN
from .synthetic import Shapes, SyntheticDigits

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "EMNIST",
    "IMG_EXTENSIONS",
    "KMNIST",
    "MNIST",
    "QMNIST",
    "STL10",
    "SVHN",
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
