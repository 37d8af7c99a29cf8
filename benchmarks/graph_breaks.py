"""What a graph break costs under ``ember.compile``: a model whose top-level forward branches on tensor values.

Run by hand: ``python -m benchmarks.graph_breaks [--threads 1] [--rounds 5] [--steps 10]``. ResNet-18 (CIFAR
widths, batch 8, 32x32, eval mode) wrapped in a forward that does ``if x.abs().max() > 1e6`` before calling
it, timed as a forward + backward step three ways, interleaved: eager; ``ember.compile(wrapper)`` (the
branch breaks the graph: the wrapper runs eagerly, every submodule compiled); ``ember.compile(resnet)``
(one graph, the branch left out). The median CPU time per step (``time.process_time``) is printed per round,
and the routing's own cost per split call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if "--threads" in sys.argv:  # before numpy / numba start their thread pools
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = _threads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    options = parser.parse_args()

    import warnings

    import ember
    from ember import nn
    from ember.compiler import _breaks
    from ember.vision import models

    ember.manual_seed(0)
    resnet = models.resnet18(num_classes=10).eval()

    class Guarded(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            if x.abs().max() > 1e6:  # the graph breaks here
                x = x / x.abs().max()
            return self.model(x)

    wrapper = Guarded(resnet)
    variants = {"eager": wrapper, "split": ember.compile(wrapper), "whole": ember.compile(resnet)}
    x = ember.randn(8, 3, 32, 32)

    def step(fn):
        resnet.zero_grad()
        fn(x).sum().backward()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in variants.values():  # warm-up: captures and compiles
            step(fn)
            step(fn)
    times = {name: [] for name in variants}
    for r in range(options.rounds):
        line = []
        for name, fn in variants.items():
            runs = []
            for _ in range(options.steps):
                start = time.process_time()
                step(fn)
                runs.append(time.process_time() - start)
            times[name].append(statistics.median(runs))
            line.append(f"{name} {times[name][-1] * 1e3:.1f} ms")
        print(f"round {r}: " + ", ".join(line))
    for name in variants:
        print(f"{name}: median of rounds {statistics.median(times[name]) * 1e3:.1f} ms")
    compiled = variants["split"]._compiled
    start = time.process_time()
    for _ in range(200):
        with _breaks._routed(_breaks._routes(compiled)):
            pass
    print(f"routing the {len(_breaks._routes(compiled))} submodules, per split call: "
          f"{(time.process_time() - start) / 200 * 1e6:.0f} us")


if __name__ == "__main__":
    main()
