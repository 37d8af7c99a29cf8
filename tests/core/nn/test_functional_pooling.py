"""Pooling: gradcheck (incl. ceil_mode, padding, dilation), torch parity, indices."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Float, Spec, check_gradcheck, check_parity, ids

SPECS = [
    Spec("max_pool1d", lambda F, x: F.max_pool1d(x, 3, stride=2, padding=1), [(2, 3, 9)]),
    Spec("max_pool1d_ceil_dil", lambda F, x: F.max_pool1d(x, 2, stride=2, dilation=2, ceil_mode=True), [(1, 2, 8)]),
    Spec("max_pool2d", lambda F, x: F.max_pool2d(x, 2), [(2, 3, 6, 6)]),
    Spec("max_pool2d_ceil", lambda F, x: F.max_pool2d(x, 3, stride=2, ceil_mode=True), [(1, 2, 6, 7)]),
    Spec("max_pool2d_pad_dil", lambda F, x: F.max_pool2d(x, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1)),
         [(1, 2, 6, 5)]),
    Spec("max_pool2d_indices_unbatched", lambda F, x: F.max_pool2d(x, 2, return_indices=True), [(2, 4, 4)]),
    Spec("avg_pool1d", lambda F, x: F.avg_pool1d(x, 3, stride=2, padding=1, ceil_mode=True), [(2, 2, 8)]),
    Spec("avg_pool2d", lambda F, x: F.avg_pool2d(x, 2), [(2, 3, 4, 6)]),
    Spec("avg_pool2d_ceil_pad", lambda F, x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
         [(1, 2, 6, 7)]),
    Spec("avg_pool2d_exclude_pad", lambda F, x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                                           count_include_pad=False), [(1, 2, 6, 7)]),
    Spec("avg_pool2d_divisor", lambda F, x: F.avg_pool2d(x, 2, divisor_override=3), [(1, 2, 4, 4)]),
    Spec("adaptive_avg_pool1d", lambda F, x: F.adaptive_avg_pool1d(x, 3), [(2, 2, 7)]),
    Spec("adaptive_avg_pool2d", lambda F, x: F.adaptive_avg_pool2d(x, (3, 2)), [(2, 2, 7, 5)]),
    Spec("adaptive_avg_pool2d_global", lambda F, x: F.adaptive_avg_pool2d(x, 1), [(2, 3, 4, 4)]),
    Spec("adaptive_avg_pool2d_none", lambda F, x: F.adaptive_avg_pool2d(x, (None, 2)), [(1, 2, 3, 5)]),
    Spec("adaptive_max_pool2d", lambda F, x: F.adaptive_max_pool2d(x, (3, 2)), [(2, 2, 7, 5)]),
    Spec("adaptive_max_pool1d", lambda F, x: F.adaptive_max_pool1d(x, 4), [(2, 2, 9)]),
    Spec("lp_pool2d", lambda F, x: F.lp_pool2d(x, 2, 2), [Float((1, 2, 4, 4), 0.5, 2.0)]),
    Spec("lp_pool1d", lambda F, x: F.lp_pool1d(x, 3, 2), [Float((2, 3, 7), 0.5, 2.0)]),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}])
def test_max_pool_indices_match_torch(kwargs):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(np.float32)
    _, ours = F.max_pool2d(ember.tensor(x), return_indices=True, **kwargs)
    _, theirs = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    assert ours.dtype == ember.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    _, ours = F.adaptive_max_pool2d(ember.tensor(x), 3, return_indices=True)
    _, theirs = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), 3, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


WINDOWS = [  # the specialised 2x2 / 3x3 stride-2 kernels (inside and border windows) and the general one
    {"kernel_size": 2},
    {"kernel_size": 2, "padding": 1},
    {"kernel_size": 2, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": (3, 2), "stride": (1, 3), "padding": (1, 0), "dilation": (2, 1)},
    {"kernel_size": 3, "stride": 1, "padding": 1},
]


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", WINDOWS, ids=[str(sorted(k.items())) for k in WINDOWS])
def test_max_pool2d_values_indices_and_gradient_equal_torch_with_ties_and_nans(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, (2, 3, 11, 14)).astype(np.float32)  # many ties: the first maximum must win
    x[0, 0, 5, 6] = x[0, 0, 5, 7] = x[1, 2, 0, 0] = x[1, 2, 10, 13] = np.nan  # inside and on the border
    ours, ours_idx = F.max_pool2d(ember.tensor(x, requires_grad=True), return_indices=True, **kwargs)
    theirs, their_idx = torch.nn.functional.max_pool2d(torch.tensor(x, requires_grad=True), return_indices=True,
                                                       **kwargs)
    np.testing.assert_array_equal(ours_idx.numpy(), their_idx.numpy())
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    xe, xt = ember.tensor(np.nan_to_num(x), requires_grad=True), torch.tensor(np.nan_to_num(x), requires_grad=True)
    g = rng.standard_normal(ours.shape).astype(np.float32)
    F.max_pool2d(xe, **kwargs).backward(ember.tensor(g))
    torch.nn.functional.max_pool2d(xt, **kwargs).backward(torch.tensor(g))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_propagates_nan_and_points_at_the_last_nan_of_the_window():
    # PyTorch's rule, `val > max || isnan(val)`: every NaN takes over, so the last one in the window wins
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 0, 1, 1] = np.nan
    for pool in (lambda t: F.max_pool2d(t, 2, return_indices=True),
                 lambda t: F.adaptive_max_pool2d(t, 2, return_indices=True)):
        values, indices = pool(ember.tensor(x))
        assert np.isnan(values.numpy()[0, 0, 0, 0]) and values.numpy().ravel()[1:].tolist() == [7, 13, 15]
        assert indices.numpy().ravel().tolist() == [5, 7, 13, 15]  # torch 2.13 gives the same


def test_pool_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(ember.randn(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(RuntimeError, match="too small"):
        F.avg_pool2d(ember.randn(1, 1, 2, 2), 3)


def test_max_pool_gradient_goes_to_the_maximum_only():
    x = ember.tensor([[[[1.0, 5.0], [3.0, 2.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0.0, 1.0], [0.0, 0.0]]]])
