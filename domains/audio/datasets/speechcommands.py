"""Google Speech Commands in torchaudio's layout (``SPEECHCOMMANDS``)."""

from __future__ import annotations

import os
from pathlib import Path

from ember.data.dataset import Dataset

from ..io import load
from .utils import extract_folder, fetch_archive

HASH_DIVIDER = "_nohash_"
EXCEPT_FOLDER = "_background_noise_"
URL = "speech_commands_v0.02"
FOLDER_IN_ARCHIVE = "SpeechCommands"


class SpeechCommands(Dataset):
    """Speech Commands (Warden, 2018): one-second 16 kHz clips of spoken words, ``<label>/<speaker>_nohash_<n>.wav``.

    Files live in ``root/folder_in_archive/<version>`` (``root/SpeechCommands/speech_commands_v0.02``), as
    torchaudio lays them out. ``url`` is a version (``"speech_commands_v0.01"``, ``"speech_commands_v0.02"``)
    or an archive's URL; ``download=True`` fetches the archive into ``root`` (torchaudio's URLs, SHA-256
    checked) and unpacks it unless the folder is there. ``subset="validation"`` / ``"testing"`` are the clips
    listed in ``validation_list.txt`` / ``testing_list.txt``; ``"training"`` is every other clip; ``None`` is
    all clips. ``_background_noise_`` is never included.

    Items are ``(waveform, sample_rate, label, speaker_id, utterance_number)``.

    Example:
        >>> data = SpeechCommands("data/", subset="testing")  # doctest: +SKIP
        >>> waveform, sr, label, speaker, n = data[0]  # doctest: +SKIP
    """

    base_url = "http://download.tensorflow.org/data/"
    checksums = {  # torchaudio's SHA-256 of each archive
        "speech_commands_v0.01.tar.gz": "743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d",
        "speech_commands_v0.02.tar.gz": "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
    }

    def __init__(self, root, url: str = URL, folder_in_archive: str = FOLDER_IN_ARCHIVE,
                 download: bool = False, subset: str | None = None) -> None:
        if subset not in (None, "training", "validation", "testing"):
            raise ValueError(f"subset must be None, 'training', 'validation' or 'testing', got {subset!r}")
        if url in ("speech_commands_v0.01", "speech_commands_v0.02"):
            url = self.base_url + url + ".tar.gz"
        root = os.fspath(root)
        self._archive = os.path.join(root, folder_in_archive)
        self._path = os.path.join(self._archive, os.path.basename(url).rsplit(".", 2)[0])
        if download and not os.path.isdir(self._path):
            extract_folder(fetch_archive(url, root, self.checksums), self._path)
        if not os.path.isdir(self._path):
            raise FileNotFoundError(f"SpeechCommands: {self._path} not found (pass download=True to fetch it)")
        if subset in ("validation", "testing"):
            self._walker = self._load_list(f"{subset}_list.txt")
        else:
            # torchaudio's form of each path (pathlib's: no "./" in front), which a subclass compares with
            # the normalised paths of the split lists, as the speech-command tutorial's ``SubsetSC`` does
            walker = sorted(str(p) for p in Path(self._path).glob("*/*.wav"))
            walker = [w for w in walker if HASH_DIVIDER in w and EXCEPT_FOLDER not in w]
            if subset == "training":
                excluded = set(self._load_list("validation_list.txt") + self._load_list("testing_list.txt"))
                walker = [w for w in walker if os.path.normpath(w) not in excluded]
            self._walker = walker

    def _load_list(self, filename: str) -> list[str]:
        path = os.path.join(self._path, filename)
        try:
            with open(path) as fh:
                return [os.path.normpath(os.path.join(self._path, line.strip())) for line in fh if line.strip()]
        except FileNotFoundError:
            raise FileNotFoundError(f"SpeechCommands: split file {path} not found") from None

    def get_metadata(self, n: int) -> tuple[str, int, str, str, int]:
        """``(path, sample_rate, label, speaker_id, utterance_number)`` without loading audio; the path is
        relative to ``root/folder_in_archive`` (``speech_commands_v0.02/yes/0a7c2a8d_nohash_0.wav``), as
        torchaudio's."""
        path = self._walker[n]
        relpath = os.path.relpath(path, self._archive)
        label = os.path.basename(os.path.dirname(path))
        stem = os.path.splitext(os.path.splitext(os.path.basename(path))[0])[0]  # (also "x.wav.wav")
        speaker_id, utterance = stem.split(HASH_DIVIDER)
        return relpath, 16000, label, speaker_id, int(utterance)

    def __len__(self) -> int:
        return len(self._walker)

    def __getitem__(self, n: int):
        relpath, _, label, speaker_id, utterance = self.get_metadata(n)
        waveform, sample_rate = load(os.path.join(self._archive, relpath))
        return waveform, sample_rate, label, speaker_id, utterance
