"""``SVHN``: Street View House Numbers, the cropped-digit ``.mat`` files (read with scipy, imported lazily)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from ember.data.dataset import Dataset

from .utils import download_resources


class SVHN(Dataset):
    """SVHN (Netzer et al., 2011): 32x32 RGB digits cut from house numbers; ``dataset[i]`` is
    ``(PIL image, int label)``.

    Reads ``root/<split>_32x32.mat`` (``split``: ``"train"``, ``"test"`` or ``"extra"``); ``download=True``
    fetches it (torchvision's URL, MD5 checked) unless it is there intact. The files label the digit 0 with
    10; here, as in torchvision, 0 is 0. ``data`` is uint8 (N, 3, 32, 32), ``labels`` int64 (N,). Reading
    the files needs scipy.

    Example:
        >>> ds = SVHN("data", split="test", download=True)  # doctest: +SKIP
    """

    mirrors = ["http://ufldl.stanford.edu/housenumbers/"]
    resources = {
        "train": ("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
        "test": ("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
        "extra": ("extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"),
    }

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        if split not in self.resources:
            raise ValueError(f"SVHN: split must be one of {tuple(self.resources)}, got {split!r}")
        self.root = os.path.expanduser(os.fspath(root))
        self.split = split
        self.filename, self.file_md5 = self.resources[split]
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        path = os.path.join(self.root, self.filename)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"SVHN: {path} not found; pass download=True to fetch it")
        self.data, self.labels = _read_mat(path)

    def _check_integrity(self) -> bool:
        from ember.utils.download import check_integrity

        return check_integrity(os.path.join(self.root, self.filename), self.file_md5)

    def download(self) -> None:
        """Fetches this split's ``.mat`` file into ``root`` (MD5 checked) unless it is there intact."""
        if self._check_integrity():
            return
        download_resources("SVHN", self.mirrors, [(self.filename, self.file_md5)], self.root, extract=False)

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
        return (f"Dataset SVHN\n    Number of datapoints: {len(self)}\n    Root location: {self.root}\n    "
                f"Split: {self.split}")


def _read_mat(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (32, 32, 3, N) and ``y`` (N, 1) of an SVHN file as uint8 (N, 3, 32, 32) and int64 labels 0-9."""
    import scipy.io  # (loaded on first use)

    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, TypeError) as error:
        raise RuntimeError(f"{path}: not a readable SVHN .mat file ({error})") from None
    images, labels = mat.get("X"), mat.get("y")
    if images is None or labels is None or images.ndim != 4 or images.shape[2] != 3 or labels.size != images.shape[3]:
        shapes = [None if a is None else a.shape for a in (images, labels)]
        raise RuntimeError(f"{path}: expected 'X' (32, 32, 3, N) and 'y' (N, 1), got {shapes[0]} and {shapes[1]}")
    labels = labels.astype(np.int64).reshape(-1)
    labels[labels == 10] = 0
    return np.ascontiguousarray(images.transpose(3, 2, 0, 1), dtype=np.uint8), labels
