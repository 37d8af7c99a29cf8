"""Which numba kernels a model's first backward pass will compile, handed to ``ember.kernels._warmup``.

``Trainer.fit`` calls ``start_for(model)`` before it reads the data: a helper process then compiles the
backward kernels while this process reads the data and compiles the forward ones, and the first
backward loads them from numba's cache, or waits for the one the helper is compiling at that moment
(benchmarks/README.md, 2026-12-07: the cold first step of
``ember fit digits-lenet``). Only the backward kernels are asked for: the helper is ready about when
this process makes its first forward call, so it would race this process for those. The plan follows
the layers' modules; layers called through the functional API are not seen, and their kernels compile
on first use as before.
"""

from __future__ import annotations

import numpy as np


def _plan(model) -> list[str]:
    from ember import nn

    dtype = next((np.dtype(p.dtype.name) for p in model.parameters() if p.dtype.is_floating_point),
                 np.dtype("float32"))
    if dtype not in (np.float32, np.float64):
        return []
    jobs, convs = [], 0
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.groups == 1 and tuple(module.dilation) == (1, 1) \
                and tuple(module.kernel_size) == (5, 5) and tuple(module.stride) == (1, 1) \
                and not isinstance(module.padding, str):
            jobs.append("conv5x5_weight_grad")
            if convs and max(module.padding) < 2:  # an inner layer whose output is smaller: col2im input gradient
                jobs.append("col2im")
            convs += 1
        elif isinstance(module, nn.modules.pooling._MaxPoolNd):
            jobs.append("max_pool_backward")
    jobs = sorted(dict.fromkeys(jobs), key=_SLOWEST_FIRST.index)  # each kernel once
    # Adam / AdamW's update runs right after the first backward; the optimizers are not configured yet
    # here, so it is asked for whatever the run uses (on a cold cache only, on the idle core, once)
    jobs.append("adam_update")
    return [f"{job}:{dtype.name}" for job in jobs]


# The helper's order: the slowest to compile first. The first backward needs all of them within a few
# milliseconds of each other; where the helper is late, this process then compiles (again) only the
# quickest ones (CPU s, 2026-12-07: ~1.3, ~0.4, ~0.3).
_SLOWEST_FIRST = ["conv5x5_weight_grad", "col2im", "max_pool_backward"]


_ASKED: set[tuple[str, ...]] = set()  # the plans already handed over in this process


def start_for(model):
    """Starts compiling ``model``'s backward kernels in a helper process (see the module docstring);
    the helper, or None. A plan is handed over once per process: the first time, a helper was started
    for it or numba's cache held its kernels already, so a later ``fit`` (e.g. a benchmark's repeats) does
    not read the cache's index files again."""
    jobs = _plan(model)
    if not jobs or tuple(jobs) in _ASKED:
        return None
    _ASKED.add(tuple(jobs))
    from ember.kernels import _warmup

    return _warmup.start(jobs)
