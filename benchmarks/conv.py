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

import numpy as np

CLOCK = time.process_time if "--cpu-time" in sys.argv else time.perf_counter


def _threads() -> int:
    if "--threads" in sys.argv:
        return int(sys.argv[sys.argv.index("--threads") + 1])
    try:
        from threadpoolctl import threadpool_info

        return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    except (ImportError, ValueError, KeyError):
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


def _models(m, F):
    """LeNet-5 and a ResNet-8 with BatchNorm written with the functional API of ``m`` (ember or torch)."""

    def param(*shape, fan_in):
        return (m.randn(*shape) * (2.0 / fan_in) ** 0.5).requires_grad_()

    lenet = {
        "c1": param(6, 1, 5, 5, fan_in=25), "c1b": m.zeros(6).requires_grad_(),
        "c2": param(16, 6, 5, 5, fan_in=150), "c2b": m.zeros(16).requires_grad_(),
        "f1": param(120, 256, fan_in=256), "f1b": m.zeros(120).requires_grad_(),
        "f2": param(84, 120, fan_in=120), "f2b": m.zeros(84).requires_grad_(),
        "f3": param(10, 84, fan_in=84), "f3b": m.zeros(10).requires_grad_(),
    }

    def lenet_forward(p, x):
        x = F.max_pool2d(F.relu(F.conv2d(x, p["c1"], p["c1b"])), 2)
        x = F.max_pool2d(F.relu(F.conv2d(x, p["c2"], p["c2b"])), 2)
        x = x.reshape(x.shape[0], -1)
        x = F.relu(F.linear(x, p["f1"], p["f1b"]))
        x = F.relu(F.linear(x, p["f2"], p["f2b"]))
        return F.linear(x, p["f3"], p["f3b"])

    resnet, buffers = {}, {}

    def conv_bn(name, cin, cout, k):
        resnet[name] = param(cout, cin, k, k, fan_in=cin * k * k)
        resnet[name + ".w"], resnet[name + ".b"] = m.ones(cout).requires_grad_(), m.zeros(cout).requires_grad_()
        buffers[name] = (m.zeros(cout), m.ones(cout))

    conv_bn("stem", 3, 16, 3)
    for i, (cin, cout) in enumerate([(16, 16), (16, 32), (32, 64)]):
        conv_bn(f"b{i}.1", cin, cout, 3)
        conv_bn(f"b{i}.2", cout, cout, 3)
        if cin != cout:
            conv_bn(f"b{i}.s", cin, cout, 1)
    resnet["fc"], resnet["fcb"] = param(10, 64, fan_in=64), m.zeros(10).requires_grad_()

    def cbn(p, name, x, stride=1, padding=1):
        x = F.conv2d(x, p[name], None, stride, padding)
        return F.batch_norm(x, *buffers[name], p[name + ".w"], p[name + ".b"], training=True)

    def resnet_forward(p, x):
        x = F.relu(cbn(p, "stem", x))
        for i, stride in enumerate([1, 2, 2]):
            y = F.relu(cbn(p, f"b{i}.1", x, stride))
            y = cbn(p, f"b{i}.2", y)
            shortcut = cbn(p, f"b{i}.s", x, stride, 0) if f"b{i}.s" in p else x
            x = F.relu(y + shortcut)
        x = F.adaptive_avg_pool2d(x, 1).reshape(x.shape[0], -1)
        return F.linear(x, p["fc"], p["fcb"])

    return (lenet, lenet_forward), (resnet, resnet_forward)


def _train_step(params, forward, F, x, y, lr=0.01):
    for p in params.values():
        p.grad = None
    loss = F.cross_entropy(forward(params, x), y)
    loss.backward()
    for p in params.values():
        p._data -= lr * p.grad._data


def main() -> None:
    import ember
    import torch
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
    (qe, qt), (ke, kt), (ve, vt) = pair(16, 4, 64, 32), pair(16, 4, 64, 32), pair(16, 4, 64, 32)
    _case("scaled_dot_product_attention causal fwd+bwd 16x4x64x32",
          lambda: F.scaled_dot_product_attention(qe, ke, ve, is_causal=True).sum().backward(),
          lambda: torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=True).sum().backward(), rows)
    torch.manual_seed(0)
    ember.manual_seed(0)
    ours, theirs = _models(ember, F), _models(torch, torch.nn.functional)
    for name, shape, (ep, ef), (tp, tf) in [("LeNet-5 batch 64 1x28x28", (64, 1, 28, 28), ours[0], theirs[0]),
                                            ("ResNet-8+BN batch 64 3x32x32", (64, 3, 32, 32), ours[1], theirs[1])]:
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 10, shape[0])
        xe, ye, xt, yt = ember.tensor(x), ember.tensor(y), torch.tensor(x), torch.tensor(y)
        _case(f"train step (functional) {name}", lambda ep=ep, ef=ef, xe=xe, ye=ye: _train_step(ep, ef, F, xe, ye),
              lambda tp=tp, tf=tf, xt=xt, yt=yt: _train_step(tp, tf, torch.nn.functional, xt, yt), rows)
    ratios = [o / t for _, o, t in rows]
    print(f"geometric mean ratio: {float(np.exp(np.mean(np.log(ratios)))):.2f}")


if __name__ == "__main__":
    main()
