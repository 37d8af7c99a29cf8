"""``ember.utils.hooks``: PyTorch's ``torch.utils.hooks`` path for ported scripts."""

from __future__ import annotations

from .._hooks import RemovableHandle

__all__ = ["RemovableHandle"]
