"""Audio datasets (``torchaudio.datasets``' layouts and ``download=True``: SPEECHCOMMANDS, YESNO, LIBRISPEECH,
LJSPEECH) and the download-free ``SyntheticVowels``."""

from __future__ import annotations

from .collate import PadCollate, PadOrCrop, pad_or_crop
from .folder import AUDIO_EXTENSIONS, AudioFolder
from .librispeech import LibriSpeech
from .ljspeech import LJSpeech
from .speechcommands import SpeechCommands
from .synthetic import SyntheticVowels
from .yesno import YesNo

LIBRISPEECH, LJSPEECH, SPEECHCOMMANDS, YESNO = LibriSpeech, LJSpeech, SpeechCommands, YesNo  # torchaudio's spellings

__all__ = [
           "AUDIO_EXTENSIONS",
           "LIBRISPEECH",
           "LJSPEECH",
           "SPEECHCOMMANDS",
           "YESNO",
           "AudioFolder",
           "LJSpeech",
           "LibriSpeech",
           "PadCollate",
           "PadOrCrop",
           "SpeechCommands",
           "SyntheticVowels",
           "YesNo",
           "pad_or_crop",
]
