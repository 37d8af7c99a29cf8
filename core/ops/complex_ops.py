"""Complex tensors: real/imag/conj/angle/polar/view_as_real, with PyTorch's complex autograd."""

from __future__ import annotations

__all__: list[str] = []
METHODS: list[str] = []
INPLACE: list[str] = []
