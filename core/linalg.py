"""``ember.linalg``: torch.linalg's functions, with its names, batching and gradients."""

from __future__ import annotations
