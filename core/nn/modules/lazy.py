"""Lazy layers: shapes inferred from the first input (``nn.LazyLinear`` and friends)."""

from __future__ import annotations

__all__: list[str] = []
