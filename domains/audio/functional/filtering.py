"""IIR filtering and sox-style effects (``torchaudio.functional``'s filtering functions, names and numbers).

``lfilter`` is differentiable with respect to the waveform and both coefficient vectors, as torchaudio's:
the numerator is an FIR stage built from Ember ops, the denominator an ``autograd.Function`` whose
forward is a numba loop and whose backward runs the same filter on the time-reversed gradient
(Forgione et al. 2021, "dynoNet"; Yu et al. 2023). The biquad family computes its coefficients with
Ember ops, so a cutoff frequency, Q or gain given as a tensor that requires grad gets a gradient too.
"""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor
from ember.autograd import Function


class _IIR(Function):
    """All-pole stage: ``y[t] = x[t] - sum_{k >= 1} a[c, k] y[t - k]``, ``x`` ``(batch, channel, time)``,
    ``a`` ``(channel, order + 1)`` normalized so that ``a[:, 0] == 1``."""

    @staticmethod
    def forward(ctx, x, a):
        from ._kernels import iir  # lazy: numba

        ctx.save_for_backward(x, a)
        return ember.from_numpy(iir(x.numpy(force=True), a.numpy(force=True)))

    @staticmethod
    def backward(ctx, grad):
        x, a = ctx.saved_tensors
        # The filter's transpose is the same filter run backwards in time.
        grad_x = _IIR.apply(grad.flip(-1), a).flip(-1)
        grad_a = None
        if ctx.needs_input_grad[1]:
            y = _IIR.apply(x, a)
            n_sample = y.shape[-1]
            # d y / d a[c, k] feeds back -y[t - k]: grad_a[c, k] = -sum_{b, t} grad_x[b, c, t] y[b, c, t - k]
            columns = [-(grad_x[..., k:] * y[..., : n_sample - k]).sum((0, 2)) for k in range(a.shape[1])]
            grad_a = ember.stack(columns, dim=1)
        return (grad_x if ctx.needs_input_grad[0] else None), grad_a


def _fir(x: Tensor, b: Tensor) -> Tensor:
    """``y[t] = sum_k b[c, k] x[t - k]`` over ``x`` ``(batch, channel, time)``, ``b`` ``(channel, order + 1)``."""
    n_order, n_sample = b.shape[1], x.shape[-1]
    padded = ember.nn.functional.pad(x, (n_order - 1, 0))
    out = None
    for k in range(n_order):
        term = b[:, k : k + 1] * padded[..., n_order - 1 - k : n_order - 1 - k + n_sample]
        out = term if out is None else out + term
    return out


def lfilter(waveform: Tensor, a_coeffs: Tensor, b_coeffs: Tensor, clamp: bool = True,
            batching: bool = True) -> Tensor:
    """IIR filter by its difference equation ``a0 y[t] = sum_k b[k] x[t - k] - sum_{k >= 1} a[k] y[t - k]``.

    Args:
        waveform: ``(..., time)``.
        a_coeffs, b_coeffs: denominator and numerator, ``(order + 1,)`` or ``(num_filters, order + 1)``,
            lowest delay first, of the same size.
        clamp: clamp the output to [-1, 1].
        batching: with 2D coefficients, filter ``waveform[..., i, :]`` with filter ``i`` (the second-to-last
            dim must be ``num_filters``); if False, apply every filter to the whole waveform, giving
            ``(..., num_filters, time)``.

    Example:
        >>> x = ember.tensor([1.0, 0.0, 0.0, 0.0])
        >>> lfilter(x, ember.tensor([1.0, -0.5]), ember.tensor([1.0, 0.0]))
        tensor([1.0000, 0.5000, 0.2500, 0.1250])
    """
    if tuple(a_coeffs.shape) != tuple(b_coeffs.shape):
        raise ValueError(f"Expected coeffs to be the same size. Found: a_coeffs size: {tuple(a_coeffs.shape)}, "
                         f"b_coeffs size: {tuple(b_coeffs.shape)}")
    if a_coeffs.ndim > 2:
        raise ValueError(f"Expected coeffs to have at most 2 dimensions. Found: {a_coeffs.ndim}")
    if not waveform.is_floating_point():
        raise TypeError(f"lfilter expects a floating point waveform, got dtype {waveform.dtype}")
    if a_coeffs.dtype != waveform.dtype:
        a_coeffs, b_coeffs = a_coeffs.to(waveform.dtype), b_coeffs.to(waveform.dtype)
    if a_coeffs.ndim > 1:
        if batching:
            if waveform.ndim < 2 or waveform.shape[-2] != a_coeffs.shape[0]:
                raise ValueError(f"Expected number of batches in waveform and coeffs to be the same. Found: coeffs "
                                 f"batches: {a_coeffs.shape[0]}, waveform shape: {tuple(waveform.shape)}")
        else:
            waveform = ember.stack([waveform] * a_coeffs.shape[0], dim=-2)
    else:
        a_coeffs, b_coeffs = a_coeffs.unsqueeze(0), b_coeffs.unsqueeze(0)
    shape = tuple(waveform.shape)
    packed = waveform.reshape(-1, a_coeffs.shape[0], shape[-1])
    a0 = a_coeffs[:, 0:1]
    output = _IIR.apply(_fir(packed, b_coeffs / a0), a_coeffs / a0)
    if clamp:
        output = output.clamp(-1.0, 1.0)
    return output.reshape(shape)


def filtfilt(waveform: Tensor, a_coeffs: Tensor, b_coeffs: Tensor, clamp: bool = True) -> Tensor:
    """Zero-phase filtering: :func:`lfilter` forwards, then backwards in time (``torchaudio.functional.filtfilt``).

    Example:
        >>> filtfilt(ember.randn(2, 100) * 0.1, ember.tensor([1.0, -0.9]), ember.tensor([0.1, 0.0])).shape
        ember.Size([2, 100])
    """
    forward = lfilter(waveform, a_coeffs, b_coeffs, clamp=False, batching=True)
    return lfilter(forward.flip(-1), a_coeffs, b_coeffs, clamp=clamp, batching=True).flip(-1)


def _scalar(value, dtype) -> Tensor:
    """A 0-d tensor of ``dtype`` (a tensor given keeps its graph)."""
    if isinstance(value, Tensor):
        value = value.reshape(())
        return value if value.dtype == dtype else value.to(dtype)
    return ember.tensor(float(value), dtype=dtype)


def biquad(waveform: Tensor, b0, b1, b2, a0, a1, a2) -> Tensor:
    """Second-order IIR filter with the given coefficients (floats or 0-d tensors), output clamped to [-1, 1].

    Example:
        >>> biquad(ember.tensor([1.0, 0.0, 0.0]), 1.0, 0.0, 0.0, 1.0, -0.5, 0.0)
        tensor([1.0000, 0.5000, 0.2500])
    """
    dtype = waveform.dtype
    a = ember.stack([_scalar(v, dtype) for v in (a0, a1, a2)])
    b = ember.stack([_scalar(v, dtype) for v in (b0, b1, b2)])
    return lfilter(waveform, a, b)


def _w0_alpha(sample_rate: int, freq, Q, dtype) -> tuple[Tensor, Tensor]:
    w0 = _scalar(freq, dtype) * (2 * math.pi / sample_rate)
    return w0, ember.sin(w0) / 2 / _scalar(Q, dtype)


def allpass_biquad(waveform: Tensor, sample_rate: int, central_freq: float, Q: float = 0.707) -> Tensor:
    """Two-pole all-pass filter (RBJ Audio EQ Cookbook), as sox's ``allpass``."""
    w0, alpha = _w0_alpha(sample_rate, central_freq, Q, waveform.dtype)
    cos = ember.cos(w0)
    return biquad(waveform, 1 - alpha, -2 * cos, 1 + alpha, 1 + alpha, -2 * cos, 1 - alpha)


def band_biquad(waveform: Tensor, sample_rate: int, central_freq: float, Q: float = 0.707,
                noise: bool = False) -> Tensor:
    """Two-pole band filter (sox's ``band``); ``noise=True`` is the mode for unpitched audio."""
    dtype = waveform.dtype
    central_freq = _scalar(central_freq, dtype)
    w0 = central_freq * (2 * math.pi / sample_rate)
    bw_hz = central_freq / _scalar(Q, dtype)
    a2 = ember.exp(bw_hz * (-2 * math.pi / sample_rate))
    a1 = -4 * a2 / (1 + a2) * ember.cos(w0)
    b0 = ember.sqrt(1 - a1 * a1 / (4 * a2)) * (1 - a2)
    if noise:
        b0 = ember.sqrt(((1 + a2) * (1 + a2) - a1 * a1) * (1 - a2) / (1 + a2)) / b0 * b0
    return biquad(waveform, b0, 0.0, 0.0, 1.0, a1, a2)


def bandpass_biquad(waveform: Tensor, sample_rate: int, central_freq: float, Q: float = 0.707,
                    const_skirt_gain: bool = False) -> Tensor:
    """Two-pole band-pass filter (RBJ); constant skirt gain (peak gain Q) or constant 0 dB peak gain."""
    w0, alpha = _w0_alpha(sample_rate, central_freq, Q, waveform.dtype)
    temp = ember.sin(w0) / 2 if const_skirt_gain else alpha
    return biquad(waveform, temp, 0.0, -temp, 1 + alpha, -2 * ember.cos(w0), 1 - alpha)


def bandreject_biquad(waveform: Tensor, sample_rate: int, central_freq: float, Q: float = 0.707) -> Tensor:
    """Two-pole band-reject (notch) filter (RBJ)."""
    w0, alpha = _w0_alpha(sample_rate, central_freq, Q, waveform.dtype)
    cos = ember.cos(w0)
    return biquad(waveform, 1.0, -2 * cos, 1.0, 1 + alpha, -2 * cos, 1 - alpha)


def _shelf(A: Tensor, w0: Tensor, alpha: Tensor, sign: float):
    """RBJ shelving coefficients: ``sign=-1`` low shelf (bass), ``+1`` high shelf (treble)."""
    temp1 = 2 * ember.sqrt(A) * alpha
    temp2 = (A - 1) * ember.cos(w0)
    temp3 = (A + 1) * ember.cos(w0)
    b0 = A * ((A + 1) + sign * temp2 + temp1)
    b1 = -2 * sign * A * ((A - 1) + sign * temp3)
    b2 = A * ((A + 1) + sign * temp2 - temp1)
    a0 = (A + 1) - sign * temp2 + temp1
    a1 = 2 * sign * ((A - 1) - sign * temp3)
    a2 = (A + 1) - sign * temp2 - temp1
    return b0, b1, b2, a0, a1, a2


def bass_biquad(waveform: Tensor, sample_rate: int, gain: float, central_freq: float = 100,
                Q: float = 0.707) -> Tensor:
    """Low-shelf filter boosting or cutting the bass by ``gain`` dB (sox's ``bass``)."""
    dtype = waveform.dtype
    w0, alpha = _w0_alpha(sample_rate, central_freq, Q, dtype)
    A = ember.exp(_scalar(gain, dtype) * (math.log(10) / 40))
    b0, b1, b2, a0, a1, a2 = _shelf(A, w0, alpha, -1.0)
    return biquad(waveform, b0 / a0, b1 / a0, b2 / a0, a0 / a0, a1 / a0, a2 / a0)


def treble_biquad(waveform: Tensor, sample_rate: int, gain: float, central_freq: float = 3000,
                  Q: float = 0.707) -> Tensor:
    """High-shelf filter boosting or cutting the treble by ``gain`` dB (sox's ``treble``)."""
    dtype = waveform.dtype
    w0, alpha = _w0_alpha(sample_rate, central_freq, Q, dtype)
    A = ember.exp(_scalar(gain, dtype) * (math.log(10) / 40))
    return biquad(waveform, *_shelf(A, w0, alpha, 1.0))


def equalizer_biquad(waveform: Tensor, sample_rate: int, center_freq: float, gain: float,
                     Q: float = 0.707) -> Tensor:
    """Peaking equalizer: ``gain`` dB at ``center_freq`` (RBJ)."""
    dtype = waveform.dtype
    w0, alpha = _w0_alpha(sample_rate, center_freq, Q, dtype)
    A = ember.exp(_scalar(gain, dtype) * (math.log(10) / 40))
    cos = ember.cos(w0)
    return biquad(waveform, 1 + alpha * A, -2 * cos, 1 - alpha * A, 1 + alpha / A, -2 * cos, 1 - alpha / A)


def highpass_biquad(waveform: Tensor, sample_rate: int, cutoff_freq: float, Q: float = 0.707) -> Tensor:
    """Two-pole high-pass filter (RBJ).

    Example:
        >>> highpass_biquad(ember.randn(2, 1000) * 0.1, 16000, 1000.0).shape
        ember.Size([2, 1000])
    """
    w0, alpha = _w0_alpha(sample_rate, cutoff_freq, Q, waveform.dtype)
    cos = ember.cos(w0)
    return biquad(waveform, (1 + cos) / 2, -1 - cos, (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha)


def lowpass_biquad(waveform: Tensor, sample_rate: int, cutoff_freq: float, Q: float = 0.707) -> Tensor:
    """Two-pole low-pass filter (RBJ).

    Example:
        >>> lowpass_biquad(ember.randn(2, 1000) * 0.1, 16000, 1000.0).shape
        ember.Size([2, 1000])
    """
    w0, alpha = _w0_alpha(sample_rate, cutoff_freq, Q, waveform.dtype)
    cos = ember.cos(w0)
    return biquad(waveform, (1 - cos) / 2, 1 - cos, (1 - cos) / 2, 1 + alpha, -2 * cos, 1 - alpha)


def deemph_biquad(waveform: Tensor, sample_rate: int) -> Tensor:
    """ISO 908 CD de-emphasis (a treble cut), for 44.1 kHz or 48 kHz audio (sox's ``deemph``)."""
    if sample_rate == 44100:
        central_freq, width_slope, gain = 5283, 0.4845, -9.477
    elif sample_rate == 48000:
        central_freq, width_slope, gain = 5356, 0.479, -9.62
    else:
        raise ValueError(f"Sample rate must be 44100 (audio-CD) or 48000 (DAT), got {sample_rate}")
    w0 = 2 * math.pi * central_freq / sample_rate
    A = math.exp(gain / 40.0 * math.log(10))
    alpha = math.sin(w0) / 2 * math.sqrt((A + 1 / A) * (1 / width_slope - 1) + 2)
    temp1, temp2, temp3 = 2 * math.sqrt(A) * alpha, (A - 1) * math.cos(w0), (A + 1) * math.cos(w0)
    return biquad(waveform, A * ((A + 1) + temp2 + temp1), -2 * A * ((A - 1) + temp3), A * ((A + 1) + temp2 - temp1),
                  (A + 1) - temp2 + temp1, 2 * ((A - 1) - temp3), (A + 1) - temp2 - temp1)


_RIAA = {  # sample rate -> (zeros, poles)
    44100: ((-0.2014898, 0.9233820), (0.7083149, 0.9924091)),
    48000: ((-0.1766069, 0.9321590), (0.7396325, 0.9931330)),
    88200: ((-0.1168735, 0.9648312), (0.8590646, 0.9964002)),
    96000: ((-0.1141486, 0.9676817), (0.8699137, 0.9966946)),
}


def riaa_biquad(waveform: Tensor, sample_rate: int) -> Tensor:
    """RIAA vinyl playback equalization, normalized to 0 dB at 1 kHz (sox's ``riaa``)."""
    if sample_rate not in _RIAA:
        raise ValueError(f"Sample rate must be 44.1k, 48k, 88.2k, or 96k, got {sample_rate}")
    zeros, poles = _RIAA[sample_rate]
    b0, b1, b2 = 1.0, -(zeros[0] + zeros[1]), zeros[0] * zeros[1]
    a0, a1, a2 = 1.0, -(poles[0] + poles[1]), poles[0] * poles[1]
    y = 2 * math.pi * 1000 / sample_rate
    b_re = b0 + b1 * math.cos(-y) + b2 * math.cos(-2 * y)
    a_re = a0 + a1 * math.cos(-y) + a2 * math.cos(-2 * y)
    b_im = b1 * math.sin(-y) + b2 * math.sin(-2 * y)
    a_im = a1 * math.sin(-y) + a2 * math.sin(-2 * y)
    g = 1 / math.sqrt((b_re**2 + b_im**2) / (a_re**2 + a_im**2))
    return biquad(waveform, b0 * g, b1 * g, b2 * g, a0, a1, a2)


def contrast(waveform: Tensor, enhancement_amount: float = 75.0) -> Tensor:
    """Makes audio sound louder, like a compressor: ``sin(x pi/2 + c sin(x 2 pi))``, ``c = amount / 750``."""
    if not 0 <= enhancement_amount <= 100:
        raise ValueError(f"Allowed range of values for enhancement_amount : 0-100, got {enhancement_amount}")
    temp1 = waveform * (math.pi / 2)
    return ember.sin(temp1 + ember.sin(temp1 * 4) * (enhancement_amount / 750.0))


def dcshift(waveform: Tensor, shift: float, limiter_gain: float | None = None) -> Tensor:
    """Adds a DC ``shift`` (in [-2, 2]); with ``limiter_gain`` (well below 1), peaks past the limiter
    threshold are compressed instead of clipped (sox's ``dcshift``)."""
    if limiter_gain is None or shift == 0:
        return (waveform + shift).clamp(-1, 1)
    threshold = 1.0 - (abs(shift) - limiter_gain)
    plain = (waveform + shift).clamp(-1, 1)
    if shift > 0:
        mask = waveform > threshold
        limited = ((waveform - threshold) * limiter_gain / (1 - threshold) + threshold + shift).clamp(max=threshold)
    else:
        mask = waveform < -threshold
        limited = ((waveform + threshold) * limiter_gain / (1 - threshold) - threshold + shift).clamp(min=-threshold)
    return ember.where(mask, limited, plain)


def _db_to_linear(x: float) -> float:
    return math.exp(x * math.log(10) / 20.0)


def overdrive(waveform: Tensor, gain: float = 20, colour: float = 20) -> Tensor:
    """Non-linear distortion (sox's ``overdrive``): a soft clipper ``t - t^3 / 3`` on ``x * gain + colour``,
    DC-blocked by ``y[t] = s[t] - s[t-1] + 0.995 y[t-1]``, mixed as ``0.5 x + 0.75 y``, clamped to [-1, 1]."""
    temp = waveform * _db_to_linear(gain) + colour / 200
    temp = ember.where(temp < -1, ember.full_like(temp, -2.0 / 3.0),
                       ember.where(temp > 1, ember.full_like(temp, 2.0 / 3.0), temp - temp**3 * (1.0 / 3)))
    dtype = waveform.dtype
    dc_blocked = lfilter(temp, ember.tensor([1.0, -0.995], dtype=dtype), ember.tensor([1.0, -1.0], dtype=dtype),
                         clamp=False)
    return (waveform * 0.5 + dc_blocked * 0.75).clamp(-1, 1)


def _wave_table(wave_type: str, table_size: int, low: float, high: float, phase: float) -> np.ndarray:
    """sox's modulation table: a sine or triangle between ``low`` and ``high`` (float64)."""
    point = (np.arange(table_size) + int(phase / math.pi / 2 * table_size + 0.5)) % table_size
    if wave_type == "SINE":
        d = (np.sin(point / table_size * 2 * math.pi) + 1) / 2
    else:
        d = point * 2.0 / table_size
        quarter = (4 * point) // table_size
        d = np.where(quarter == 0, d + 0.5, np.where(quarter == 3, d - 1.5, 1.5 - d))
    return d * (high - low) + low


def phaser(waveform: Tensor, sample_rate: int, gain_in: float = 0.4, gain_out: float = 0.74,
           delay_ms: float = 3.0, decay: float = 0.4, mod_speed: float = 0.5, sinusoidal: bool = True) -> Tensor:
    """Phaser (sox's ``phaser``): the signal plus a feedback delay line whose length is swept by a sine or
    triangle at ``mod_speed`` Hz. Runs on arrays (not differentiable)."""
    shape = tuple(waveform.shape)
    x = waveform.numpy(force=True).reshape(-1, shape[-1])
    delay_buf_len = int(delay_ms * 0.001 * sample_rate + 0.5)
    mod_buf_len = int(sample_rate / mod_speed + 0.5)
    table = _wave_table("SINE" if sinusoidal else "TRIANGLE", mod_buf_len, 1.0, float(delay_buf_len), math.pi / 2)
    mod_buf = np.where(table < 0, table - 0.5, table + 0.5).astype(np.int32).astype(np.int64)
    from ._kernels import phaser_loop  # lazy: numba

    out = phaser_loop(x * x.dtype.type(gain_in), decay, delay_buf_len, mod_buf) * x.dtype.type(gain_out)
    return ember.from_numpy(np.clip(out, -1, 1).reshape(shape))


def flanger(waveform: Tensor, sample_rate: int, delay: float = 0.0, depth: float = 2.0, regen: float = 0.0,
            width: float = 71.0, speed: float = 0.5, phase: float = 25.0, modulation: str = "sinusoidal",
            interpolation: str = "linear") -> Tensor:
    """Flanger (sox's ``flanger``) on ``(..., channel, time)`` with at most 4 channels: a short delay swept by
    a low-frequency oscillator, mixed with the input. Runs on arrays (not differentiable)."""
    if modulation not in ("sinusoidal", "triangular"):
        raise ValueError(f'Only "sinusoidal" or "triangular" modulation allowed, got {modulation!r}')
    if interpolation not in ("linear", "quadratic"):
        raise ValueError(f'Only "linear" or "quadratic" interpolation allowed, got {interpolation!r}')
    shape = tuple(waveform.shape)
    if len(shape) < 2 or shape[-2] > 4:
        raise ValueError(f"flanger expects (..., channel, time) with at most 4 channels, got shape {shape}")
    x = waveform.numpy(force=True).reshape(-1, shape[-2], shape[-1])
    feedback_gain, delay_gain, channel_phase = regen / 100, width / 100, phase / 100
    delay_min, delay_depth = delay / 1000, depth / 1000
    in_gain = 1.0 / (1 + delay_gain)
    delay_gain = delay_gain / (1 + delay_gain) * (1 - abs(feedback_gain))
    delay_buf_length = int((delay_min + delay_depth) * sample_rate + 0.5) + 2
    lfo_length = int(sample_rate / speed)
    table_min = math.floor(delay_min * sample_rate + 0.5)
    lfo = _wave_table("SINE" if modulation == "sinusoidal" else "TRIANGLE", lfo_length, float(table_min),
                      delay_buf_length - 2.0, 3 * math.pi / 2).astype(np.float32)
    offsets = (np.arange(shape[-2]) * lfo_length * channel_phase + 0.5).astype(np.int64)
    from ._kernels import flanger_loop  # lazy: numba

    out = flanger_loop(x, lfo, offsets, delay_buf_length, feedback_gain, in_gain, delay_gain,
                       interpolation == "quadratic")
    return ember.from_numpy(np.clip(out, -1, 1).reshape(shape))


__all__ = ["allpass_biquad", "band_biquad", "bandpass_biquad", "bandreject_biquad", "bass_biquad", "biquad",
           "contrast", "dcshift", "deemph_biquad", "equalizer_biquad", "filtfilt", "flanger", "highpass_biquad",
           "lfilter", "lowpass_biquad", "overdrive", "phaser", "riaa_biquad", "treble_biquad"]
