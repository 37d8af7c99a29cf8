"""``ember.compile`` against torch eager and ``torch.compile``: a chain of small elementwise ops and an MLP step.

Run by hand: ``python benchmarks/compile.py`` (``--quick`` for fewer rounds). Each workload runs interleaved
(Ember eager, Ember compiled, torch eager, torch.compile, ...) after a warm-up, as ``benchmarks/ops.py``
does; the median time per step and the ratios are printed. Then the first call of a compiled model
(capture, code generation, numba) is timed in fresh processes: once with an empty compile cache (cold) and
once more on the cache the first left (from disk).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# the repository instead of benchmarks/ (whose coverage.py would shadow the coverage package numba imports)
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from benchmarks.ops import interleaved


def chain(lib, y, n_ops: int = 200):
    """``n_ops`` small elementwise ops (ops.py's op_chain: multiply, add, tanh, subtract, repeated)."""
    for _ in range(n_ops // 4):
        y = y * 1.001
        y = y + 0.01
        y = y.tanh()
        y = y - 0.001
    return y


def chain_step(lib, compiled: bool):
    """The chain on a (16,) tensor, summed, backward."""
    x = lib.ones(16, requires_grad=True)
    fn = (lambda y: chain(lib, y))
    if compiled:
        fn = lib.compile(fn)

    def step():
        fn(x).sum().backward()
        x.grad = None

    return step


def _mlp(lib, batch: int):
    nn = lib.nn

    class MLPLoss(nn.Module):
        """784-512-256-10 MLP and ops.py's cross-entropy written out, in one forward."""

        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)

        def forward(self, x, one_hot):
            h = self.fc3(self.fc2(self.fc1(x).relu()).relu())
            return -(one_hot * (h - h.logsumexp(1, keepdim=True))).sum() / batch

    return MLPLoss()


def mlp_step(lib, compiled: bool, batch: int = 128, state=None):
    """Forward with the loss, backward, SGD with momentum (the library's optimizer)."""
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    model = _mlp(lib, batch)
    if state is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = lib.tensor(rng.standard_normal((batch, 784)).astype(np.float32))
    one_hot = lib.tensor(np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)])
    run = lib.compile(model) if compiled else model

    def step():
        loss = run(x, one_hot)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def _first_call(workload: str, numba_started: bool) -> None:
    """In a fresh process: the time of the first call of a compiled workload, capture to result; with
    ``numba_started`` after numba's runtime has started (its one-time start-up, paid by any first kernel
    of Ember's too, is then not counted)."""
    import ember

    if numba_started:
        import numba

        numba.njit(lambda a: a + 1)(np.ones(2))
    if workload == "chain":
        fn, args = ember.compile(lambda y: chain(ember, y)), (ember.ones(16, requires_grad=True),)
    elif workload == "mlp":
        batch = 128
        fn, args = ember.compile(_mlp(ember, batch)), (ember.randn(batch, 784), ember.zeros(batch, 10))
    else:
        from ember.vision.models import lenet5

        fn, args = ember.compile(lenet5()), (ember.randn(64, 1, 28, 28),)
    start = time.perf_counter()
    out = fn(*args)
    (out if out.ndim == 0 else out.sum()).backward()
    print(time.perf_counter() - start)


def first_compile(workload: str, numba_started: bool) -> tuple:
    """(cold, from disk) seconds of the first call, each in a fresh process sharing one cache folder."""
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, EMBER_COMPILE_CACHE_DIR=folder)
        times = []
        for _ in range(2):
            command = [sys.executable, __file__, "--first-call", workload] + ["--numba-started"] * numba_started
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            times.append(float(out.stdout.split()[-1]))
        return tuple(times)


def main() -> None:
    import ember

    quick = "--quick" in sys.argv
    try:
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    except ImportError:
        torch = None
    rows = []
    for name, make, repeats in [("200 small ops, fwd+bwd", chain_step, 20), ("MLP 784-512-256-10 step", mlp_step, 10)]:
        workloads = {"ember": make(ember, False), "ember.compile": make(ember, True)}
        if torch is not None:
            workloads["torch"] = make(torch, False)
            try:
                compiled = make(torch, True)
                compiled()
                workloads["torch.compile"] = compiled
            except Exception as error:  # noqa: BLE001 (no C++ toolchain, or inductor refuses)
                print(f"torch.compile does not run here: {type(error).__name__}: {error}"[:200])
        times = interleaved(workloads, repeats, rounds=3 if quick else 9)
        rows.append((name, times))
    print(f"{'workload':<26}{'ember':>9}{'compiled':>10}{'torch':>9}{'t.compile':>10}"
          f"{'cmp/torch':>10}{'cmp/t.cmp':>10}{'eager/torch':>12}  (ms)")
    for name, t in rows:
        ms = {k: v * 1e3 for k, v in t.items()}
        torch_ms, tc_ms = ms.get("torch", float("nan")), ms.get("torch.compile", float("nan"))
        print(f"{name:<26}{ms['ember']:>9.3f}{ms['ember.compile']:>10.3f}{torch_ms:>9.3f}{tc_ms:>10.3f}"
              f"{ms['ember.compile'] / torch_ms:>10.2f}{ms['ember.compile'] / tc_ms:>10.2f}"
              f"{ms['ember'] / torch_ms:>12.2f}")
    for workload in ("chain", "mlp", "lenet5"):
        cold, warm = first_compile(workload, False)
        cold_started, warm_started = first_compile(workload, True)
        print(f"first call of compiled {workload}: cold cache {cold:.2f} s, from disk {warm:.2f} s; numba's "
              f"runtime already started: {cold_started:.2f} s, {warm_started:.2f} s")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--first-call":
        _first_call(sys.argv[2], "--numba-started" in sys.argv)
    else:
        main()
