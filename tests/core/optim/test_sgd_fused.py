"""SGD's one-pass update (``ember.kernels.optim.sgd_update``), with and without momentum, against PyTorch's single-tensor
SGD and against Ember's numpy path: every option, parameters from 0-d to 3-d and one large enough to be split
between threads."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import optim

from ._steps import (
    assert_float32_steps_match,
    assert_kernel_gives_numpy_paths_values,
    random_steps,
    run_steps,
)

OPTIONS = [
    {"lr": 0.1},
    {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01, "maximize": True},
]
SHAPES = [(), (7,), (3, 5), (2, 3, 4), (1030, 1024)]  # the last split between threads


class NumpySGD(optim.SGD):
    """SGD with the numpy path (a subclass with its own ``_update`` never takes the kernel)."""

    def _update(self, param, grad, state, group):
        return super()._update(param, grad, state, group)


@pytest.mark.parity
@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_float32_steps_match_torch(options):
    torch = pytest.importorskip("torch")
    init, grads = random_steps(SHAPES, np.float32)
    ours, opt = run_steps(ember, optim.SGD, options, init, grads)
    theirs, torch_opt = run_steps(torch, torch.optim.SGD, options, init, grads, foreach=False)
    assert_float32_steps_match(ours, opt, theirs, torch_opt, init)
    # torch's vectorised kernels fuse each multiply-add, as the kernel does: the large parameter is equal to the bit
    np.testing.assert_array_equal(ours[-1], theirs[-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_the_kernel_gives_the_numpy_paths_values(options, dtype):
    assert_kernel_gives_numpy_paths_values(ember, optim.SGD, NumpySGD, options, SHAPES, dtype)


def test_the_kernel_runs_for_plain_parameters_and_numpy_for_other_layouts(monkeypatch):
    from ember.kernels import optim as kernels

    calls = []
    original = kernels.sgd_update
    monkeypatch.setattr(kernels, "sgd_update", lambda *args: calls.append(args[0]) or original(*args))
    w = ember.randn(4, 3, requires_grad=True)
    half = ember.randn(5, dtype=ember.float16, requires_grad=True)  # (float16: the numpy path)
    opt = optim.SGD([w, half], lr=0.1, momentum=0.9)
    for _ in range(2):  # the first step (the buffer a copy of the gradient) and a second
        opt.zero_grad()
        (w.sum() + half.float().sum()).backward()
        before = half.detach().clone()
        opt.step()
    assert calls == [12, 12]
    assert not ember.equal(half.detach(), before)
