"""Audio datasets (``torchaudio.datasets``' layouts) and the download-free ``SyntheticVowels``."""

from __future__ import annotations

from .collate import PadCollate, PadOrCrop, pad_or_crop
from .folder import AUDIO_EXTENSIONS, AudioFolder
from .speechcommands import SpeechCommands
from .synthetic import SyntheticVowels
from .yesno import YesNo

SPEECHCOMMANDS, YESNO = SpeechCommands, YesNo  # torchaudio's spellings

__all__ = [
           "AUDIO_EXTENSIONS",
           "SPEECHCOMMANDS",
           "YESNO",
           "AudioFolder",
           "PadCollate",
           "PadOrCrop",
           "SpeechCommands",
           "SyntheticVowels",
           "YesNo",
           "pad_or_crop",
]
