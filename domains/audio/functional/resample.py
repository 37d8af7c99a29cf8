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
    # only each row's band of 2 * width + 2 taps is non-zero: compute it, place it (a 44.1 -> 15.99 kHz
    # kernel is 533 x 1504 taps, its band 533 x 36)
    taps, first, width = sparse_resample_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff,
                                                resampling_method, beta, dtype=np.float64)
    kernel = np.zeros((len(first), 2 * width + int(orig_freq) // math.gcd(int(orig_freq), int(new_freq))),
                      dtype=dtype)
    columns = first[:, None] + np.arange(taps.shape[1])
    inside = columns < kernel.shape[1]
    kernel[np.nonzero(inside)[0], columns[inside]] = taps[inside]
    return kernel, width


def _taps(idx: np.ndarray, phase: np.ndarray, base_freq: float, orig: int, lowpass_filter_width: int,
          resampling_method: str, beta: float | None) -> np.ndarray:
    """Windowed-sinc taps ``(len(phase), len(idx))`` at offsets ``t = idx[i] - phase[j]`` (input-rate
    seconds x reduced rate): ``sinc(pi * base * t)`` times the window, zero beyond ``lowpass_filter_width``
    zero crossings (where torchaudio's clamped argument makes them ~1e-30).

    The offsets are differences, so the sines and cosines of the Hann kernel come from those of ``idx`` and
    ``phase`` by the angle-addition formulas: ``len(idx) + len(phase)`` transcendental calls instead of
    one per tap (the functional form builds a kernel per call).
    """
    a, b = idx * base_freq, phase * base_freq  # x[j, i] = a[i] - b[j], in zero crossings
    x = a[None, :] - b[:, None]
    inside = np.abs(x) <= lowpass_filter_width
    # sin(pi x) = sin(pi a) cos(pi b) - cos(pi a) sin(pi b)
    sin_pi_x = np.sin(np.pi * a)[None, :] * np.cos(np.pi * b)[:, None]
    sin_pi_x -= np.cos(np.pi * a)[None, :] * np.sin(np.pi * b)[:, None]
    # the taps nearest the centre, |x| < 1/2 (one or none per row), from sin(pi x) itself: there the
    # difference of products cancels to a few ulps of sin(pi a), large against a tiny x
    near = np.abs(x) < 0.5
    sin_pi_x[near] = np.sin(np.pi * x[near])
    zero = x == 0
    kernels = np.where(zero, 1.0, sin_pi_x / (np.pi * np.where(zero, 1.0, x)))
    if resampling_method == "sinc_interp_hann":
        h = np.pi / lowpass_filter_width / 2  # window cos^2(h x), cos(h x) = cos(h a) cos(h b) + sin(h a) sin(h b)
        window = np.cos(h * a)[None, :] * np.cos(h * b)[:, None]
        window += np.sin(h * a)[None, :] * np.sin(h * b)[:, None]
        window *= window
    else:  # the Kaiser window, evaluated inside the band only (np.i0 is most of the cost)
        beta = KAISER_BETA if beta is None else float(beta)
        window = np.zeros_like(x)
        ratio = x[inside] / lowpass_filter_width
        window[inside] = np.i0(beta * np.sqrt(np.clip(1 - ratio**2, 0.0, None))) / np.i0(beta)
    kernels *= window
    kernels *= base_freq / orig
    kernels[~inside] = 0.0
    return kernels


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
    # t = (m - width) / orig - j / new = k / orig - (j / new - (first - width) / orig), k the tap in the band
    taps = _taps(np.arange(2 * width + 2) / orig, j / new - (first - width) / orig, base_freq, orig,
                 lowpass_filter_width, resampling_method, beta)
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
    if use_sparse_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff, length=waveform.shape[-1]):
        taps, first, width = sparse_resample_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff,
                                                    resampling_method, beta, dtype=waveform.numpy(force=True).dtype)
        return apply_sparse_resample_kernel(waveform, orig_freq, new_freq, ember.from_numpy(taps), first, width)
    kernel, width = sinc_resample_kernel(orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method,
                                         beta, dtype=waveform.numpy(force=True).dtype)
    return apply_resample_kernel(waveform, orig_freq, new_freq, ember.from_numpy(kernel), width)


def use_sparse_kernel(orig_freq: int, new_freq: int, lowpass_filter_width: int = 6, rolloff: float = 0.99,
                      length: int | None = None) -> bool:
    """Whether to resample with the banded kernel rather than the dense one.

    Applying the dense kernel is one matmul, the band a gather that costs ~20x more per tap; the band wins
    once the dense rows are ~64x longer (coprime rates, e.g. 44100 -> 16010). The functional form, which
    builds its kernel per call (``length``: the waveform's), also weighs placing the dense kernel's
    entries, about half a gathered tap's cost each, against the band's taps over the output.
    """
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    width = math.ceil(lowpass_filter_width * orig / (min(orig, new) * rolloff))
    dense_taps, band_taps = 2 * width + orig, 2 * width + 2
    if dense_taps > 64 * band_taps:
        return True
    return length is not None and new * dense_taps > 2 * math.ceil(new * length / orig) * band_taps


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
