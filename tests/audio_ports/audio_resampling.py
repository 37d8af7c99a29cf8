"""Audio resampling, after torchaudio's tutorial examples/tutorials/audio_resampling_tutorial.py (Caroline Chen,
Moto Hira): a logarithmic sine sweep in float64, ``transforms.Resample(..., dtype=waveform.dtype)`` and
``functional.resample`` with ``lowpass_filter_width`` 6 / 128, ``rolloff`` 0.99 / 0.8, the Hann and Kaiser
windows, librosa's ``kaiser_best`` / ``kaiser_fast`` settings (``beta``), and the tutorial's ``timeit``
benchmark of ``functional.resample`` against a ``transforms.Resample`` built once.

What changes: the sweep is 0.25 s instead of 1 s; librosa, resampy, pandas and the plots are left out
(the benchmark returns a dict of rows); the benchmark runs one of the tutorial's rate pairs, once per
variant (``--iters``). ``main`` returns the resampled waveforms and the timings.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import argparse
import math
import timeit

import torch
import torchaudio
import torchaudio.functional as F
import torchaudio.transforms as T

DEFAULT_OFFSET = 201


def _get_log_freq(sample_rate, max_sweep_rate, offset):
    """Get freqs evenly spaced out in log-scale, between [0, max_sweep_rate // 2]

    offset is used to avoid negative infinity `log(offset + x)`.

    """
    start, stop = math.log(offset), math.log(offset + max_sweep_rate // 2)
    return torch.exp(torch.linspace(start, stop, sample_rate, dtype=torch.double)) - offset


def get_sine_sweep(sample_rate, offset=DEFAULT_OFFSET, seconds=1.0):
    max_sweep_rate = sample_rate
    freq = _get_log_freq(int(sample_rate * seconds), max_sweep_rate, offset)
    delta = 2 * math.pi * freq / sample_rate
    cummulative = torch.cumsum(delta, dim=0)
    signal = torch.sin(cummulative).unsqueeze(dim=0)
    return signal


def benchmark_resample_functional(
    waveform,
    sample_rate,
    resample_rate,
    lowpass_filter_width=6,
    rolloff=0.99,
    resampling_method="sinc_interp_hann",
    beta=None,
    iters=5,
):
    return (
        timeit.timeit(
            stmt="""
torchaudio.functional.resample(
    waveform,
    sample_rate,
    resample_rate,
    lowpass_filter_width=lowpass_filter_width,
    rolloff=rolloff,
    resampling_method=resampling_method,
    beta=beta,
)
        """,
            setup="import torchaudio",
            number=iters,
            globals=locals(),
        )
        * 1000
        / iters
    )


def benchmark_resample_transforms(
    waveform,
    sample_rate,
    resample_rate,
    lowpass_filter_width=6,
    rolloff=0.99,
    resampling_method="sinc_interp_hann",
    beta=None,
    iters=5,
):
    return (
        timeit.timeit(
            stmt="resampler(waveform)",
            setup="""
import torchaudio

resampler = torchaudio.transforms.Resample(
    sample_rate,
    resample_rate,
    lowpass_filter_width=lowpass_filter_width,
    rolloff=rolloff,
    resampling_method=resampling_method,
    dtype=waveform.dtype,
    beta=beta,
)
resampler.to(waveform.device)
        """,
            number=iters,
            globals=locals(),
        )
        * 1000
        / iters
    )


def benchmark(sample_rate, resample_rate, seconds=1.0, iters=5):
    times, rows = [], []
    waveform = get_sine_sweep(sample_rate, seconds=seconds).to(torch.float32)

    args = (waveform, sample_rate, resample_rate)

    # sinc 64 zero-crossings
    f_time = benchmark_resample_functional(*args, lowpass_filter_width=64, iters=iters)
    t_time = benchmark_resample_transforms(*args, lowpass_filter_width=64, iters=iters)
    times.append([None, f_time, t_time])
    rows.append("sinc (width 64)")

    # sinc 6 zero-crossings
    f_time = benchmark_resample_functional(*args, lowpass_filter_width=16, iters=iters)
    t_time = benchmark_resample_transforms(*args, lowpass_filter_width=16, iters=iters)
    times.append([None, f_time, t_time])
    rows.append("sinc (width 16)")

    # kaiser best
    kwargs = {
        "lowpass_filter_width": 64,
        "rolloff": 0.9475937167399596,
        "resampling_method": "sinc_interp_kaiser",
        "beta": 14.769656459379492,
    }
    f_time = benchmark_resample_functional(*args, **kwargs, iters=iters)
    t_time = benchmark_resample_transforms(*args, **kwargs, iters=iters)
    times.append([None, f_time, t_time])
    rows.append("kaiser_best")

    # kaiser fast
    kwargs = {
        "lowpass_filter_width": 16,
        "rolloff": 0.85,
        "resampling_method": "sinc_interp_kaiser",
        "beta": 8.555504641634386,
    }
    f_time = benchmark_resample_functional(*args, **kwargs, iters=iters)
    t_time = benchmark_resample_transforms(*args, **kwargs, iters=iters)
    times.append([None, f_time, t_time])
    rows.append("kaiser_fast")

    return {row: dict(zip(["librosa", "functional", "transforms"], t)) for row, t in zip(rows, times)}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Audio resampling")
    parser.add_argument("--seconds", type=float, default=0.25)
    parser.add_argument("--iters", type=int, default=1)
    parser.add_argument("--benchmark", nargs=2, type=int, default=[16_000, 8_000])
    args = parser.parse_args(argv)
    results = {}

    sample_rate = 48000
    waveform = get_sine_sweep(sample_rate, seconds=args.seconds)
    results["sweep"] = waveform.numpy()

    resample_rate = 32000
    resampler = T.Resample(sample_rate, resample_rate, dtype=waveform.dtype)
    resampled_waveform = resampler(waveform)
    results["Resample"] = resampled_waveform.numpy()

    # Lowpass filter width
    resampled_waveform = F.resample(waveform, sample_rate, resample_rate, lowpass_filter_width=6)
    results["lowpass_filter_width=6"] = resampled_waveform.numpy()
    resampled_waveform = F.resample(waveform, sample_rate, resample_rate, lowpass_filter_width=128)
    results["lowpass_filter_width=128"] = resampled_waveform.numpy()

    # Rolloff
    resampled_waveform = F.resample(waveform, sample_rate, resample_rate, rolloff=0.99)
    results["rolloff=0.99"] = resampled_waveform.numpy()
    resampled_waveform = F.resample(waveform, sample_rate, resample_rate, rolloff=0.8)
    results["rolloff=0.8"] = resampled_waveform.numpy()

    # Window function
    resampled_waveform = F.resample(waveform, sample_rate, resample_rate, resampling_method="sinc_interp_hann")
    results["Hann Window Default"] = resampled_waveform.numpy()
    resampled_waveform = F.resample(waveform, sample_rate, resample_rate, resampling_method="sinc_interp_kaiser")
    results["Kaiser Window Default"] = resampled_waveform.numpy()

    # kaiser_best
    resampled_waveform = F.resample(
        waveform,
        sample_rate,
        resample_rate,
        lowpass_filter_width=64,
        rolloff=0.9475937167399596,
        resampling_method="sinc_interp_kaiser",
        beta=14.769656459379492,
    )
    results["kaiser_best"] = resampled_waveform.numpy()

    # kaiser_fast
    resampled_waveform = F.resample(
        waveform,
        sample_rate,
        resample_rate,
        lowpass_filter_width=16,
        rolloff=0.85,
        resampling_method="sinc_interp_kaiser",
        beta=8.555504641634386,
    )
    results["kaiser_fast"] = resampled_waveform.numpy()

    # Performance Benchmarking
    print(f"torchaudio: {torchaudio.__version__}")
    df = benchmark(*args.benchmark, seconds=args.seconds, iters=args.iters)
    print(df)
    results["benchmark"] = df
    return results
