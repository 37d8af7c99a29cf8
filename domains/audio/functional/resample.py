"""Band-limited resampling by windowed-sinc interpolation (torchaudio's algorithm).

With ``g = gcd(orig_freq, new_freq)``, ``o = orig_freq / g`` and ``n = new_freq / g``, output sample
``j + n`` uses the same filter taps as sample ``j`` on input shifted by ``o``: the resampler is a
polyphase filterbank of ``n`` filters applied with stride ``o`` (a strided convolution, here a framing
op plus one matmul, so it is differentiable).
"""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor

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
    return _taps(t, base_freq, orig, lowpass_filter_width, resampling_method, beta).astype(dtype), width


def _taps(t: np.ndarray, base_freq: float, orig: int, lowpass_filter_width: int, resampling_method: str,
          beta: float | None) -> np.ndarray:
    """Windowed-sinc tap values at offsets ``t`` (in input-rate seconds x reduced rate)."""
    t = np.clip(t * base_freq, -lowpass_filter_width, lowpass_filter_width)
    if resampling_method == "sinc_interp_hann":
        window = np.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    else:
        b = KAISER_BETA if beta is None else float(beta)
        window = np.i0(b * np.sqrt(np.clip(1 - (t / lowpass_filter_width) ** 2, 0.0, None))) / np.i0(b)
    t = t * math.pi
    kernels = np.where(t == 0, 1.0, np.sin(t) / np.where(t == 0, 1.0, t))
    return kernels * window * (base_freq / orig)


def sparse_resample_kernel(orig_freq: int, new_freq: int, lowpass_filter_width: int = 6, rolloff: float = 0.99,
                           resampling_method: str = "sinc_interp_hann", beta: float | None = None,
                           dtype=np.float32) -> tuple[np.ndarray, np.ndarray, int]:
    """Only the non-zero band of :func:`sinc_resample_kernel`: for phase ``j`` the taps start at
    ``first[j] = floor(j * orig / new)`` and there are ``2 * width + 2`` of them. The values are the same as
    the dense kernel's (taps outside the band are exactly zero there); when ``orig`` is large after gcd
    reduction (e.g. 44100 -> 16000, or coprime rates) this is far smaller than the dense kernel.

    Returns:
        ``(taps (new, 2 * width + 2), first (new,), width)``.
    """
    _check_rates(orig_freq, new_freq)
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    base_freq = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base_freq)
    j = np.arange(new)
    first = (j * orig) // new
    m = first[:, None] + np.arange(2 * width + 2)[None, :]  # tap index within the dense kernel's row
    t = (m - width) / orig - j[:, None] / new
    taps = _taps(t, base_freq, orig, lowpass_filter_width, resampling_method, beta)
    taps[m >= 2 * width + orig] = 0.0  # beyond the dense kernel's support
    return taps.astype(dtype), first.astype(np.int64), width


def apply_resample_kernel(waveform: Tensor, orig_freq: int, new_freq: int, kernel: Tensor, width: int) -> Tensor:
    """Applies a kernel from :func:`sinc_resample_kernel` to ``(..., time)``; output length
    ``ceil(new_freq * time / orig_freq)``."""
    if not waveform.is_floating_point():
        raise TypeError(f"expected a floating point waveform, got dtype {waveform.dtype}")
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    length = waveform.shape[-1]
    padded = pad_last(waveform, width, width + orig)
    blocks = padded.unfold(-1, kernel.shape[-1], orig)  # (..., n_blocks, taps)
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
    if use_sparse_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff):
        taps, first, width = sparse_resample_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff,
                                                    resampling_method, beta, dtype=waveform.numpy(force=True).dtype)
        return apply_sparse_resample_kernel(waveform, orig_freq, new_freq, ember.from_numpy(taps), first, width)
    kernel, width = sinc_resample_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method,
                                         beta, dtype=waveform.numpy(force=True).dtype)
    return apply_resample_kernel(waveform, orig_freq, new_freq, ember.from_numpy(kernel), width)


def use_sparse_kernel(orig_freq: int, new_freq: int, lowpass_filter_width: int = 6, rolloff: float = 0.99) -> bool:
    """Whether the banded kernel is much smaller than the dense one (large reduced ``orig_freq``)."""
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    width = math.ceil(lowpass_filter_width * orig / (min(orig, new) * rolloff))
    return 2 * width + orig > 4 * (2 * width + 2)


def apply_sparse_resample_kernel(waveform: Tensor, orig_freq: int, new_freq: int, taps: Tensor, first: np.ndarray,
                                 width: int) -> Tensor:
    """Applies :func:`sparse_resample_kernel`'s band: output ``b * new + j`` is the dot product of ``taps[j]``
    with the padded input from ``b * orig + first[j]`` (a gather, differentiable)."""
    if not waveform.is_floating_point():
        raise TypeError(f"expected a floating point waveform, got dtype {waveform.dtype}")
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    length = waveform.shape[-1]
    padded = pad_last(waveform, width, width + orig + 1)  # +1: the band's last tap may reach one past
    target = math.ceil(new * length / orig)
    n_blocks = -(-target // new)
    index = (np.arange(n_blocks)[:, None, None] * orig + first[None, :, None]
             + np.arange(taps.shape[-1])[None, None, :])  # (n_blocks, new, n_taps)
    gathered = padded[..., ember.from_numpy(index.reshape(-1))].reshape(*padded.shape[:-1], n_blocks, new, -1)
    out = (gathered * taps).sum(-1)
    out = out.reshape(*out.shape[:-2], n_blocks * new)
    return out[..., :target]
