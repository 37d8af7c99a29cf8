"""``ember.special``: torch.special's functions, with gradients."""

from __future__ import annotations
