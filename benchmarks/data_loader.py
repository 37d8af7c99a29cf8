"""DataLoader throughput: worker speed-up, and Ember vs ``torch.utils.data.DataLoader`` on the same dataset.

Run by hand:  python benchmarks/data_loader.py [--samples 256] [--repeats 3]

1. A dataset doing ~5 ms of (single-threaded) numpy work per sample, the shape of a real augmentation
   pipeline: Ember with num_workers=0 vs 2 (target: >= 1.7x on 2 cores), and Ember vs PyTorch with the
   same arguments (target: Ember's time within 1.1x of PyTorch's).
2. Per-sample overhead on a cheap dataset (small arrays, no work), where the loader itself is the cost.

Times include starting the workers (a fresh, non-persistent iterator per epoch, as by default).
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import ember
import numpy as np
from ember.data import DataLoader, Dataset


class NumpyWork(Dataset):
    """~5 ms of elementwise numpy per sample (elementwise ops stay on one core: no BLAS threads)."""

    def __init__(self, n: int, rounds: int):
        self.n, self.rounds = n, rounds

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        image = rng.random((3, 64, 64), dtype=np.float32)
        for _ in range(self.rounds):
            image = np.tanh(image * 1.01 + 0.1) + np.sin(image) * 0.01
        flip = random.random() < 0.5  # an augmentation drawing from the (seeded) global generator
        return (image[:, :, ::-1] if flip else image)[:, ::2, ::2].copy(), i % 10


class Cheap(Dataset):
    def __init__(self, n: int):
        self.n = n
        self.data = np.random.default_rng(0).random((n, 16), dtype=np.float32)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.data[i], i % 10


def calibrate(target_ms: float = 5.0) -> int:
    rounds = 10
    probe = NumpyWork(1, rounds)
    probe[0]
    start = time.perf_counter()
    for _ in range(5):
        probe[0]
    per_round = (time.perf_counter() - start) / 5 / rounds
    return max(1, round(target_ms / 1000 / per_round))


def time_epochs(make_loader, repeats: int) -> float:
    """Best-of-``repeats`` seconds for one full epoch (workers started inside the timing)."""
    loader = make_loader()
    for _ in loader:  # warm-up: page cache, lazy imports
        pass
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in loader:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
        import torch.utils.data as torch_data
    except ImportError:
        torch = torch_data = None

    rounds = calibrate()
    dataset = NumpyWork(args.samples, rounds)
    start = time.perf_counter()
    for i in range(20):
        dataset[i]
    per_sample = (time.perf_counter() - start) / 20 * 1000
    print(f"dataset: {args.samples} samples, {per_sample:.2f} ms of numpy work each, batch_size={args.batch_size}")

    def ember_loader(workers, ds=dataset, batch_size=args.batch_size):
        ember.manual_seed(0)
        extra = dict(multiprocessing_context="fork") if workers else {}
        return lambda: DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, **extra)

    def torch_loader(workers, ds=dataset, batch_size=args.batch_size):
        torch.manual_seed(0)
        extra = dict(multiprocessing_context="fork") if workers else {}
        return lambda: torch_data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, **extra)

    rows = []
    ember0 = time_epochs(ember_loader(0), args.repeats)
    ember2 = time_epochs(ember_loader(2), args.repeats)
    rows.append(("ember num_workers=0", ember0))
    rows.append(("ember num_workers=2", ember2))
    if torch is not None:
        torch0 = time_epochs(torch_loader(0), args.repeats)
        torch2 = time_epochs(torch_loader(2), args.repeats)
        rows.append(("torch num_workers=0", torch0))
        rows.append(("torch num_workers=2", torch2))
    for name, seconds in rows:
        print(f"  {name:22s} {seconds * 1000:8.1f} ms/epoch  {args.samples / seconds:8.1f} samples/s")
    print(f"speed-up ember num_workers=2 vs 0: {ember0 / ember2:.2f}x   (target >= 1.7x)")
    if torch is not None:
        print(f"ember / torch, num_workers=2:      {ember2 / torch2:.3f}   (target <= 1.1)")
        print(f"ember / torch, num_workers=0:      {ember0 / torch0:.3f}")

    cheap = Cheap(20_000)
    print(f"\nper-sample overhead: {len(cheap)} cheap samples (16 floats), batch_size=64")
    for workers in (0, 2):
        e = time_epochs(ember_loader(workers, cheap, 64), args.repeats)
        line = f"  num_workers={workers}: ember {e / len(cheap) * 1e6:6.1f} us/sample"
        if torch is not None:
            t = time_epochs(torch_loader(workers, cheap, 64), args.repeats)
            line += f"   torch {t / len(cheap) * 1e6:6.1f} us/sample   ember/torch {e / t:.2f}"
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
