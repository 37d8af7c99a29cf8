"""The YesNo dataset (OpenSLR 1) in torchaudio's layout (``YESNO``)."""

from __future__ import annotations

import os

from ember.data.dataset import Dataset

from ..io import load
from .utils import fetch_archive

_URL = "http://www.openslr.org/resources/1/waves_yesno.tar.gz"


class YesNo(Dataset):
    """60 recordings of eight Hebrew yes/no words each, files named like ``0_1_0_0_1_0_1_1.wav`` in
    ``root/folder_in_archive`` (``root/waves_yesno``).

    Items are ``(waveform, sample_rate, labels)`` with ``labels`` the list of eight 0/1 ints from the name.
    ``download=True`` fetches ``waves_yesno.tar.gz`` into ``root`` (torchaudio's URL, SHA-256 checked) and
    unpacks it unless the folder is there.

    Example:
        >>> data = YesNo("data/")  # doctest: +SKIP
        >>> waveform, sr, labels = data[0]  # doctest: +SKIP
    """

    checksums = {"waves_yesno.tar.gz": "c3f49e0cca421f96b75b41640749167b52118f232498667ca7a5f9416aef8e73"}

    def __init__(self, root, url: str = _URL, folder_in_archive: str = "waves_yesno", download: bool = False) -> None:
        from ember.utils.download import extract_archive

        root = os.fspath(root)
        self._path = os.path.join(root, folder_in_archive)
        if download and not os.path.isdir(self._path):
            extract_archive(fetch_archive(url, root, self.checksums), root)  # its one folder moves in whole
        if not os.path.isdir(self._path):
            raise FileNotFoundError(f"YesNo: {self._path} not found (pass download=True to fetch it)")
        self._walker = sorted(os.path.splitext(f)[0] for f in os.listdir(self._path) if f.endswith(".wav"))

    def get_metadata(self, n: int) -> tuple[str, int, list[int]]:
        """``(file name, sample_rate, labels)`` without loading audio."""
        stem = self._walker[n]
        try:
            labels = [int(c) for c in stem.split("_")]
        except ValueError:
            raise RuntimeError(f"{os.path.join(self._path, stem)}.wav: name is not 0/1 labels joined by '_'") from None
        return stem + ".wav", 8000, labels

    def __len__(self) -> int:
        return len(self._walker)

    def __getitem__(self, n: int):
        name, _, labels = self.get_metadata(n)
        waveform, sample_rate = load(os.path.join(self._path, name))
        return waveform, sample_rate, labels
