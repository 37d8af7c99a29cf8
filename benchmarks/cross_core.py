"""What a weight's update costs after two-thread products: the probe behind the "slow state" (benchmarks/README.md,
2026-12-08, ninth session).

Run by hand: ``python benchmarks/cross_core.py [SECONDS]`` (default 60). A weight of 512 x 784 float32 (MLP b32's
first layer), its gradient and momentum buffer; each sample (0.5 s) repeats, in turn:

- ``fFgG``: the forward product ``x @ W.T`` on F OpenBLAS threads and the weight-gradient product ``g.T @ x`` on G,
  then a numpy update of ``W`` (three passes) on this thread: who touched the data before decides its cost;
- ``one`` / ``workers``: both products on two threads, then Ember's one-pass SGD update (``sgd_update``) on this
  thread alone, or on OpenBLAS's workers in its static halves (``Split.on_blas_workers``, the caller first).

It prints each variant's median per sample, in us. On a machine whose cores share data cheaply every column reads
about the same; in the VM's slow state ``f2g*`` and ``one`` read 3-10x the others.
"""

from __future__ import annotations

import statistics
import sys
import time

import ember  # noqa: F401 - its kernels set OpenBLAS's spin as a run would
import numpy as np
from ember.kernels import _blas, optim


def main(seconds: float = 60.0) -> None:
    blas = _blas.openblas()
    if blas.lib is None or blas.get_threads() < 2:
        raise SystemExit("needs numpy's OpenBLAS on two threads or more")
    threads = blas.get_threads()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 784)).astype(np.float32)
    g = rng.standard_normal((32, 512)).astype(np.float32)
    weight = rng.standard_normal((512, 784)).astype(np.float32) * np.float32(0.01)
    momentum, grad = np.zeros_like(weight), np.empty_like(weight)
    flat = [a.reshape(-1) for a in (weight, grad, momentum)]
    scalars = (False, np.float32(0), np.float32(0.9), np.float32(1), False, np.float32(-1e-3))

    def products(forward_threads, grad_threads):
        blas.set_threads(forward_threads)
        x @ weight.T
        blas.set_threads(grad_threads)
        np.matmul(g.T, x, out=grad)
        blas.set_threads(threads)

    def numpy_update():
        np.multiply(momentum, 0.9, out=momentum)
        np.add(momentum, grad, out=momentum)
        np.subtract(weight, momentum * np.float32(1e-3), out=weight)

    def ember_update(on_workers):
        if on_workers:
            optim.sgd_update(weight.size, *flat, *scalars)
        else:
            optim.sgd_update.serial(*flat, *scalars, 0, weight.size)

    variants = {f"f{f}g{gr}": (lambda f=f, gr=gr: products(f, gr), numpy_update) for f in (1, 2) for gr in (1, 2)}
    variants["one"] = (lambda: products(2, 2), lambda: ember_update(False))
    variants["workers"] = (lambda: products(2, 2), lambda: ember_update(True))
    ember_update(True)  # compiles (or loads) the kernels
    end = time.time() + seconds
    while time.time() < end:
        samples = {name: [] for name in variants}
        start = time.perf_counter()
        while time.perf_counter() - start < 0.5:
            for name, (before, update) in variants.items():
                before()
                t = time.perf_counter()
                update()
                samples[name].append(time.perf_counter() - t)
        print(time.strftime("%H:%M:%S"), "  ".join(f"{name} {statistics.median(v) * 1e6:5.0f}"
                                                    for name, v in samples.items()), flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
