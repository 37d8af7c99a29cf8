"""Audio classification models: ``M5`` (raw waveform) and ``LogMelCNN`` (2-D CNN over log-mel features)."""

from __future__ import annotations

from .cnn import LogMelCNN, log_mel_frontend
from .m5 import M5

__all__ = ["M5", "LogMelCNN", "log_mel_frontend"]
