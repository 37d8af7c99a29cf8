"""Convolution of signals along the last dimension (``torchaudio.functional.convolve`` / ``fftconvolve``)."""

from __future__ import annotations

import ember
from ember import Tensor

_MODES = ("full", "valid", "same")


def _check(x: Tensor, y: Tensor, mode: str) -> None:
    if x.ndim != y.ndim:
        raise ValueError(f"The operands must be the same dimension (got {x.ndim} and {y.ndim}).")
    for xi, yi in zip(x.shape[:-1], y.shape[:-1]):
        if xi != yi and xi != 1 and yi != 1:
            raise ValueError(f"Leading dimensions of x and y are not broadcastable (got {tuple(x.shape)} and "
                             f"{tuple(y.shape)}).")
    if mode not in _MODES:
        raise ValueError(f"Unrecognized mode value '{mode}'. Please specify one of {list(_MODES)}.")


def _apply_mode(full: Tensor, x_length: int, y_length: int, mode: str) -> Tensor:
    """Crops a full convolution to ``valid`` (``|Lx - Ly| + 1``) or ``same`` (``Lx``), centred."""
    if mode == "full":
        return full
    target = max(x_length, y_length) - min(x_length, y_length) + 1 if mode == "valid" else x_length
    start = (full.shape[-1] - target) // 2
    return full[..., start : start + target]


def convolve(x: Tensor, y: Tensor, mode: str = "full") -> Tensor:
    """Direct convolution of ``x`` ``(..., N)`` with ``y`` ``(..., M)`` over the last dim; leading dims
    broadcast. ``mode``: ``full`` (``N + M - 1``), ``valid`` (``max - min + 1``) or ``same`` (``N``).

    Example:
        >>> convolve(ember.tensor([1.0, 2.0, 3.0]), ember.tensor([0.0, 1.0, 0.5]))
        tensor([0.0000, 1.0000, 2.5000, 4.0000, 1.5000])
    """
    _check(x, y, mode)
    x_length, y_length = x.shape[-1], y.shape[-1]
    if x_length < y_length:
        x, y = y, x
    lead = tuple(ember.broadcast_shapes(tuple(x.shape[:-1]), tuple(y.shape[:-1])))
    x = x.broadcast_to(lead + (x.shape[-1],))
    y = y.broadcast_to(lead + (y.shape[-1],))
    signals = x.reshape(1, -1, x.shape[-1])
    kernels = y.reshape(-1, 1, y.shape[-1]).flip(-1)
    full = ember.nn.functional.conv1d(signals, kernels, padding=kernels.shape[-1] - 1, groups=signals.shape[1])
    return _apply_mode(full.reshape(lead + (-1,)), x_length, y_length, mode)


def fftconvolve(x: Tensor, y: Tensor, mode: str = "full") -> Tensor:
    """Convolution through the FFT (``irfft(rfft(x) * rfft(y))``), faster than :func:`convolve` for long
    signals; same arguments and output.

    Example:
        >>> fftconvolve(ember.tensor([1.0, 2.0, 3.0]), ember.tensor([0.0, 1.0, 0.5]), mode="same")
        tensor([1.0000, 2.5000, 4.0000])
    """
    _check(x, y, mode)
    n = x.shape[-1] + y.shape[-1] - 1
    full = ember.fft.irfft(ember.fft.rfft(x, n=n) * ember.fft.rfft(y, n=n), n=n)
    return _apply_mode(full, x.shape[-1], y.shape[-1], mode)


__all__ = ["convolve", "fftconvolve"]
