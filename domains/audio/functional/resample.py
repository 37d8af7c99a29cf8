"""Band-limited resampling by windowed-sinc interpolation (torchaudio's algorithm).

With ``g = gcd(orig_freq, new_freq)``, ``o = orig_freq / g`` and ``n = new_freq / g``, output sample
``j + n`` uses the same filter taps as sample ``j`` on input shifted by ``o``: the resampler is a
polyphase filterbank of ``n`` filters applied with stride ``o`` (a strided convolution, here a framing
op plus one matmul, so it is differentiable).
"""

from __future__ import annotations

import math

import numpy as np

from ember.tensor import Tensor

from . import _ops
from .spectral import pad_last

KAISER_BETA = 14.769656459379492  # torchaudio's default beta for "sinc_interp_kaiser"


def _check_rates(orig_freq, new_freq) -> None:
    if orig_freq <= 0 or new_freq <= 0:
        raise ValueError(f"sample rates must be positive, got orig_freq={orig_freq}, new_freq={new_freq}")
    if int(orig_freq) != orig_freq or int(new_freq) != new_freq:
        raise ValueError(
            f"sample rates must be integers (got {orig_freq} and {new_freq}); scale both to integers that keep "
            "their ratio, e.g. 8 and 1 instead of 44100 and 5512.5"
        )


def sinc_resample_kernel(orig_freq: int, new_freq: int, lowpass_filter_width: int = 6, rolloff: float = 0.99,
                         resampling_method: str = "sinc_interp_hann", beta: float | None = None,
                         dtype=np.float32) -> tuple[np.ndarray, int]:
    """The polyphase kernel ``(new, 2 * width + orig)`` (gcd-reduced rates) and ``width``.

    Tap ``i`` of phase ``j`` is ``sinc(pi * base * (i / orig - j / new)) * window * base / orig`` with
    ``base = min(orig, new) * rolloff`` (the low-pass cut-off, in units of the reduced rates), the argument
    clamped to ``lowpass_filter_width`` zero crossings, and a Hann (``cos^2``) or Kaiser window over them.
    """
    _check_rates(orig_freq, new_freq)
    if lowpass_filter_width <= 0:
        raise ValueError(f"lowpass_filter_width must be positive, got {lowpass_filter_width}")
    if resampling_method not in ("sinc_interp_hann", "sinc_interp_kaiser"):
        raise ValueError(f"invalid resampling_method {resampling_method!r}; "
                         "expected 'sinc_interp_hann' or 'sinc_interp_kaiser'")
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    base_freq = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base_freq)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None, :] / orig
    t = np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx
    t = np.clip(t * base_freq, -lowpass_filter_width, lowpass_filter_width)
    if resampling_method == "sinc_interp_hann":
        window = np.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    else:
        b = KAISER_BETA if beta is None else float(beta)
        window = np.i0(b * np.sqrt(np.clip(1 - (t / lowpass_filter_width) ** 2, 0.0, None))) / np.i0(b)
    t = t * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        kernels = np.where(t == 0, 1.0, np.sin(t) / np.where(t == 0, 1.0, t))
    kernels = kernels * window * (base_freq / orig)
    return kernels.astype(dtype), width


def apply_resample_kernel(waveform: Tensor, orig_freq: int, new_freq: int, kernel: Tensor, width: int) -> Tensor:
    """Applies a kernel from :func:`sinc_resample_kernel` to ``(..., time)``; output length
    ``ceil(new_freq * time / orig_freq)``."""
    if not waveform.is_floating_point():
        raise TypeError(f"expected a floating point waveform, got dtype {waveform.dtype}")
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    length = waveform.shape[-1]
    padded = pad_last(waveform, width, width + orig)
    blocks = _ops.frame(padded, kernel.shape[-1], orig)  # (..., n_blocks, taps)
    out = blocks @ kernel.t()  # (..., n_blocks, new)
    out = out.reshape(*out.shape[:-2], out.shape[-2] * new)
    target = math.ceil(new * length / orig)
    return out[..., :target]


def resample(waveform: Tensor, orig_freq: int, new_freq: int, lowpass_filter_width: int = 6,
             rolloff: float = 0.99, resampling_method: str = "sinc_interp_hann", beta: float | None = None) -> Tensor:
    """Resamples ``(..., time)`` from ``orig_freq`` to ``new_freq`` Hz (``torchaudio.functional.resample``).

    Args:
        lowpass_filter_width: zero crossings of the sinc on each side (sharper filter when larger).
        rolloff: cut-off as a fraction of the lower Nyquist frequency.
        resampling_method: ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"`` (``beta`` default 14.77).

    Example:
        >>> resample(ember.randn(2, 16000), 16000, 8000).shape
        ember.Size([2, 8000])
    """
    _check_rates(orig_freq, new_freq)
    if orig_freq == new_freq:
        return waveform
    kernel, width = sinc_resample_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method,
                                         beta, dtype=waveform.data.dtype)
    return apply_resample_kernel(waveform, orig_freq, new_freq, Tensor._wrap(kernel), width)
