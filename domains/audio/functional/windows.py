"""Window functions with PyTorch's names and defaults (``periodic=True``: the window of length
``N + 1`` with its last sample dropped, the right choice for spectral analysis)."""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor


def _as_tensor(values: np.ndarray, dtype, requires_grad: bool = False) -> Tensor:
    np_dtype = (dtype or ember.get_default_dtype()).numpy
    window = ember.from_numpy(np.ascontiguousarray(values, dtype=np_dtype))
    return window.requires_grad_() if requires_grad else window


def _cosine_sum(window_length: int, periodic: bool, coefficients) -> np.ndarray:
    if window_length < 0:
        raise ValueError(f"window_length must be non-negative, got {window_length}")
    if window_length <= 1:
        return np.ones(window_length)
    denominator = window_length if periodic else window_length - 1
    phase = 2.0 * math.pi * np.arange(window_length) / denominator
    out = np.zeros(window_length)
    for k, a in enumerate(coefficients):
        out += (-1) ** k * a * np.cos(k * phase)
    return out


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Hann window ``0.5 - 0.5 cos(2 pi n / N)``, ``N = window_length`` if periodic else ``window_length - 1``.

    Example:
        >>> hann_window(4)
        tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    return _as_tensor(_cosine_sum(window_length, periodic, (0.5, 0.5)), dtype, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, requires_grad: bool = False) -> Tensor:
    """Hamming window ``alpha - beta cos(2 pi n / N)`` (PyTorch's defaults)."""
    return _as_tensor(_cosine_sum(window_length, periodic, (alpha, beta)), dtype, requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Blackman window ``0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)``."""
    return _as_tensor(_cosine_sum(window_length, periodic, (0.42, 0.5, 0.08)), dtype, requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Triangular (Bartlett) window ``1 - |2n / N - 1|``."""
    if window_length <= 1:
        return _as_tensor(np.ones(window_length), dtype, requires_grad)
    denominator = window_length if periodic else window_length - 1
    n = np.arange(window_length)
    return _as_tensor(1.0 - np.abs(2.0 * n / denominator - 1.0), dtype, requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None,
                  requires_grad: bool = False) -> Tensor:
    """Kaiser window ``I0(beta sqrt(1 - (2n / N - 1)^2)) / I0(beta)`` (PyTorch's default ``beta=12``)."""
    if window_length <= 1:
        return _as_tensor(np.ones(window_length), dtype, requires_grad)
    denominator = window_length if periodic else window_length - 1
    n = np.arange(window_length)
    ratio = 2.0 * n / denominator - 1.0
    values = np.i0(beta * np.sqrt(np.clip(1.0 - ratio**2, 0.0, None))) / np.i0(beta)
    return _as_tensor(values, dtype, requires_grad)
