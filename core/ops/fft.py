"""Discrete Fourier transforms (``ember.fft``'s functions), differentiable."""

from __future__ import annotations

__all__: list[str] = []
METHODS: list[str] = []
INPLACE: list[str] = []
