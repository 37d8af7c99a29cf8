"""Mel / linear filterbanks, the DCT matrix and decibel conversion (torchaudio's definitions)."""

from __future__ import annotations

import math
import warnings

import ember
import numpy as np
from ember import Tensor


def _check_mel_scale(mel_scale: str) -> None:
    if mel_scale not in ("htk", "slaney"):
        raise ValueError(f'mel_scale should be one of "htk" or "slaney", got {mel_scale!r}')


_F_SP = 200.0 / 3  # slaney: linear below 1 kHz, 3 mels per 200 Hz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(freq, mel_scale: str = "htk"):
    """Hz -> mel. ``htk``: ``2595 log10(1 + f / 700)``; ``slaney``: linear ``f / (200/3)`` below 1 kHz,
    logarithmic (step ``ln(6.4) / 27``) above. Accepts floats or arrays.

    Example:
        >>> round(hz_to_mel(1000.0), 3)
        999.986
    """
    _check_mel_scale(mel_scale)
    f = np.asarray(freq, dtype=np.float64)
    if mel_scale == "htk":
        mels = 2595.0 * np.log10(1.0 + f / 700.0)
    else:
        mels = np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(f, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP,
                        f / _F_SP)
    return float(mels) if mels.ndim == 0 else mels


def mel_to_hz(mels, mel_scale: str = "htk"):
    """Inverse of :func:`hz_to_mel`."""
    _check_mel_scale(mel_scale)
    m = np.asarray(mels, dtype=np.float64)
    if mel_scale == "htk":
        freqs = 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    else:
        freqs = np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)
    return float(freqs) if freqs.ndim == 0 else freqs


def _triangular_filterbank(all_freqs: np.ndarray, f_pts: np.ndarray) -> np.ndarray:
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return np.maximum(0.0, np.minimum(down, up))


def _to_default(values: np.ndarray) -> Tensor:
    return ember.from_numpy(values.astype(ember.get_default_dtype().numpy))


def melscale_fbanks(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int,
                    norm: str | None = None, mel_scale: str = "htk") -> Tensor:
    """Triangular mel filterbank ``(n_freqs, n_mels)``; apply as ``spec.transpose(-1, -2) @ fb``.

    Frequencies of the STFT bins are ``linspace(0, sample_rate // 2, n_freqs)``; ``n_mels + 2`` points
    equally spaced in mel between ``f_min`` and ``f_max`` give each triangle's left, peak and right.
    ``norm="slaney"`` divides each triangle by half its width in Hz (``2 / (f[i+2] - f[i])``).

    Example:
        >>> melscale_fbanks(201, 0.0, 8000.0, 40, 16000).shape
        ember.Size([201, 40])
    """
    if norm is not None and norm != "slaney":
        raise ValueError(f'norm must be one of None or "slaney", got {norm!r}')
    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    m_pts = np.linspace(hz_to_mel(f_min, mel_scale), hz_to_mel(f_max, mel_scale), n_mels + 2)
    f_pts = mel_to_hz(m_pts, mel_scale)
    fb = _triangular_filterbank(all_freqs, f_pts)
    if norm == "slaney":
        fb = fb * (2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels]))[None, :]
    if (fb.max(axis=0) == 0.0).any():
        warnings.warn(
            f"At least one mel filterbank has all zero values. The value for `n_mels` ({n_mels}) may be set too "
            f"high. Or, the value for `n_freqs` ({n_freqs}) may be set too low.",
            stacklevel=2,
        )
    return _to_default(fb)


def linear_fbanks(n_freqs: int, f_min: float, f_max: float, n_filter: int, sample_rate: int) -> Tensor:
    """Triangular filterbank ``(n_freqs, n_filter)`` with centres equally spaced in Hz.

    Example:
        >>> linear_fbanks(201, 0.0, 8000.0, 20, 16000).shape
        ember.Size([201, 20])
    """
    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    f_pts = np.linspace(f_min, f_max, n_filter + 2)
    return _to_default(_triangular_filterbank(all_freqs, f_pts))


def create_dct(n_mfcc: int, n_mels: int, norm: str | None) -> Tensor:
    """DCT-II matrix ``(n_mels, n_mfcc)``, right-multiplied onto ``(..., n_mels)`` rows.
    ``norm="ortho"`` makes it orthonormal; ``None`` is the unscaled ``2 cos(pi / n_mels (n + 1/2) k)``.

    Example:
        >>> d = create_dct(4, 4, "ortho")
        >>> bool(((d.t() @ d) - ember.eye(4)).abs().max() < 1e-6)
        True
    """
    if norm is not None and norm != "ortho":
        raise ValueError(f'norm must be either "ortho" or None, got {norm!r}')
    n = np.arange(n_mels, dtype=np.float64)
    k = np.arange(n_mfcc, dtype=np.float64)[:, None]
    dct = np.cos(math.pi / n_mels * (n + 0.5) * k)
    if norm is None:
        dct *= 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct *= math.sqrt(2.0 / n_mels)
    return _to_default(dct.T)


def amplitude_to_DB(x: Tensor, multiplier: float, amin: float, db_multiplier: float,
                    top_db: float | None = None) -> Tensor:
    """``multiplier * log10(max(x, amin)) - multiplier * db_multiplier``, then (if ``top_db``) floored at
    ``max - top_db``, the max taken per item over the last three dims ``(channel, freq, time)`` (a 2-D or
    3-D input has a single max).

    Example:
        >>> amplitude_to_DB(ember.tensor([[1.0, 0.1, 1e-12]]), 10.0, 1e-10, 0.0, top_db=80.0)
        tensor([[  0., -10., -80.]])
    """
    x_db = multiplier * ember.log10(ember.clamp(x, min=amin))
    if db_multiplier:
        x_db = x_db - multiplier * db_multiplier
    if top_db is not None:
        shape = tuple(x_db.shape)
        channels = shape[-3] if x_db.ndim > 2 else 1
        packed = x_db.reshape(-1, channels, shape[-2], shape[-1])
        floor = (packed.amax(dim=(-3, -2, -1)) - top_db).reshape(-1, 1, 1, 1)
        x_db = ember.maximum(packed, floor).reshape(shape)
    return x_db


def DB_to_amplitude(x: Tensor, ref: float, power: float) -> Tensor:
    """``ref * (10 ** (0.1 x)) ** power`` (power 1: dB -> power, 0.5: dB -> amplitude)."""
    return ref * ember.exp(x * (0.1 * math.log(10.0) * power))
