"""Fused activation ops against the same function composed of Ember's primitives (issue 20).

Forward and backward of each on a (64, 256) float32 tensor, timed with ``timeit``, the two forms
interleaved and the best of 21 repeats kept. Where the composite is not slower, Ember uses it
(``softplus``); the fused class it replaced is kept here to time it against.

    python -m benchmarks.activations
"""

from __future__ import annotations

import math
import timeit

import ember
import numpy as np
from ember.ops._op import Op


class FusedSoftplus(Op):  # ember.softplus before issue 20
    @staticmethod
    def forward(ctx, a, beta, threshold):
        ctx.save_for_backward(a)
        ctx.params = (beta, threshold)
        x = a._data
        scaled = x * beta
        soft = np.logaddexp(0, scaled) / beta
        return np.where(scaled > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        beta, threshold = ctx.params
        scaled = a * beta
        return ember.where(scaled.detach() > threshold, grad, grad * ember.sigmoid(scaled)), None, None


def _composite_softmax(x):
    e = (x - x.amax(-1, keepdim=True).detach()).exp()
    return e / e.sum(-1, keepdim=True)


def _cases():
    """name -> (fused, composite, positive inputs only)."""
    e = ember
    return {
        "silu": (ember.silu, lambda x: x * e.sigmoid(x), False),
        "softplus": (lambda x: FusedSoftplus.apply(x, 1.0, 20.0),
                     lambda x: e.where(x > 20.0, x, e.log1p(e.exp(x.clamp(max=20.0)))), False),
        "elu": (e.elu, lambda x: e.where(x > 0, x, e.expm1(x.clamp(max=0.0))), False),
        "leaky_relu": (e.leaky_relu, lambda x: e.where(x > 0, x, x * 0.01), False),
        "gelu": (e.gelu, lambda x: x * (0.5 * (1 + e.erf(x * (1 / math.sqrt(2))))), False),
        "tan": (e.tan, lambda x: e.sin(x) / e.cos(x), False),
        "log2": (e.log2, lambda x: e.log(x) * (1 / math.log(2.0)), True),
        "expm1": (e.expm1, lambda x: e.exp(x) - 1, False),
        "rsqrt": (e.rsqrt, lambda x: e.sqrt(x).reciprocal(), True),
        "softmax": (lambda x: e.softmax(x, -1), _composite_softmax, False),
        "log_softmax": (lambda x: e.log_softmax(x, -1), lambda x: x - x.logsumexp(-1, keepdim=True), False),
    }


def _step(fn, x, grad):
    x.grad = None
    fn(x).backward(grad)


def main(number: int = 100, repeat: int = 21) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((64, 256)).astype(np.float32)
    grad = ember.from_numpy(rng.standard_normal((64, 256)).astype(np.float32))
    print(f"{'op':12s} {'fused us':>9s} {'composite us':>13s} {'composite / fused':>18s}")
    for name, (fused, composite, positive) in _cases().items():
        x = ember.from_numpy(np.abs(data) + 0.1 if positive else data.copy()).requires_grad_()
        for fn in (fused, composite):  # warm-up (numba kernels compile on first use)
            _step(fn, x, grad)
        times = {fused: [], composite: []}
        for _ in range(repeat):  # interleaved, so a slow phase of the machine hits both
            for fn in (fused, composite):
                seconds = timeit.timeit(lambda fn=fn, x=x: _step(fn, x, grad), number=number)
                times[fn].append(seconds / number * 1e6)
        f, c = min(times[fused]), min(times[composite])
        print(f"{name:12s} {f:9.1f} {c:13.1f} {c / f:18.2f}", flush=True)


if __name__ == "__main__":
    main()
