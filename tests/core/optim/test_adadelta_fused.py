"""Adadelta's one-pass update (``ember.kernels.optim.adadelta_update``) against PyTorch's single-tensor Adadelta
and against Ember's numpy path: every option, parameters from 0-d to 3-d and one large enough to be split
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
    {},
    {"lr": 0.5, "weight_decay": 0.1},
    {"rho": 0.5, "eps": 1e-4, "maximize": True},
]
SHAPES = [(), (7,), (3, 5), (2, 3, 4), (300, 500)]


class NumpyAdadelta(optim.Adadelta):
    """Adadelta with the numpy path (a subclass with its own ``_update`` never takes the kernel)."""

    def _update(self, param, grad, state, group):
        return super()._update(param, grad, state, group)


@pytest.mark.parity
@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_float32_steps_match_torch(options):
    torch = pytest.importorskip("torch")
    init, grads = random_steps(SHAPES, np.float32)
    ours, opt = run_steps(ember, optim.Adadelta, options, init, grads)
    theirs, torch_opt = run_steps(torch, torch.optim.Adadelta, options, init, grads, foreach=False)
    assert_float32_steps_match(ours, opt, theirs, torch_opt, init)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_the_kernel_gives_the_numpy_paths_values(options, dtype):
    assert_kernel_gives_numpy_paths_values(ember, optim.Adadelta, NumpyAdadelta, options, SHAPES, dtype)


def test_the_kernel_runs_for_plain_parameters_and_numpy_for_other_layouts(monkeypatch):
    from ember.kernels import optim as kernels

    calls = []
    original = kernels.adadelta_update
    monkeypatch.setattr(kernels, "adadelta_update", lambda *args: calls.append(args[0]) or original(*args))
    w = ember.randn(4, 3, requires_grad=True)
    half = ember.randn(5, dtype=ember.float16, requires_grad=True)  # (float16: the numpy path)
    opt = optim.Adadelta([w, half])
    (w.sum() + half.float().sum()).backward()
    before = half.detach().clone()
    opt.step()
    assert calls == [12]
    assert not ember.equal(half.detach(), before)
