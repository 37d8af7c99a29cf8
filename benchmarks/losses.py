"""Per-call cost of the losses helper N1 made single ops (nll_loss, mse / l1 / smooth_l1 / huber), run by hand.

Each case times the new op (``F.*``), the composite it replaced (kept below as ``OLD``, the code as of commit
c5ee445) and torch, interleaved: best of 5 rounds x ``--calls`` calls, one thread, CPU time
(``time.process_time``), microseconds per call. "fwd" runs the loss on an input that requires grad (the graph
is recorded); "fwd+bwd" adds ``backward()``.

Usage:
    python benchmarks/losses.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import time

import numpy as np

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _old_functions():
    """The composites as they were before the single ops (c5ee445), for the "old" column."""
    import ember
    from ember.nn.functional._utils import legacy_reduction, reduce_loss
    from ember.nn.functional.loss import _class_last

    Tensor = ember.Tensor

    def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
        class_dim = 0 if input.ndim == 1 else 1
        expected = tuple(input.shape[:class_dim]) + tuple(input.shape[class_dim + 1:])
        if tuple(target.shape) != expected:
            raise ValueError("shape")
        x, t, _ = _class_last(input, target, "nll_loss")
        t = t._data.astype(np.int64)
        valid = t != ignore_index
        safe = np.where(valid, t, 0)
        c = x.shape[1]
        if safe.size and (safe.min() < 0 or safe.max() >= c):
            raise IndexError("bounds")
        w_t = (weight._data[safe] if weight is not None else np.ones(safe.shape, x._data.dtype)) * valid
        w_t = w_t.astype(x._data.dtype)
        picked = x.gather(1, Tensor._wrap(safe[:, None])).squeeze(1)
        if reduction == "mean":
            total = w_t.sum()
            with np.errstate(all="ignore"):
                share = np.where(valid, w_t / total, 0).astype(w_t.dtype)
            loss = (-picked * Tensor._wrap(share)).sum()
            return loss if total else loss + float("nan")
        loss = -picked * Tensor._wrap(w_t)
        if reduction == "none":
            return loss.reshape(expected)
        return reduce_loss(loss, reduction, "nll_loss")

    def mse_loss(input, target, reduction="mean"):
        diff = input - target
        return reduce_loss(diff * diff, legacy_reduction(None, None, reduction), "mse_loss")

    def l1_loss(input, target, reduction="mean"):
        return reduce_loss((input - target).abs(), reduction, "l1_loss")

    def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
        diff = input - target
        absolute = diff.abs()
        loss = ember.where(absolute < beta, diff * diff * (0.5 / beta), absolute - 0.5 * beta)
        return reduce_loss(loss, reduction, "smooth_l1_loss")

    def huber_loss(input, target, reduction="mean", delta=1.0):
        diff = input - target
        absolute = diff.abs()
        loss = ember.where(absolute <= delta, diff * diff * 0.5, (absolute - 0.5 * delta) * delta)
        return reduce_loss(loss, reduction, "huber_loss")

    return {"nll_loss": nll_loss, "mse_loss": mse_loss, "l1_loss": l1_loss, "smooth_l1_loss": smooth_l1_loss,
            "huber_loss": huber_loss}


def _cases():
    rng = np.random.default_rng(0)
    logp = lambda *s: np.log(rng.dirichlet(np.ones(s[1]), (s[0], *s[2:])).swapaxes(1, -1).astype(np.float32)
                             if len(s) > 2 else rng.dirichlet(np.ones(s[1]), s[0]).astype(np.float32))
    return [
        # name, function, input, target, kwargs
        ("nll (1, 18), names tutorial", "nll_loss", logp(1, 18), np.array([3]), {}),
        ("nll (64, 10)", "nll_loss", logp(64, 10), rng.integers(0, 10, 64), {}),
        ("nll (64, 10) weight+ignore", "nll_loss", logp(64, 10), np.where(np.arange(64) % 7, rng.integers(0, 10, 64), -100),
         {"weight": rng.uniform(0.5, 2, 10).astype(np.float32)}),
        ("nll (8, 5, 16, 16)", "nll_loss", np.log(np.ascontiguousarray(rng.dirichlet(np.ones(5), (8, 16, 16)).transpose(0, 3, 1, 2))
                                                   .astype(np.float32)), rng.integers(0, 5, (8, 16, 16)), {}),
        ("smooth_l1 (1,), actor_critic", "smooth_l1_loss", rng.standard_normal(1).astype(np.float32),
         rng.standard_normal(1).astype(np.float32), {}),
        ("smooth_l1 (64, 10)", "smooth_l1_loss", rng.standard_normal((64, 10)).astype(np.float32),
         rng.standard_normal((64, 10)).astype(np.float32), {}),
        ("huber (64, 10)", "huber_loss", rng.standard_normal((64, 10)).astype(np.float32),
         rng.standard_normal((64, 10)).astype(np.float32), {"delta": 0.5}),
        ("mse (64, 10)", "mse_loss", rng.standard_normal((64, 10)).astype(np.float32),
         rng.standard_normal((64, 10)).astype(np.float32), {}),
        ("mse (2, 3, 96, 96)", "mse_loss", rng.standard_normal((2, 3, 96, 96)).astype(np.float32),
         rng.standard_normal((2, 3, 96, 96)).astype(np.float32), {}),
        ("l1 (64, 10)", "l1_loss", rng.standard_normal((64, 10)).astype(np.float32),
         rng.standard_normal((64, 10)).astype(np.float32), {}),
    ]


def _timer(fn, x, t, kwargs, backward, calls):
    def run():
        start = time.process_time()
        for _ in range(calls):
            loss = fn(x, t, **kwargs)
            if backward:
                loss.backward()
        return (time.process_time() - start) / calls * 1e6
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import ember
    import torch
    import torch.nn.functional as TF
    from ember.nn import functional as F

    torch.set_num_threads(1)
    ember.set_num_threads(1) if hasattr(ember, "set_num_threads") else None
    old = _old_functions()
    print(f"torch {torch.__version__}, load {os.getloadavg()[0]:.2f}; us per call, best of {args.rounds} x "
          f"{args.calls}")
    print(f"{'case':34s} {'pass':8s} {'old':>8s} {'new':>8s} {'torch':>8s} {'old/new':>8s} {'new/torch':>9s}")
    for name, fname, x, t, kwargs in _cases():
        for backward in (False, True):
            timers = {}
            ex = ember.tensor(x, requires_grad=True)
            tx = torch.tensor(x, requires_grad=True)
            et, tt = ember.tensor(t), torch.tensor(t)
            ek = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
            tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
            timers["old"] = _timer(old[fname], ex, et, ek, backward, args.calls)
            timers["new"] = _timer(getattr(F, fname), ex, et, ek, backward, args.calls)
            timers["torch"] = _timer(getattr(TF, fname), tx, tt, tk, backward, args.calls)
            best = {k: float("inf") for k in timers}
            for _ in range(args.rounds):
                for k, run in timers.items():
                    best[k] = min(best[k], run())
            print(f"{name:34s} {'fwd+bwd' if backward else 'fwd':8s} {best['old']:8.1f} {best['new']:8.1f} "
                  f"{best['torch']:8.1f} {best['old'] / best['new']:8.2f} {best['new'] / best['torch']:9.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
