"""conv2d / max_pool2d / batch_norm / cross_entropy forward+backward: Ember vs PyTorch (CPU).

Run: ``python benchmarks/conv.py [--threads N]`` (torch must be installed). Prints the best of
20 runs of each case for both libraries and the ratio Ember / PyTorch. Both use the same number
of threads (numpy's BLAS threads by default; ``--threads`` sets BLAS, numba and torch alike and must
come before numpy is imported, which this script takes care of). The best-of-N time is reported
because a shared machine's load only ever adds time. ``--cpu-time`` measures process CPU time
instead of wall time (meaningful with ``--threads 1`` on a busy machine).
"""

from __future__ import annotations

import os
import sys
import time

if "--threads" in sys.argv:  # before numpy / numba load their thread pools
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np  # noqa: E402


CLOCK = time.process_time if "--cpu-time" in sys.argv else time.perf_counter


def _threads() -> int:
    if "--threads" in sys.argv:
        return int(sys.argv[sys.argv.index("--threads") + 1])
    try:
        from threadpoolctl import threadpool_info

        return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    except Exception:
        return os.cpu_count() or 1


def _best_ms(fn, repeats: int = 20, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return float(np.min(times)) * 1e3


def _case(name, ember_fn, torch_fn, rows):
    ours, theirs = _best_ms(ember_fn), _best_ms(torch_fn)
    rows.append((name, ours, theirs))
    print(f"{name:<48} ember {ours:8.2f} ms   torch {theirs:8.2f} ms   ratio {ours / theirs:5.2f}", flush=True)


def main() -> None:
    import torch

    import ember
    from ember.nn import functional as F

    torch.set_num_threads(_threads())
    print(f"threads: {torch.get_num_threads()}")
    rng = np.random.default_rng(0)
    rows = []

    def pair(*shape):
        a = rng.standard_normal(shape).astype(np.float32)
        return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)

    conv_cases = [
        ("LeNet conv1 64x1x28x28 -> 6 k5", (64, 1, 28, 28), (6, 1, 5, 5), {}),
        ("LeNet conv2 64x6x12x12 -> 16 k5", (64, 6, 12, 12), (16, 6, 5, 5), {}),
        ("ResNet conv 64x16x32x32 -> 16 k3 p1", (64, 16, 32, 32), (16, 16, 3, 3), {"padding": 1}),
        ("ResNet conv 64x16x32x32 -> 32 k3 s2 p1", (64, 16, 32, 32), (32, 16, 3, 3), {"padding": 1, "stride": 2}),
        ("ResNet conv 64x32x16x16 -> 32 k3 p1", (64, 32, 16, 16), (32, 32, 3, 3), {"padding": 1}),
        ("ResNet conv 64x64x8x8 -> 64 k3 p1", (64, 64, 8, 8), (64, 64, 3, 3), {"padding": 1}),
        ("depthwise 64x32x16x16 k3 p1 groups=32", (64, 32, 16, 16), (32, 1, 3, 3), {"padding": 1, "groups": 32}),
    ]
    for name, xs, ws, kw in conv_cases:
        (xe, xt), (we, wt), (be, bt) = pair(*xs), pair(*ws), pair(ws[0])

        def ember_step(xe=xe, we=we, be=be, kw=kw):
            xe.grad = we.grad = be.grad = None
            F.conv2d(xe, we, be, **kw).sum().backward()

        def torch_step(xt=xt, wt=wt, bt=bt, kw=kw):
            xt.grad = wt.grad = bt.grad = None
            torch.nn.functional.conv2d(xt, wt, bt, **kw).sum().backward()

        _case("conv2d fwd+bwd " + name, ember_step, torch_step, rows)

    for name, shape, k in [("64x6x24x24 k2", (64, 6, 24, 24), 2), ("64x16x32x32 k3 s2 p1", (64, 16, 32, 32), 3)]:
        xe, xt = pair(*shape)
        kw = {"stride": 2, "padding": 1} if k == 3 else {}
        _case(f"max_pool2d fwd+bwd {name}", lambda xe=xe, kw=kw, k=k: F.max_pool2d(xe, k, **kw).sum().backward(),
              lambda xt=xt, kw=kw, k=k: torch.nn.functional.max_pool2d(xt, k, **kw).sum().backward(), rows)

    xe, xt = pair(64, 32, 16, 16)
    (we, wt), (be, bt) = pair(32), pair(32)
    _case("batch_norm train fwd+bwd 64x32x16x16",
          lambda: F.batch_norm(xe, None, None, we, be, True).sum().backward(),
          lambda: torch.nn.functional.batch_norm(xt, None, None, wt, bt, True).sum().backward(), rows)
    xe, xt = pair(2048, 65)
    target = rng.integers(0, 65, 2048)
    te, tt = ember.tensor(target), torch.tensor(target)
    _case("cross_entropy fwd+bwd 2048x65", lambda: F.cross_entropy(xe, te).backward(),
          lambda: torch.nn.functional.cross_entropy(xt, tt).backward(), rows)
    xe, xt = pair(16, 64, 128)
    (we, wt), (be, bt) = pair(128), pair(128)
    _case("layer_norm fwd+bwd 16x64x128", lambda: F.layer_norm(xe, (128,), we, be).sum().backward(),
          lambda: torch.nn.functional.layer_norm(xt, (128,), wt, bt).sum().backward(), rows)
    ratios = [o / t for _, o, t in rows]
    print(f"geometric mean ratio: {float(np.exp(np.mean(np.log(ratios)))):.2f}")


if __name__ == "__main__":
    main()
