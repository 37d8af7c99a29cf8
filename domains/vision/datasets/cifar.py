"""``CIFAR10`` / ``CIFAR100`` from the python batches (downloaded with ``download=True``), read with a
restricted unpickler.

The batches are pickles. A plain ``pickle.load`` would run whatever a hostile file asks for; here the
unpickler only resolves the few globals those files contain (numpy's array reconstruction, ``dtype``,
and ``_codecs.encode`` for bytes written at protocol 2). Anything else is refused before it can run.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable

import ember
import numpy as np
from ember import Tensor
from ember.data.dataset import Dataset

from .utils import download_resources

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """What protocol-2 pickles call to rebuild ``bytes``; only the latin-1 codec is honoured."""
    if encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``allowed`` (plain data otherwise)."""

    def __init__(self, file, *, allowed=_ALLOWED_GLOBALS, name: str = "<stream>", **kwargs):
        super().__init__(file, **kwargs)
        self.allowed = allowed
        self.name = name

    def find_class(self, module: str, name: str):
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(
                f"{self.name}: refusing to load {module}.{name} (only numpy arrays, lists, dicts, numbers and "
                "strings are allowed in a dataset file)"
            )
        if module == "_codecs":
            return _latin1_encode
        if module.startswith("numpy"):
            import importlib

            try:
                return getattr(importlib.import_module(module), name)
            except ImportError:  # numpy 1.x writes numpy.core, 2.x numpy._core
                alternative = module.replace("numpy._core", "numpy.core") if "_core" in module else module.replace(
                    "numpy.core", "numpy._core")
                return getattr(importlib.import_module(alternative), name)
        raise pickle.UnpicklingError(f"{self.name}: refusing to load {module}.{name}")


def safe_load_pickle(path: str, encoding: str = "latin1"):
    """Loads a pickled dataset file through ``RestrictedUnpickler``; errors name the file."""
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, name=path, encoding=encoding).load()
    except pickle.UnpicklingError:
        raise
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
        raise RuntimeError(f"{path}: not a valid CIFAR batch ({type(e).__name__}: {e})") from e


class CIFAR10(Dataset):
    """CIFAR-10 (50k train / 10k test, 32x32 RGB); ``dataset[i]`` is ``(PIL image, int label)``.

    Reads ``root/cifar-10-batches-py/`` (``data_batch_1`` .. ``data_batch_5``, ``test_batch``,
    ``batches.meta``), the layout of the python version of the dataset. ``data`` is a uint8
    (N, 32, 32, 3) array, ``targets`` a list of ints. ``download=True`` fetches and unpacks
    ``cifar-10-python.tar.gz`` (torchvision's URL; the archive's and every batch's MD5 checked) unless the
    batches are there with their MD5s.

    Example:
        >>> ds = CIFAR10("data", train=False, download=True)  # doctest: +SKIP
    """

    base_folder = "cifar-10-batches-py"
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]
    resources = [("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")]
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names", "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    labels_key = "labels"

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        folder = os.path.join(self.root, self.base_folder)
        if download:
            self.download()
        names = [name for name, _ in (self.train_list if train else self.test_list)]
        missing = [n for n in names + [self.meta["filename"]] if not os.path.isfile(os.path.join(folder, n))]
        if missing:
            raise FileNotFoundError(
                f"{type(self).__name__}: missing {', '.join(missing)}. Pass download=True to fetch the dataset, or "
                f"extract the python version of it so that {os.path.abspath(folder)}/ holds "
                f"{', '.join(names + [self.meta['filename']])}; ember.vision.datasets.Shapes needs no download."
            )
        data, targets = [], []
        for name in names:
            path = os.path.join(folder, name)
            entry = safe_load_pickle(path)
            if not isinstance(entry, dict) or "data" not in entry:
                raise RuntimeError(f"{path}: not a CIFAR batch (expected a dict with 'data')")
            labels = entry.get(self.labels_key, entry.get("fine_labels"))
            batch = np.asarray(entry["data"], dtype=np.uint8)
            if labels is None or batch.ndim != 2 or batch.shape[1] != 3072 or len(labels) != len(batch):
                raise RuntimeError(f"{path}: expected 'data' (N, 3072) uint8 and N labels, got "
                                   f"{batch.shape} and {None if labels is None else len(labels)}")
            data.append(batch)
            targets.extend(int(t) for t in labels)
        self.data = np.ascontiguousarray(np.concatenate(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        self.targets = targets
        meta = safe_load_pickle(os.path.join(folder, self.meta["filename"]))
        self.classes = [str(c) for c in meta[self.meta["key"]]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _check_integrity(self) -> bool:
        """Every batch and the meta file are there with their MD5s."""
        from ember.utils.download import check_integrity

        files = self.train_list + self.test_list + [[self.meta["filename"], self.meta["md5"]]]
        return all(check_integrity(os.path.join(self.root, self.base_folder, name), md5) for name, md5 in files)

    def download(self) -> None:
        """Fetches and unpacks the archive into ``root`` unless every batch is there intact.

        Raises:
            RuntimeError: no mirror served the archive intact, or its batches' MD5s are wrong.
        """
        if self._check_integrity():
            return
        download_resources(type(self).__name__, self.mirrors, self.resources, self.root)
        if not self._check_integrity():
            raise RuntimeError(f"{type(self).__name__}: the batches unpacked into "
                               f"{os.path.join(self.root, self.base_folder)} do not match their MD5s")

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(self.data[index])
        target = self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def as_tensors(self) -> tuple[Tensor, Tensor]:
        """All images as a uint8 (N, 3, 32, 32) tensor and the labels as int64."""
        return ember.from_numpy(np.ascontiguousarray(self.data.transpose(0, 3, 1, 2))), ember.from_numpy(
            np.asarray(self.targets, dtype=np.int64))

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: "
                f"{self.root}\n    Split: {split}")


class CIFAR100(CIFAR10):
    """CIFAR-100 (fine labels), from ``root/cifar-100-python/`` (``train``, ``test``, ``meta``)."""

    base_folder = "cifar-100-python"
    resources = [("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85")]
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names", "md5": "7973b15100ade9c7d40fb424638fde48"}
    labels_key = "fine_labels"
