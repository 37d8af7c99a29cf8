"""LibriSpeech (OpenSLR 12) in torchaudio's layout (``LIBRISPEECH``)."""

from __future__ import annotations

import os

from ember.data.dataset import Dataset

from ..io import load
from .utils import extract_folder

SAMPLE_RATE = 16000
FOLDER_IN_ARCHIVE = "LibriSpeech"
URL = "train-clean-100"
SUBSETS = ("dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100", "train-clean-360",
           "train-other-500")


class LibriSpeech(Dataset):
    """LibriSpeech (Panayotov et al., 2015): read English audiobooks, 16 kHz FLAC with transcripts.

    ``url`` names the subset (``"dev-clean"``, ``"test-clean"``, ... ``"train-other-500"``); files live in
    ``root/LibriSpeech/<subset>/<speaker>/<chapter>/`` (``<speaker>-<chapter>-<utterance>.flac`` and one
    ``<speaker>-<chapter>.trans.txt``), as torchaudio lays them out. ``download=True`` fetches
    ``<subset>.tar.gz`` into ``root`` from the first of the ``mirrors`` (OpenSLR; SHA-256 checked, torchaudio's
    values) and unpacks it unless the subset's folder is there; the small subsets (``dev-*``, ``test-*``,
    ~350 MB each) are the ones to start with.

    Items are ``(waveform, sample_rate, transcript, speaker_id, chapter_id, utterance_id)``.

    Example:
        >>> data = LibriSpeech("data/", url="dev-clean", download=True)  # doctest: +SKIP
        >>> waveform, sr, text, speaker, chapter, utterance = data[0]  # doctest: +SKIP
    """

    mirrors = ["http://www.openslr.org/resources/12/"]
    checksums = {  # torchaudio's SHA-256 of each archive
        "dev-clean.tar.gz": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
        "dev-other.tar.gz": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
        "test-clean.tar.gz": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
        "test-other.tar.gz": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
        "train-clean-100.tar.gz": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
        "train-clean-360.tar.gz": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
        "train-other-500.tar.gz": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
    }
    _ext_txt = ".trans.txt"
    _ext_audio = ".flac"

    def __init__(self, root, url: str = URL, folder_in_archive: str = FOLDER_IN_ARCHIVE,
                 download: bool = False) -> None:
        if url not in SUBSETS:
            raise ValueError(f"LibriSpeech: url must be one of {SUBSETS}, got {url!r}")
        root = os.fspath(root)
        self._url = url
        self._archive = os.path.join(root, folder_in_archive)
        self._path = os.path.join(self._archive, url)
        if download and not os.path.isdir(self._path):
            self._download(root, folder_in_archive)
        if not os.path.isdir(self._path):
            raise FileNotFoundError(f"LibriSpeech: {self._path} not found (pass download=True to fetch it)")
        self._walker = sorted(
            os.path.splitext(name)[0]
            for speaker in sorted(os.listdir(self._path)) if os.path.isdir(os.path.join(self._path, speaker))
            for chapter in sorted(os.listdir(os.path.join(self._path, speaker)))
            if os.path.isdir(os.path.join(self._path, speaker, chapter))
            for name in os.listdir(os.path.join(self._path, speaker, chapter)) if name.endswith(self._ext_audio)
        )

    def _download(self, root: str, folder_in_archive: str) -> None:
        from ember.utils.download import download_from_mirrors  # (loaded on first download)

        name = f"{self._url}.tar.gz"
        archive = download_from_mirrors("LibriSpeech", self.mirrors, name, root, sha256=self.checksums.get(name))
        extract_folder(archive, self._path, inner=f"LibriSpeech/{self._url}")

    def get_metadata(self, n: int) -> tuple[str, int, str, int, int, int]:
        """``(audio path relative to root/LibriSpeech, sample_rate, transcript, speaker_id, chapter_id,
        utterance_id)`` without loading audio."""
        fileid = self._walker[n]
        speaker_id, chapter_id, utterance_id = fileid.split("-")
        folder = os.path.join(self._url, speaker_id, chapter_id)
        transcripts = os.path.join(self._archive, folder, f"{speaker_id}-{chapter_id}{self._ext_txt}")
        with open(transcripts) as f:
            for line in f:
                name, _, transcript = line.strip().partition(" ")
                if name == fileid:
                    break
            else:
                raise FileNotFoundError(f"LibriSpeech: no transcript for {fileid} in {transcripts}")
        return (os.path.join(folder, fileid + self._ext_audio), SAMPLE_RATE, transcript, int(speaker_id),
                int(chapter_id), int(utterance_id))

    def __len__(self) -> int:
        return len(self._walker)

    def __getitem__(self, n: int):
        path, sample_rate, *rest = self.get_metadata(n)
        full_path = os.path.join(self._archive, path)
        waveform, actual = load(full_path)
        if actual != sample_rate:
            raise ValueError(f"{full_path}: sample rate should be {sample_rate}, got {actual}")
        return (waveform, sample_rate, *rest)
