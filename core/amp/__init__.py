"""``ember.amp``: torch.amp's names on the CPU. ``GradScaler`` scales the loss, unscales the gradients, skips
the step whose gradients overflowed and adapts the scale, as torch's does (useful with float16 parameters);
``autocast`` is a context that Ember honours by computing in the tensors' own dtypes (it has no per-op
lower-precision lists), see ``autocast``."""

from __future__ import annotations

from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]
