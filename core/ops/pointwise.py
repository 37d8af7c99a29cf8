"""Pointwise math beyond arithmetic: atan2, hypot, copysign, logaddexp, addcmul, heaviside, ..."""

from __future__ import annotations

__all__: list[str] = []
METHODS: list[str] = []
INPLACE: list[str] = []
