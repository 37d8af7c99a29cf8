"""Shared by the fused-optimizer tests: the same steps in Ember and torch, and their comparison."""

from __future__ import annotations

import numpy as np


def random_steps(shapes, dtype, steps=6):
    """Starting values for parameters of ``shapes`` and ``steps`` gradients for each, standard normal."""
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def run_steps(lib, cls, options, init, grads, **extra):
    """``cls`` (an optimizer class of ``lib``) over parameters starting at ``init``, one step per entry of
    ``grads``; the final parameters as arrays, and the optimizer."""
    params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
    opt = cls(params, **options, **extra)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = lib.tensor(g)
        opt.step()
    return [np.asarray(p.detach().numpy()) for p in params], opt


def assert_float32_steps_match(ours, opt, theirs, torch_opt, init):
    """Every float32 parameter moved and equals torch's, and every state entry torch keeps equals Ember's."""
    for a, b, start in zip(ours, theirs, init):
        assert a.dtype == np.float32 and not np.allclose(a, start)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for ours_state, torch_state in zip(opt.state_dict()["state"].values(),
                                       torch_opt.state_dict()["state"].values()):
        for key, value in torch_state.items():
            np.testing.assert_allclose(np.asarray(ours_state[key]._data), value.numpy(), rtol=1e-5, atol=1e-7,
                                       err_msg=key)


def assert_kernel_gives_numpy_paths_values(lib, cls, numpy_cls, options, shapes, dtype):
    """``cls`` (its one-pass kernel) and ``numpy_cls`` (a subclass that takes the numpy path) take the same
    steps from the same start, to a few ulps, keeping ``dtype``."""
    init, grads = random_steps(shapes, dtype)
    fused, _ = run_steps(lib, cls, options, init, grads)
    plain, _ = run_steps(lib, numpy_cls, options, init, grads)
    for a, b in zip(fused, plain):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=4 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)
