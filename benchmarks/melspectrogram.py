"""MelSpectrogram over one minute of 16 kHz audio: Ember vs torch.stft + a matmul filterbank.

Run by hand: ``python benchmarks/melspectrogram.py [--repeats N]``. Both sides compute torchaudio's default
MelSpectrogram (n_fft=400, hop=200, periodic Hann, power 2, 128 HTK mels, reflect-padded centred frames) on
the same signal, forward only and forward + backward; the outputs are checked to agree first.
"""

from __future__ import annotations

import argparse
import time
import warnings

import ember
import numpy as np
from ember.audio import functional as F
from ember.audio import transforms as T


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--torch-threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args()
    # torchaudio's default 128 mels on 201 bins leave one empty filter and warn about it; both sides share it
    warnings.filterwarnings("ignore", message="At least one mel filterbank")

    sr = 16000
    signal = np.random.default_rng(0).standard_normal((args.batch, int(args.seconds * sr))).astype(np.float32)
    mel = T.MelSpectrogram(sr)
    x = ember.tensor(signal)
    rows = []
    ember_fwd = best_of(lambda: mel(x), args.repeats)

    def ember_fwd_bwd():
        xg = ember.tensor(signal, requires_grad=True)
        mel(xg).sum().backward()

    ember_bwd = best_of(ember_fwd_bwd, max(1, args.repeats // 2))
    rows.append(("ember MelSpectrogram", ember_fwd, ember_bwd))

    try:
        import torch
    except ImportError:
        torch = None
    print(f"MelSpectrogram of {args.batch} x {args.seconds:g} s at 16 kHz (n_fft=400, hop=200, 128 mels), "
          f"best of {args.repeats}")
    if torch is not None:
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        fb = torch.from_numpy(F.melscale_fbanks(201, 0.0, 8000.0, 128, sr).numpy())
        window = torch.hann_window(400)
        tx = torch.from_numpy(signal)

        def torch_mel(inp):
            spec = torch.stft(inp, 400, 200, window=window, center=True, pad_mode="reflect", return_complex=True)
            return (spec.abs().pow(2).transpose(-1, -2) @ fb).transpose(-1, -2)

        ref = torch_mel(tx).numpy()
        ours = mel(x).numpy()
        err = np.abs(ours - ref).max() / np.abs(ref).max()
        assert err < 1e-5, f"outputs differ (max relative error {err})"
        with torch.no_grad():
            torch_fwd = best_of(lambda: torch_mel(tx), args.repeats)

        def torch_fwd_bwd():
            tg = tx.clone().requires_grad_()
            torch_mel(tg).sum().backward()

        torch_bwd = best_of(torch_fwd_bwd, max(1, args.repeats // 2))
        rows.append((f"torch.stft + matmul ({torch.get_num_threads()} threads)", torch_fwd, torch_bwd))
        print(f"outputs agree (max relative error {err:.1e})")
    print(f"{'':45s} {'forward':>10s} {'fwd+bwd':>10s}")
    for name, fwd, bwd in rows:
        print(f"{name:45s} {fwd * 1e3:8.1f}ms {bwd * 1e3:8.1f}ms")
    if torch is not None:
        print(f"ratio ember / torch: forward {ember_fwd / torch_fwd:.2f}x, forward+backward "
              f"{ember_bwd / torch_bwd:.2f}x")


if __name__ == "__main__":
    main()
