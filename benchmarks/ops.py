"""Per-op overhead and an MLP training step, Ember side by side with PyTorch.

Run by hand: ``python benchmarks/ops.py``. Each workload runs interleaved (Ember, torch,
Ember, torch, ...) after a warm-up; the median time per step and the ratio Ember / torch are
printed. Both libraries use one thread for the small-op chain and the same thread count
for the MLP.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np


def _time(fn, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def interleaved(workloads: dict, repeats: int, rounds: int = 7) -> dict:
    for fn in workloads.values():  # warm-up
        _time(fn, max(1, repeats // 4))
    samples = {name: [] for name in workloads}
    for _ in range(rounds):
        for name, fn in workloads.items():
            samples[name].append(_time(fn, repeats))
    return {name: statistics.median(values) for name, values in samples.items()}


def op_chain(lib, n_ops: int = 200):
    """200 small elementwise ops on a (16,) tensor, then backward."""
    x = lib.ones(16, requires_grad=True)

    def step():
        y = x
        for i in range(n_ops // 4):
            y = y * 1.001
            y = y + 0.01
            y = y.tanh()
            y = y - 0.001
        y.sum().backward()
        x.grad = None

    return step


def mlp_step(lib, batch: int = 128):
    """784-512-256-10 MLP: forward, cross-entropy, backward, SGD with momentum (written out by hand)."""
    rng = np.random.default_rng(0)
    sizes = [784, 512, 256, 10]
    params = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(lib.tensor(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32), requires_grad=True))
        params.append(lib.tensor(rng.uniform(-bound, bound, fan_out).astype(np.float32), requires_grad=True))
    velocity = [np.zeros(p.shape, np.float32) for p in params]
    x = lib.tensor(rng.standard_normal((batch, 784)).astype(np.float32))
    labels = rng.integers(0, 10, batch)
    one_hot = lib.tensor(np.eye(10, dtype=np.float32)[labels])

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = h.relu()
        loss = -(one_hot * (h - h.logsumexp(1, keepdim=True))).sum() / batch
        loss.backward()
        with lib.no_grad():
            for p, v in zip(params, velocity):
                v *= 0.9
                v += p.grad.numpy()
                weights = p.detach().numpy()  # shares memory in both libraries
                weights -= 0.01 * v
                p.grad = None

    return step


def module_call_overhead(ember) -> float:
    """``layer(x)`` over ``layer.forward(x)`` for a Linear(4, 4) without hooks (was a timed test until
    2026-12-06, where it failed under load; the bar it held was 1.5)."""
    import timeit

    layer = ember.nn.Linear(4, 4)
    x = ember.randn(2, 4)
    via_call = min(timeit.repeat(lambda: layer(x), number=2000, repeat=7))
    via_forward = min(timeit.repeat(lambda: layer.forward(x), number=2000, repeat=7))
    return via_call / via_forward


def main() -> None:
    import ember

    try:
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    except ImportError:
        torch = None
    rows = []
    for name, make, repeats in [("200 small ops, fwd+bwd", op_chain, 20), ("MLP 784-512-256-10 step", mlp_step, 20)]:
        workloads = {"ember": make(ember)}
        if torch is not None:
            workloads["torch"] = make(torch)
        times = interleaved(workloads, repeats)
        ratio = times["ember"] / times["torch"] if torch is not None else float("nan")
        rows.append((name, times["ember"] * 1e3, times.get("torch", float("nan")) * 1e3, ratio))
    print(f"{'workload':<28}{'ember ms':>10}{'torch ms':>10}{'ratio':>8}")
    for name, e, t, r in rows:
        print(f"{name:<28}{e:>10.3f}{t:>10.3f}{r:>8.2f}")
    print(f"Module __call__ over forward (Linear(4, 4), no hooks): {module_call_overhead(ember):.2f} (bar: 1.5)")


if __name__ == "__main__":
    main()
