"""``AudioFolder``: ``root/<label>/<clip>.wav|flac|ogg`` as a classification dataset."""

from __future__ import annotations

import os
from collections.abc import Callable

from ember.data.dataset import Dataset

from ..io import load

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au")


class AudioFolder(Dataset):
    """Audio files arranged one folder per class (torchvision's ``ImageFolder`` for sound).

    Items are ``(waveform, label)`` with ``waveform`` a float32 ``Tensor[channels, time]`` (after
    ``transform``) and ``label`` the class index; classes are the sorted sub-folder names. Files are decoded
    when accessed; a truncated or non-audio file raises ``RuntimeError`` naming the file.

    Args:
        root: the folder holding one sub-folder per class.
        transform: applied to each waveform. target_transform: applied to each label.
        extensions: file suffixes to include (case-insensitive).
        sample_rate: if given, every file must have this rate (a mismatch raises, naming the file).
        return_sample_rate: items are ``(waveform, sample_rate, label)`` instead (torchaudio's dataset
            layout), for pipelines that resample files of mixed rates.

    Example:
        >>> data = AudioFolder("speech/")  # doctest: +SKIP
        >>> waveform, label = data[0]  # doctest: +SKIP
        >>> data.classes  # doctest: +SKIP
        ['no', 'yes']
    """

    def __init__(self, root, transform: Callable | None = None, target_transform: Callable | None = None,
                 extensions: tuple[str, ...] = AUDIO_EXTENSIONS, sample_rate: int | None = None,
                 return_sample_rate: bool = False) -> None:
        self.root = os.fspath(root)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"AudioFolder: {self.root} is not a directory")
        self.transform, self.target_transform, self.sample_rate = transform, target_transform, sample_rate
        self.return_sample_rate = return_sample_rate
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith("."))
        if not self.classes:
            raise FileNotFoundError(f"AudioFolder: no class folders in {self.root}")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        extensions = tuple(e.lower() for e in extensions)
        self.samples: list[tuple[str, int]] = []
        for label in self.classes:
            folder = os.path.join(self.root, label)
            for dirpath, _, files in sorted(os.walk(folder, followlinks=True)):
                for name in sorted(files):
                    if name.lower().endswith(extensions):
                        self.samples.append((os.path.join(dirpath, name), self.class_to_idx[label]))
        if not self.samples:
            raise FileNotFoundError(f"AudioFolder: no audio files ({', '.join(extensions)}) under {self.root}")
        self.targets = [label for _, label in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, target = self.samples[index]
        waveform, sample_rate = load(path)
        if self.sample_rate is not None and sample_rate != self.sample_rate:
            raise RuntimeError(f"{path}: sample rate {sample_rate} Hz, expected {self.sample_rate} Hz")
        if self.transform is not None:
            waveform = self.transform(waveform)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return (waveform, sample_rate, target) if self.return_sample_rate else (waveform, target)
