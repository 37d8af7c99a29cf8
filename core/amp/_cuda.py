"""``ember.cuda.amp``: torch.cuda.amp's deprecated names, fixed to the ``"cuda"`` device. Many nanoGPT-style
scripts still write ``torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))``; as on a torch without CUDA,
an enabled one warns and disables itself."""

from __future__ import annotations

import warnings

from .._dtype import float16
from . import autocast_mode, grad_scaler


class GradScaler(grad_scaler.GradScaler):
    """``torch.cuda.amp.GradScaler(...)``: ``ember.amp.GradScaler("cuda", ...)``, with torch's FutureWarning."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


class autocast(autocast_mode.autocast):
    """``torch.cuda.amp.autocast(...)``: ``ember.amp.autocast("cuda", ...)``, with torch's FutureWarning."""

    def __init__(self, enabled: bool = True, dtype=float16, cache_enabled: bool = True):
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
