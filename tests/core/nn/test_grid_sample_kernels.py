"""The numba kernels of 4-d F.grid_sample (kernels/grid_sample_2d.py): bilinear and nearest, every padding mode
and align_corners, float32 and float64, grids reaching far outside [-1, 1], against torch for every requires-grad
subset of (input, grid); the kernels' work split over threads; and that the common case takes them."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.kernels import grid_sample as grid_sample_kernels
from ember.kernels import grid_sample_2d
from ember.nn import functional as F

CASES = list(itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True]))
SUBSETS = [(True, True), (True, False), (False, True)]
# (input, grid): a non-square input, more output points than input pixels, one-pixel axes
SHAPES = [((2, 3, 5, 7), (2, 6, 4, 2)), ((3, 2, 1, 1), (3, 2, 3, 2)), ((1, 2, 1, 6), (1, 3, 5, 2))]


def _operands(rng, input_shape, grid_shape, dtype):
    x = rng.standard_normal(input_shape).astype(dtype)
    grid = rng.uniform(-3.2, 3.2, grid_shape).astype(dtype)  # several reflections deep
    grid[0, 0, :2] = [[1.0, -1.0], [0.0, 0.5]]  # exactly on the border and at a pixel's edge
    upstream = rng.standard_normal(input_shape[:2] + grid_shape[1:3]).astype(dtype)
    return x, grid, upstream


def _run(lib, functional, x, grid, upstream, mode, padding_mode, align_corners, subset):
    xt, gt = lib.tensor(x, requires_grad=subset[0]), lib.tensor(grid, requires_grad=subset[1])
    y = functional.grid_sample(xt, gt, mode, padding_mode, align_corners)
    (y * lib.tensor(upstream)).sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in (xt, gt)]
    return y.detach().numpy(), grads


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("mode, padding_mode, align_corners", CASES)
def test_matches_torch_for_every_requires_grad_subset(mode, padding_mode, align_corners, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    for (input_shape, grid_shape), subset in itertools.product(SHAPES, SUBSETS):
        x, grid, upstream = _operands(rng, input_shape, grid_shape, dtype)
        ours = _run(ember, F, x, grid, upstream, mode, padding_mode, align_corners, subset)
        theirs = _run(torch, torch.nn.functional, x, grid, upstream, mode, padding_mode, align_corners, subset)
        where = f"{input_shape} {grid_shape} requires_grad={subset}"
        assert ours[0].dtype == dtype
        np.testing.assert_allclose(ours[0], theirs[0], err_msg=f"forward, {where}", **tol)
        for name, g, h in zip(["input", "grid"], ours[1], theirs[1]):
            assert (g is None) == (h is None), f"{name} gradient, {where}"
            if h is not None:
                assert g.dtype == dtype
                np.testing.assert_allclose(g, h, err_msg=f"{name} gradient, {where}", **tol)


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_nan_and_infinite_points_with_zeros_padding_match_torch(mode):
    # a NaN or infinite point gets NaN weights: its output (and grid gradient) is NaN, its input gradient nothing
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, grid, upstream = _operands(rng, (2, 2, 4, 5), (2, 3, 4, 2), np.float64)
    grid[1, 1, :3] = [[np.nan, 0.2], [0.1, np.inf], [-np.inf, -np.inf]]
    ours = _run(ember, F, x, grid, upstream, mode, "zeros", False, (True, True))
    theirs = _run(torch, torch.nn.functional, x, grid, upstream, mode, "zeros", False, (True, True))
    for a, b in zip([ours[0], *ours[1]], [theirs[0], *theirs[1]]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("mode, padding_mode", [("bilinear", "zeros"), ("bilinear", "reflection"),
                                                ("nearest", "border")])
def test_split_over_threads_gives_the_one_thread_result(monkeypatch, mode, padding_mode):
    # many images' points land on the same pixels: the input gradient's scatter must not lose any addition
    rng = np.random.default_rng(2)
    x, grid, upstream = _operands(rng, (8, 3, 4, 4), (8, 9, 9, 2), np.float64)
    one_thread = [grid_sample_kernels.grid_sample(x, grid, mode, padding_mode, True),
                  *grid_sample_kernels.grid_sample_backward(x, grid, upstream, mode, padding_mode, True, True, True)]
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread")
    previous = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        for kernel in (grid_sample_2d._sample_bilinear, grid_sample_2d._sample_nearest,
                       grid_sample_2d._sample_bilinear_backward, grid_sample_2d._scatter_nearest):
            monkeypatch.setattr(kernel, "work", 1)
        split = [grid_sample_kernels.grid_sample(x, grid, mode, padding_mode, True),
                 *grid_sample_kernels.grid_sample_backward(x, grid, upstream, mode, padding_mode, True, True, True)]
    finally:
        numba.set_num_threads(previous)
    for a, b in zip(split, one_thread):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_common_case_runs_in_the_kernels_not_the_sparse_matrices(monkeypatch):
    # the 4-d bilinear / nearest forward and backward never build the numpy taps (the slow path)
    def refuse(*args, **kwargs):
        raise AssertionError("sampled through _Taps")

    monkeypatch.setattr(grid_sample_kernels, "_Taps", refuse)
    for mode in ("bilinear", "nearest"):
        x = ember.randn(2, 3, 5, 6, requires_grad=True)
        grid = (ember.rand(2, 4, 4, 2) * 2.4 - 1.2).requires_grad_()
        F.grid_sample(x, grid, mode, "reflection", False).sum().backward()
        assert x.grad is not None and grid.grad is not None
