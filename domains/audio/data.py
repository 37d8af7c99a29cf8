"""``AudioClassificationData``: the DataModule for audio classification (Lightning's DataModule API)."""

from __future__ import annotations

import os
from typing import Any

import ember
import numpy as np
from ember import Tensor
from ember.data.dataset import Dataset
from ember.trainer.datamodule import SplitDataModule

BUILTIN = ("synthetic_vowels", "speech_commands")


class _AudioSplit(Dataset):
    """A view of ``dataset`` at ``indices`` that turns each item into ``(features, label)``."""

    def __init__(self, dataset, indices, pipeline: _Pipeline, train: bool, classes: list[str]) -> None:
        self.dataset, self.indices, self.pipeline, self.train = dataset, list(indices), pipeline, train
        self.class_to_idx = {c: i for i, c in enumerate(classes)}

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        item = self.dataset[self.indices[i]]
        waveform, sample_rate, label = _unpack(self.dataset, item)
        if isinstance(label, str):
            label = self.class_to_idx[label]
        return self.pipeline(waveform, sample_rate, self.train), label


def _unpack(dataset, item) -> tuple[Tensor, int, Any]:
    """(waveform, sample_rate, label) from the item layouts of Ember's audio datasets."""
    if len(item) == 2:  # SyntheticVowels: (waveform, label), at the dataset's rate
        return item[0], dataset.sample_rate, item[1]
    # AudioFolder(return_sample_rate=True): (waveform, sr, label); SpeechCommands: (waveform, sr, label, ...)
    return item[0], item[1], item[2]


class _Pipeline:
    """mono -> resample -> pad/crop -> features -> SpecAugment (training only)."""

    def __init__(self, sample_rate: int, num_samples: int, features: str, n_mels: int, n_mfcc: int,
                 spec_augment: dict | None) -> None:
        from . import transforms as T  # lazy: loaded on first use (import ember.audio stays light)
        from .models.cnn import log_mel_frontend  # lazy: loaded on first use (import ember.audio stays light)

        self.sample_rate, self.num_samples, self.features = sample_rate, num_samples, features
        self._resamplers: dict[int, Any] = {}
        if features == "log_mel":
            self.frontend = log_mel_frontend(sample_rate, n_mels)
        elif features == "mfcc":
            frontend = log_mel_frontend(sample_rate, n_mels)[0]
            self.frontend = T.MFCC(sample_rate, n_mfcc=n_mfcc,
                                   melkwargs={"n_fft": frontend.n_fft, "win_length": frontend.win_length,
                                              "hop_length": frontend.hop_length, "n_mels": n_mels, "f_min": 20.0})
        elif features == "waveform":
            self.frontend = None
        else:
            raise ValueError(f"features must be 'log_mel', 'mfcc' or 'waveform', got {features!r}")
        self.spec_augment = T.SpecAugment(**spec_augment) if spec_augment and self.frontend is not None else None

    def __call__(self, waveform: Tensor, sample_rate: int | None, train: bool) -> Tensor:
        from . import transforms as T  # lazy: loaded on first use (import ember.audio stays light)
        # lazy: loaded on first use (import ember.audio stays light)
        from .datasets.collate import pad_or_crop

        with ember.no_grad():
            if waveform.ndim == 2 and waveform.shape[0] > 1:
                waveform = waveform.mean(0, keepdim=True)
            sample_rate = sample_rate or self.sample_rate
            if sample_rate != self.sample_rate:
                if sample_rate not in self._resamplers:
                    self._resamplers[sample_rate] = T.Resample(sample_rate, self.sample_rate)
                waveform = self._resamplers[sample_rate](waveform)
            excess = waveform.shape[-1] - self.num_samples
            offset = int(ember.default_generator.np.integers(0, excess + 1)) if train and excess > 0 else 0
            waveform = pad_or_crop(waveform, self.num_samples, offset)
            if self.frontend is None:
                return waveform
            features = self.frontend(waveform)  # (1, n_mels, frames)
            if train and self.spec_augment is not None:
                features = self.spec_augment(features)
            return features


class AudioClassificationData(SplitDataModule):
    """Train / validation / test loaders for audio classification, with features computed on the fly.

    Each clip is mixed down to mono, resampled to ``sample_rate``, padded or cropped to ``clip_seconds``
    (random crop when training), and turned into ``features``: ``"log_mel"`` (``(1, n_mels, frames)``, 25 ms
    windows, 10 ms hop, dB), ``"mfcc"`` (``(1, n_mfcc, frames)``) or ``"waveform"`` (``(1, samples)``).
    SpecAugment (time and frequency masks, drawn from the loader's per-sample seeds) is applied to training
    features only. Batches are ``(features, labels)``.

    Args:
        dataset: ``"synthetic_vowels"`` (built in, no download), ``"speech_commands"`` (under ``root``,
            torchaudio's layout) or the path of a folder ``<class>/<clip>.wav`` (with optional ``train/``,
            ``val/``, ``test/`` sub-folders; otherwise ``val_split`` of it is held out).
        root: data folder (Speech Commands) or cache folder (synthetic set).
        sample_rate: target rate (default 8000 for synthetic_vowels, 16000 otherwise).
        clip_seconds: clip length after pad/crop. features, n_mels, n_mfcc: the feature front end.
        spec_augment: ``SpecAugment`` arguments, True for a default (2 time masks of up to 10 frames, 2
            frequency masks of up to ``n_mels // 8`` bands), or False/None for none.
        val_split: fraction (or count) held out for validation when the dataset has no validation split.
        batch_size, num_workers: for the loaders. train_size / val_size / test_size: sizes of the synthetic
            splits. seed: seeds the synthetic data and the validation split.

    Example:
        >>> data = AudioClassificationData(train_size=40, val_size=10, test_size=10, batch_size=8)
        >>> data.setup("fit")
        >>> features, labels = next(iter(data.train_dataloader()))
        >>> features.shape, data.num_classes
        (ember.Size([8, 1, 64, 101]), 5)
    """

    def __init__(self, dataset: str = "synthetic_vowels", root: str | None = None, sample_rate: int | None = None,
                 clip_seconds: float = 1.0, features: str = "log_mel", n_mels: int = 64, n_mfcc: int = 40,
                 spec_augment: bool | dict | None = True, val_split: float = 0.1, batch_size: int = 32,
                 num_workers: int = 0, train_size: int | None = None, val_size: int | None = None,
                 test_size: int | None = None, seed: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()
        name = str(dataset)
        if name.lower() not in BUILTIN and not os.path.isdir(os.path.expanduser(name)):
            raise ValueError(f"AudioClassificationData: dataset must be one of {', '.join(BUILTIN)} or an existing "
                             f"folder, got {dataset!r}")
        self.dataset = name.lower() if name.lower() in BUILTIN else os.path.expanduser(name)
        self.root = root
        self.sample_rate = sample_rate or (8000 if self.dataset == "synthetic_vowels" else 16000)
        self.clip_seconds, self.features, self.n_mels, self.n_mfcc = clip_seconds, features, n_mels, n_mfcc
        if spec_augment is True:
            spec_augment = {"n_time_masks": 2, "time_mask_param": 10, "n_freq_masks": 2,
                            "freq_mask_param": max(1, n_mels // 8), "zero_masking": False}
        self.spec_augment = spec_augment or None
        self.val_split, self.batch_size, self.num_workers = val_split, batch_size, num_workers
        self.train_size, self.val_size, self.test_size, self.seed = train_size, val_size, test_size, seed
        self.classes: list[str] = []
        self._train = self._val = self._test = None

    # --- datasets -----------------------------------------------------------------------------------
    def _splits(self) -> tuple[Any, Any, Any]:
        """(train, val or None, test or None) raw datasets."""
        from . import datasets as D  # lazy: loaded on first use (import ember.audio stays light)

        if self.dataset == "synthetic_vowels":
            def make(subset, size):
                return D.SyntheticVowels(self.root, subset=subset, num_samples=size, sample_rate=self.sample_rate,
                                         duration=self.clip_seconds, seed=self.seed)

            return make("training", self.train_size), make("validation", self.val_size), make("testing",
                                                                                               self.test_size)
        if self.dataset == "speech_commands":
            if self.root is None:
                raise ValueError("AudioClassificationData: speech_commands needs root= (the folder holding "
                                 "SpeechCommands/speech_commands_v0.02)")
            return tuple(D.SpeechCommands(self.root, subset=s) for s in ("training", "validation", "testing"))
        def folder(path):
            return D.AudioFolder(path, return_sample_rate=True) if os.path.isdir(path) else None

        sub = {s: os.path.join(self.dataset, s) for s in ("train", "val", "test")}
        if os.path.isdir(sub["train"]):
            return folder(sub["train"]), folder(sub["val"]), folder(sub["test"])
        return folder(self.dataset), None, None

    @staticmethod
    def _classes_of(dataset) -> list[str]:
        if hasattr(dataset, "classes"):
            return list(dataset.classes)
        # SpeechCommands: labels are the folder names of the clips
        return sorted({os.path.basename(os.path.dirname(p)) for p in dataset._walker})

    def setup(self, stage: str | None = None) -> None:
        """Builds the three splits once (idempotent)."""
        if self._train is not None:
            return
        train_raw, val_raw, test_raw = self._splits()
        self.classes = self._classes_of(train_raw)
        pipeline = _Pipeline(self.sample_rate, round(self.clip_seconds * self.sample_rate), self.features,
                             self.n_mels, self.n_mfcc, self.spec_augment)
        n = len(train_raw)
        train_idx, val_idx = list(range(n)), []
        if val_raw is None:
            n_val = round(self.val_split * n) if isinstance(self.val_split, float) else int(self.val_split)
            if not 0 <= n_val < n:
                raise ValueError(f"AudioClassificationData: val_split {self.val_split} leaves no training data "
                                 f"({n} clips)")
            order = np.random.Generator(np.random.PCG64(self.seed)).permutation(n)
            train_idx, val_idx = sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())
        self._train = _AudioSplit(train_raw, train_idx, pipeline, True, self.classes)
        if val_raw is not None:
            self._val = _AudioSplit(val_raw, range(len(val_raw)), pipeline, False, self.classes)
        elif val_idx:
            self._val = _AudioSplit(train_raw, val_idx, pipeline, False, self.classes)
        self._test = (_AudioSplit(test_raw, range(len(test_raw)), pipeline, False, self.classes)
                      if test_raw is not None else self._val)

