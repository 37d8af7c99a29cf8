"""Sample-by-sample loops of the filters, as numba kernels (arrays in, arrays out).

Imported on first use of a filter, never by ``import ember.audio`` (numba is heavy to load).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _iir_loop(x, a, y):  # pragma: no cover - compiled
    n_batch, n_channel, n_sample = x.shape
    n_order = a.shape[1]
    for b in range(n_batch):
        for c in range(n_channel):
            for t in range(n_sample):
                acc = x[b, c, t]
                for k in range(1, min(n_order, t + 1)):
                    acc -= a[c, k] * y[b, c, t - k]
                y[b, c, t] = acc


def iir(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``y[t] = x[t] - sum_{k >= 1} a[c, k] y[t - k]`` over ``x`` of shape ``(batch, channel, time)``;
    ``a`` is ``(channel, order + 1)`` with ``a[:, 0] == 1`` (not read)."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _iir_loop(x, np.ascontiguousarray(a, dtype=x.dtype), y)
    return y


@njit(cache=True)
def _phaser_loop(x, decay, delay_buf_len, mod_buf, out):  # pragma: no cover - compiled
    n_rows, n_sample = x.shape
    mod_len = mod_buf.shape[0]
    for r in range(n_rows):
        buf = np.zeros(delay_buf_len, dtype=x.dtype)
        delay_pos = 0
        mod_pos = 0
        for i in range(n_sample):
            idx = (delay_pos + mod_buf[mod_pos]) % delay_buf_len
            mod_pos = (mod_pos + 1) % mod_len
            delay_pos = (delay_pos + 1) % delay_buf_len
            temp = x[r, i] + buf[idx]
            buf[delay_pos] = temp * decay
            out[r, i] = temp


def phaser_loop(x: np.ndarray, decay: float, delay_buf_len: int, mod_buf: np.ndarray) -> np.ndarray:
    """The phaser's modulated feedback delay line over ``x`` ``(rows, time)`` (sox's loop)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    _phaser_loop(x, x.dtype.type(decay), delay_buf_len, np.ascontiguousarray(mod_buf, dtype=np.int64), out)
    return out


@njit(cache=True)
def _flanger_loop(x, lfo, channel_offsets, delay_buf_length, feedback_gain, in_gain, delay_gain,
                  quadratic, out):  # pragma: no cover - compiled
    n_batch, n_channel, n_sample = x.shape
    lfo_length = lfo.shape[0]
    bufs = np.zeros((n_batch, n_channel, delay_buf_length), dtype=x.dtype)
    last = np.zeros((n_batch, n_channel), dtype=x.dtype)
    buf_pos = 0
    lfo_pos = 0
    for i in range(n_sample):
        buf_pos = (buf_pos + delay_buf_length - 1) % delay_buf_length
        for c in range(n_channel):
            delay = lfo[(lfo_pos + channel_offsets[c]) % lfo_length]
            frac = delay - np.floor(delay)
            int_delay = np.int64(np.floor(delay))
            for b in range(n_batch):
                bufs[b, c, buf_pos] = x[b, c, i] + last[b, c] * feedback_gain
                d0 = bufs[b, c, (buf_pos + int_delay) % delay_buf_length]
                d1 = bufs[b, c, (buf_pos + int_delay + 1) % delay_buf_length]
                if quadratic:
                    d2 = bufs[b, c, (buf_pos + int_delay + 2) % delay_buf_length] - d0
                    d1 = d1 - d0
                    qa = d2 * 0.5 - d1
                    qb = d1 * 2 - d2 * 0.5
                    delayed = d0 + (qa * frac + qb) * frac
                else:
                    delayed = d0 + (d1 - d0) * frac
                last[b, c] = delayed
                out[b, c, i] = x[b, c, i] * in_gain + delayed * delay_gain
        lfo_pos = (lfo_pos + 1) % lfo_length


def flanger_loop(x: np.ndarray, lfo: np.ndarray, channel_offsets: np.ndarray, delay_buf_length: int,
                 feedback_gain: float, in_gain: float, delay_gain: float, quadratic: bool) -> np.ndarray:
    """The flanger's modulated delay line over ``x`` ``(batch, channel, time)`` (sox's loop)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    t = x.dtype.type
    _flanger_loop(x, np.ascontiguousarray(lfo, dtype=x.dtype), np.ascontiguousarray(channel_offsets, dtype=np.int64),
                  delay_buf_length, t(feedback_gain), t(in_gain), t(delay_gain), quadratic, out)
    return out
