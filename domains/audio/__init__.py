"""ember.audio: audio IO, spectral transforms, augmentation, datasets and models (torchaudio's API).

``load`` / ``save`` / ``info`` read and write WAV, FLAC and OGG through soundfile (imported on first use);
``functional`` and ``transforms`` hold the spectral and augmentation transforms; ``datasets`` the audio
datasets (including the download-free ``SyntheticVowels``); ``models`` the M5 and log-mel CNN classifiers.

Example:
    >>> from ember.audio import transforms as T
    >>> T.MelSpectrogram(n_mels=64)(ember.randn(1, 16000)).shape
    ember.Size([1, 64, 81])
"""

from __future__ import annotations

import importlib

from ember import __version__ as __version__  # (torchaudio.__version__, which tutorials print)

from .io import AudioMetaData, info, load, save

_SUBMODULES = ("functional", "transforms", "datasets", "models", "data")


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name == "AudioClassificationData":
        # lazy: loaded on first use (import ember.audio stays light)
        from .data import AudioClassificationData

        return AudioClassificationData
    raise AttributeError(f"module 'ember.audio' has no attribute {name!r}")


__all__ = ["AudioMetaData", "data", "datasets", "functional", "info", "load", "models", "save", "transforms"]
