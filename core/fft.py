"""``ember.fft``: torch.fft's transforms, with ``norm=`` and gradients."""

from __future__ import annotations
