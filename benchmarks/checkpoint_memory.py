"""Peak memory of one training step of a deep MLP, with and without activation checkpointing (issue 22).

The model is ``depth`` x (Linear(width, width), ReLU); one step is forward, ``out.square().mean()``,
backward and an SGD step, plain or with ``checkpoint_sequential(model, segments, x)`` in each of the two
``use_reentrant`` modes, in Ember and, when installed, in torch. Each (framework, mode) runs in a fresh
process, so that one allocator's leftovers never lower another's figure.

Two measures, because tracemalloc does not see torch's allocator:

- ``rss``: the growth of the process's resident set over the first training step: Linux's peak resident
  set (``VmHWM``, reset by writing 5 to ``/proc/self/clear_refs`` just before the step) minus the resident
  set then (``VmRSS``). Both frameworks, same method. It includes the gradients (allocated in that step),
  whatever the allocators keep, and the one-time set-up of a first step (torch's thread pools; small).
  A second step would mostly reuse pages the allocator kept from the first, so it is not measured so.
- ``tracemalloc``: Ember only: the peak of Python's allocation tracer over a second step (numpy reports
  its arrays to it), above what was allocated when the step began. Ember allocates new gradient arrays
  each step, so they are in this figure too.

    python -m benchmarks.checkpoint_memory [--depth 32] [--width 1024] [--batch 256] [--segments 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tracemalloc

MODES = ("plain", "reentrant", "non_reentrant")
MiB = 2 ** 20


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def _step_function(framework: str, mode: str, depth: int, width: int, batch: int, segments: int):
    if framework == "torch":
        import torch as lib
        from torch.utils.checkpoint import checkpoint_sequential
    else:
        import ember as lib
        from ember.utils.checkpoint import checkpoint_sequential
    lib.manual_seed(0)
    layers = [m for _ in range(depth) for m in (lib.nn.Linear(width, width), lib.nn.ReLU())]
    model = lib.nn.Sequential(*layers)
    optimizer = lib.optim.SGD(model.parameters(), lr=1e-3)
    x = lib.randn(batch, width, requires_grad=True)

    def step():
        optimizer.zero_grad(set_to_none=False)  # gradients stay allocated: the step measures activations
        if mode == "plain":
            out = model(x)
        else:
            out = checkpoint_sequential(model, segments, x, use_reentrant=mode == "reentrant")
        out.square().mean().backward()
        optimizer.step()

    return step


def measure(framework: str, mode: str, depth: int, width: int, batch: int, segments: int) -> dict:
    """One (framework, mode) in this process: the first step measured by the resident set, then (Ember) a
    second one by tracemalloc."""
    step = _step_function(framework, mode, depth, width, batch, segments)
    if not _reset_peak():
        raise RuntimeError("cannot reset the peak resident set (/proc/self/clear_refs)")
    before = _status("VmRSS")
    step()
    result = {"rss": _status("VmHWM") - before}
    if framework == "ember":
        tracemalloc.start()
        step()
        result["tracemalloc"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=32)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--segments", type=int, default=8)
    parser.add_argument("--child", nargs=2, metavar=("FRAMEWORK", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shape = (args.depth, args.width, args.batch, args.segments)
    if args.child:
        print(json.dumps(measure(*args.child, *shape)))
        return
    frameworks = ["ember"]
    try:
        import torch  # noqa: F401
        frameworks.append("torch")
    except ImportError:
        pass
    activation = args.batch * args.width * 4 / MiB
    print(f"MLP {args.depth} x Linear({args.width}, {args.width}) + ReLU, batch {args.batch}, "
          f"{args.segments} segments; one activation {activation:.1f} MiB, weights "
          f"{args.depth * args.width * (args.width + 1) * 4 / MiB:.0f} MiB")
    print(f"{'framework':<10}{'mode':<15}{'rss growth (MiB)':>18}{'tracemalloc (MiB)':>19}")
    for framework in frameworks:
        for mode in MODES:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.checkpoint_memory", "--depth", str(args.depth), "--width",
                 str(args.width), "--batch", str(args.batch), "--segments", str(args.segments), "--child",
                 framework, mode], capture_output=True, text=True, check=True).stdout
            result = json.loads(out.splitlines()[-1])
            traced = f"{result['tracemalloc'] / MiB:19.1f}" if "tracemalloc" in result else f"{'-':>19}"
            print(f"{framework:<10}{mode:<15}{result['rss'] / MiB:18.1f}{traced}")


if __name__ == "__main__":
    main()
