"""Special functions (gamma family, Bessel, error functions, ...); ``ember.special`` re-exports them."""

from __future__ import annotations

__all__: list[str] = []
METHODS: list[str] = []
INPLACE: list[str] = []
