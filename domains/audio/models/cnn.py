"""A small 2-D CNN over log-mel spectrograms."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ember import Tensor, nn

from ..transforms import AmplitudeToDB, MelSpectrogram


def log_mel_frontend(sample_rate: int, n_mels: int = 64) -> nn.Module:
    """``MelSpectrogram`` with 25 ms windows every 10 ms (FFT size the next power of two) and ``AmplitudeToDB``
    (``top_db=80``): waveform ``(..., time)`` -> log-mel ``(..., n_mels, frames)``.

    Example:
        >>> log_mel_frontend(8000, 40)(ember.randn(1, 8000)).shape
        ember.Size([1, 40, 101])
    """
    win_length = round(0.025 * sample_rate)
    n_fft = 1 << math.ceil(math.log2(win_length))
    return nn.Sequential(
        MelSpectrogram(sample_rate, n_fft=n_fft, win_length=win_length, hop_length=round(0.01 * sample_rate),
                       n_mels=n_mels, f_min=20.0),
        AmplitudeToDB("power", top_db=80.0),
    )


class LogMelCNN(nn.Module):
    """Log-mel CNN classifier: (optional) log-mel front end, input batch norm, ``len(channels)`` blocks of
    3x3 convolution + batch norm + ReLU + 2x2 max pooling, max pooling over time (position-invariant),
    dropout and a linear layer over the remaining (channel x frequency) features.

    Input: a waveform ``(batch, 1, time)`` / ``(batch, time)`` when ``frontend=True`` (the default), else
    log-mel features ``(batch, 1, n_mels, frames)``. Output: logits ``(batch, n_classes)``.

    Args:
        n_classes: number of classes. sample_rate: input rate (for the front end). n_mels: mel bands.
        channels: output channels of the conv blocks. dropout: before the classifier. frontend: include the
            log-mel front end (set False when features are computed in the data pipeline).

    Example:
        >>> model = LogMelCNN(5, sample_rate=8000, n_mels=32)
        >>> model(ember.randn(2, 1, 8000)).shape
        ember.Size([2, 5])
    """

    def __init__(self, n_classes: int, sample_rate: int = 16000, n_mels: int = 64,
                 channels: Sequence[int] = (16, 32, 64), dropout: float = 0.2, frontend: bool = True) -> None:
        super().__init__()
        self.frontend = log_mel_frontend(sample_rate, n_mels) if frontend else None
        self.input_norm = nn.BatchNorm2d(1)
        blocks, c_in = [], 1
        for c in channels:
            blocks += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.blocks = nn.Sequential(*blocks)
        n_freq = n_mels
        for _ in channels:
            n_freq //= 2
        if n_freq < 1:
            raise ValueError(f"n_mels={n_mels} is too small for {len(channels)} pooling blocks")
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c_in * n_freq, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        if self.frontend is not None:
            if x.ndim == 2:
                x = x.unsqueeze(1)
            x = self.frontend(x)  # (batch, 1, n_mels, frames)
        elif x.ndim == 3:
            x = x.unsqueeze(1)
        x = self.blocks(self.input_norm(x))  # (batch, C, F', T')
        x = x.amax(dim=-1).flatten(1)  # strongest response over time, keep frequency
        return self.classifier(self.dropout(x))
