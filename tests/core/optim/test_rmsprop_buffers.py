"""RMSprop computes into two buffers it keeps (``RMSprop._buffer``), not into fresh arrays the size of each
parameter: the same steps as torch's for every option over parameters of several sizes sharing the buffers, and no
parameter-sized allocation after the first step."""

from __future__ import annotations

import tracemalloc

import ember
import numpy as np
import pytest
from ember import optim

from ._steps import random_steps, run_steps

OPTIONS = [
    {"lr": 0.01},
    {"lr": 0.01, "weight_decay": 0.1, "maximize": True},
    {"lr": 1e-3, "momentum": 0.999, "weight_decay": 1e-8, "foreach": True},  # (milesial's U-Net train.py)
    {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
]
# a large parameter first, then smaller ones (views of the buffers it grew), a 0-d one (fresh arrays) and a larger one
SHAPES = [(64, 33), (), (7,), (3, 5), (2, 3, 4), (80, 40)]


@pytest.mark.parity
@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_steps_match_torch(options):
    torch = pytest.importorskip("torch")
    init, grads = random_steps(SHAPES, np.float32)
    ours, opt = run_steps(ember, optim.RMSprop, options, init, grads)
    theirs, torch_opt = run_steps(torch, torch.optim.RMSprop, options, init, grads)
    for a, b, start in zip(ours, theirs, init, strict=True):
        assert a.dtype == np.float32 and not np.allclose(a, start)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for ours_state, torch_state in zip(opt.state_dict()["state"].values(), torch_opt.state_dict()["state"].values(),
                                       strict=True):
        assert set(ours_state) == set(torch_state)
        for key, value in torch_state.items():
            # (a momentum buffer sums steps of either sign: float32 noise relative to its largest entries)
            value = value.numpy()
            np.testing.assert_allclose(np.asarray(ours_state[key]._data), value, rtol=1e-5,
                                       atol=1e-7 * max(1.0, np.abs(value).max()), err_msg=key)


@pytest.mark.parametrize("options", [o for o in OPTIONS if not o.get("maximize")])  # (maximize negates a copy)
def test_a_step_allocates_no_parameter_sized_array(options):
    param = ember.zeros(1 << 20, requires_grad=True)  # 4 MiB
    opt = optim.RMSprop([param], **options)
    param.grad = ember.ones(1 << 20)
    opt.step()  # (the state and the buffers)
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < (1 << 20), f"a step allocated {peak} bytes for a parameter of {4 << 20}"
    assert np.isfinite(param.detach().numpy()).all() and (param.detach().numpy() != 0).all()
