"""Optimizer step time and checkpoint save/load, Ember side by side with PyTorch.

Run by hand: ``python benchmarks/optim.py``. Each optimizer steps over the same parameters
(a small MLP's worth: 4 tensors, ~1.1 M float32 values, and a many-small-tensors case: 200
tensors of 1000 values). torch runs its default CPU implementation (per-tensor loop, as
``foreach`` is off on CPU). Median seconds per step and the ratio Ember / torch are printed;
then ``ember.save``/``ember.load`` vs ``torch.save``/``torch.load`` on a 100 MB state dict.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np

SHAPES_LARGE = [(1024, 784), (1024,), (256, 1024), (256,)]
SHAPES_SMALL = [(1000,)] * 200
CASES = [("SGD", dict(lr=0.01, momentum=0.9)), ("Adam", dict(lr=1e-3)), ("AdamW", dict(lr=1e-3)),
         ("RMSprop", dict(lr=1e-3)), ("Adagrad", dict(lr=1e-2)), ("NAdam", dict()), ("RAdam", dict()),
         ("Adafactor", dict())]


def _median_time(fn, repeats: int = 10, rounds: int = 5) -> float:
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        samples.append((time.perf_counter() - start) / repeats)
    return statistics.median(samples)


def bench_optimizers(shapes, label: str) -> None:
    import torch

    import ember

    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    print(f"\n{label}: {len(shapes)} tensors, {sum(a.size for a in init):,} values")
    print(f"{'optimizer':<12}{'ember ms':>10}{'torch ms':>10}{'ratio':>8}")
    for name, kwargs in CASES:
        ours = [ember.tensor(a, requires_grad=True) for a in init]
        for p, g in zip(ours, grads):
            p.grad = ember.tensor(g)
        theirs = [torch.tensor(a, requires_grad=True) for a in init]
        for p, g in zip(theirs, grads):
            p.grad = torch.tensor(g)
        opt_e = getattr(ember.optim, name)(ours, **kwargs)
        opt_t = getattr(torch.optim, name)(theirs, **kwargs)
        t_e, t_t = _median_time(opt_e.step), _median_time(opt_t.step)
        print(f"{name:<12}{t_e * 1e3:>10.2f}{t_t * 1e3:>10.2f}{t_e / t_t:>8.2f}")


def bench_checkpoint() -> None:
    import torch

    import ember

    rng = np.random.default_rng(0)
    arrays = {f"layer{i}.weight": rng.standard_normal((1024, 1024)).astype(np.float32) for i in range(25)}
    ours = {k: ember.tensor(v) for k, v in arrays.items()}
    theirs = {k: torch.from_numpy(v) for k, v in arrays.items()}
    with tempfile.TemporaryDirectory() as folder:
        path_e, path_t = os.path.join(folder, "e.ember"), os.path.join(folder, "t.pt")
        save_e = _median_time(lambda: ember.save(ours, path_e), repeats=1)
        save_t = _median_time(lambda: torch.save(theirs, path_t), repeats=1)
        load_e = _median_time(lambda: ember.load(path_e), repeats=1)
        load_t = _median_time(lambda: torch.load(path_t), repeats=1)
    print("\ncheckpoint of 100 MB (25 x 1024x1024 float32)")
    print(f"{'':<12}{'ember ms':>10}{'torch ms':>10}{'ratio':>8}")
    print(f"{'save':<12}{save_e * 1e3:>10.1f}{save_t * 1e3:>10.1f}{save_e / save_t:>8.2f}   (ember fsyncs, torch does not)")
    print(f"{'load':<12}{load_e * 1e3:>10.1f}{load_t * 1e3:>10.1f}{load_e / load_t:>8.2f}")


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    bench_optimizers(SHAPES_LARGE, "MLP-sized parameters")
    bench_optimizers(SHAPES_SMALL, "many small tensors")
    bench_checkpoint()
