"""LJSpeech 1.1 in torchaudio's layout (``LJSPEECH``)."""

from __future__ import annotations

import csv
import os

from ember.data.dataset import Dataset

from ..io import load
from .utils import fetch_archive

_URL = "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2"


class LJSpeech(Dataset):
    """LJSpeech (Ito & Johnson, 2017): 13,100 clips of one speaker reading, 22,050 Hz WAV with transcripts.

    Files live in ``root/LJSpeech-1.1/`` (``metadata.csv``, ``wavs/<id>.wav``). ``download=True`` fetches
    ``LJSpeech-1.1.tar.bz2`` (~2.6 GB; torchaudio's URL, SHA-256 checked) into ``root`` and unpacks it unless
    the folder is there.

    Items are ``(waveform, sample_rate, transcript, normalized_transcript)``.

    Example:
        >>> data = LJSpeech("data/", download=True)  # doctest: +SKIP
        >>> waveform, sr, text, normalized = data[0]  # doctest: +SKIP
    """

    checksums = {"LJSpeech-1.1.tar.bz2": "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5"}

    def __init__(self, root, url: str = _URL, folder_in_archive: str = "wavs", download: bool = False) -> None:
        from ember.utils.download import extract_archive

        root = os.fspath(root)
        basename = os.path.basename(url).split(".tar.bz2")[0]
        self._path = os.path.join(root, basename, folder_in_archive)
        self._metadata_path = os.path.join(root, basename, "metadata.csv")
        if download and not os.path.isdir(self._path):
            extract_archive(fetch_archive(url, root, self.checksums), root)  # its one folder moves in whole
        if not os.path.isdir(self._path):
            raise FileNotFoundError(f"LJSpeech: {self._path} not found (pass download=True to fetch it)")
        with open(self._metadata_path, newline="", encoding="utf-8") as f:
            self._flist = [row for row in csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE) if row]
        bad = next((i for i, row in enumerate(self._flist) if len(row) != 3), None)
        if bad is not None:
            raise RuntimeError(f"{self._metadata_path}, line {bad + 1}: expected 'id|transcript|normalized "
                               f"transcript', got {len(self._flist[bad])} fields")

    def __len__(self) -> int:
        return len(self._flist)

    def __getitem__(self, n: int):
        fileid, transcript, normalized_transcript = self._flist[n]
        waveform, sample_rate = load(os.path.join(self._path, fileid + ".wav"))
        return waveform, sample_rate, transcript, normalized_transcript
