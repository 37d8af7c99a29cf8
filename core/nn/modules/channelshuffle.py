"""Channel shuffling (``nn.ChannelShuffle``)."""

from __future__ import annotations

__all__: list[str] = []
