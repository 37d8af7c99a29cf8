"""Sub-pixel rearrangement (``nn.PixelShuffle`` / ``nn.PixelUnshuffle``)."""

from __future__ import annotations

__all__: list[str] = []
