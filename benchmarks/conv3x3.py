"""The direct 3x3 convolution kernels one by one (forward, input gradient, weight gradient) against
torch's convolution and its ``convolution_backward`` for the same gradient, on the layers that run them.

Run: ``python -m benchmarks.conv3x3 [--threads N] [--repeats N] [--kernels PATH ...]``. CPU time
(``time.process_time``), best of ``--repeats`` calls after two of warm-up, ms; meaningful at ``--threads
1`` on a shared machine. ``--kernels`` takes other copies of ``core/kernels/conv3x3.py`` (e.g. the file of
an older commit) and times them beside the current one, interleaved call by call, for A/B runs.
Shapes: ResNet-8 (batch 64: 16->16 32x32, 16->32 s2, 32->32 16x16, 32->64 s2, 64->64 8x8), the
siamese ResNet-18's first stage (batch 16 per image, 7x7; and batch 32 at 28x28 and 14x14) and ResNet-18
CIFAR's (batch 8, 64->64 32x32).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time

if "--threads" in sys.argv:  # before numpy / numba load their thread pools
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np

SHAPES = [  # (name, batch, in channels, plane, out channels, stride)
    ("ResNet-8 16->16 32x32", 64, 16, 32, 16, 1),
    ("ResNet-8 16->32 32x32 s2", 64, 16, 32, 32, 2),
    ("ResNet-8 32->32 16x16", 64, 32, 16, 32, 1),
    ("ResNet-8 32->64 16x16 s2", 64, 32, 16, 64, 2),
    ("ResNet-8 64->64 8x8", 64, 64, 8, 64, 1),
    ("siamese 64->64 7x7 b16", 16, 64, 7, 64, 1),
    ("b32 64->64 14x14", 32, 64, 14, 64, 1),
    ("b32 64->64 28x28", 32, 64, 28, 64, 1),
    ("ResNet-18 CIFAR 64->64 32x32 b8", 8, 64, 32, 64, 1),
]


def _option(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flip(w):
    return np.ascontiguousarray(w.swapaxes(0, 1)[:, :, ::-1, ::-1])


def _kernel_calls(k, x, w, g, stride):
    """forward, input gradient, weight gradient of ``k`` (a conv3x3 module) as conv.py calls them."""
    h, width = x.shape[2:]
    wf = _flip(w)
    if stride == 1:
        gx = lambda: k.conv3x3(g, wf, 1, 1)
    else:
        gx = lambda: k.conv3x3_input_grad(g, w, 1, 1, stride, h, width)
    return (lambda: k.conv3x3(x, w, 1, 1, stride), gx, lambda: k.conv3x3_weight_grad(x, g, 1, 1, stride))


def main() -> None:
    import torch
    from ember.kernels import conv3x3

    threads = int(_option("--threads", "1"))
    repeats = int(_option("--repeats", "10"))
    torch.set_num_threads(threads)
    others = [_load(p, f"conv3x3_other{i}") for i, p in enumerate(sys.argv[sys.argv.index("--kernels") + 1:])] \
        if "--kernels" in sys.argv else []
    names = ["ember"] + [f"other{i}" for i in range(len(others))] + ["torch"]
    print(f"threads {threads}, CPU ms, best of {repeats}; columns: {', '.join(names)}, ember / torch")
    rng = np.random.default_rng(0)
    for name, n, c, size, k, stride in SHAPES:
        x = rng.standard_normal((n, c, size, size)).astype(np.float32)
        w = (rng.standard_normal((k, c, 3, 3)) / (3 * c**0.5)).astype(np.float32)
        out = (size + 2 - 3) // stride + 1
        g = rng.standard_normal((n, k, out, out)).astype(np.float32)
        xt, wt, gt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(g)

        def torch_grad(mask, xt=xt, wt=wt, gt=gt, stride=stride):
            return lambda: torch.ops.aten.convolution_backward(
                gt, xt, wt, None, [stride] * 2, [1, 1], [1, 1], False, [0, 0], 1, mask)

        rows = [_kernel_calls(m, x, w, g, stride) for m in [conv3x3, *others]]
        rows.append((lambda xt=xt, wt=wt, stride=stride: torch.nn.functional.conv2d(xt, wt, None, stride, 1),
                     torch_grad([True, False, False]), torch_grad([False, True, False])))
        for part, label in enumerate(("fwd", "input grad", "weight grad")):
            calls = [row[part] for row in rows]
            best = [float("inf")] * len(calls)
            for _ in range(2):
                for call in calls:
                    call()
            for _ in range(repeats):
                for i, call in enumerate(calls):
                    start = time.process_time()
                    call()
                    best[i] = min(best[i], time.process_time() - start)
            figures = "  ".join(f"{b * 1e3:7.2f}" for b in best)
            print(f"{name:<32} {label:<12} {figures}   {best[0] / best[-1]:5.2f}", flush=True)


if __name__ == "__main__":
    main()
