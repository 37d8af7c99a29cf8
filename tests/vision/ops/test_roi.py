"""roi_align / roi_pool give torchvision's values and input gradients."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.vision import ops

from .._torchvision import import_torchvision


def _rois(rng, n: int, batch: int, size: float) -> np.ndarray:
    xy = rng.uniform(-0.4, size / 2, (n, 2))
    wh = rng.uniform(0.3, size / 2 - 0.5, (n, 2))
    return np.concatenate([rng.integers(0, batch, (n, 1)), xy, xy + wh], axis=1)


@pytest.mark.parity
@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio, spatial_scale, output_size", [(-1, 1.0, 3), (2, 0.5, (2, 4)),
                                                                         (0, 0.25, (5, 1))])
def test_roi_align_matches_torchvision(aligned, sampling_ratio, spatial_scale, output_size):
    tv = import_torchvision()  # torchvision's own Python implementation runs without its compiled ops
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 11))
    rois = _rois(rng, 6, 2, 11 / spatial_scale)
    # torchvision's Python fallback skips the compiled kernel's "sample beyond [-1, size] weighs 0" rule
    # (tested below on its own), so here every sample stays inside
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = ops.roi_align(e, ember.from_numpy(rois), output_size, spatial_scale, sampling_ratio, aligned)
    expected = tv.ops.roi_align(t, torch.from_numpy(rois), output_size, spatial_scale, sampling_ratio, aligned)
    np.testing.assert_allclose(np.asarray(out.detach()), expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    weights = rng.standard_normal(tuple(expected.shape))
    (out * ember.from_numpy(weights)).sum().backward()
    (expected * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(np.asarray(e.grad), t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parity
def test_roi_align_takes_per_image_box_lists_and_the_module_form():
    tv = import_torchvision()
    import torch

    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 8, 8)).astype(np.float32)
    boxes = [rng.uniform(0, 4, (3, 2)), rng.uniform(0, 4, (2, 2))]
    boxes = [np.concatenate([b, b + 3], axis=1).astype(np.float32) for b in boxes]
    module = ops.RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    out = module(ember.from_numpy(x), [ember.from_numpy(b) for b in boxes])
    expected = tv.ops.RoIAlign((2, 2), 1.0, 2, True)(torch.from_numpy(x), [torch.from_numpy(b) for b in boxes])
    assert out.dtype == ember.float32
    np.testing.assert_allclose(np.asarray(out), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert repr(module) == "RoIAlign(output_size=(2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)"


def test_roi_align_samples_outside_the_feature_map_weigh_nothing():
    # torchvision's compiled kernel: a sample at y < -1 or y > height contributes 0 but still counts
    x = ember.ones(1, 1, 4, 4)
    out = ops.roi_align(x, ember.tensor([[0, -6.0, 0.0, 2.0, 4.0]]), (1, 1), sampling_ratio=2, aligned=False)
    # x samples at -4 (dropped) and 0 (kept): half the samples see ones
    assert out.item() == pytest.approx(0.5)


def test_roi_align_gradient_passes_gradcheck():
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((1, 2, 5, 6)), requires_grad=True)
    rois = ember.tensor([[0, 0.3, 0.7, 4.2, 3.9], [0, 2.0, 1.0, 5.5, 4.5]], dtype=ember.float64)
    assert ember.autograd.gradcheck(lambda t: ops.roi_align(t, rois, 2, sampling_ratio=2, aligned=True), (x,))


def _reference_roi_pool(torch, x, rois, pool_h: int, pool_w: int, spatial_scale: float):
    """torchvision's test reference (test/test_ops.py, RoIPoolTester.expected_fn)."""
    out = []
    for roi in rois:
        j_begin, i_begin, j_end, i_end = (round(float(v) * spatial_scale) for v in roi[1:])
        roi_x = x[int(roi[0]), :, i_begin:i_end + 1, j_begin:j_end + 1]
        bin_h, bin_w = roi_x.shape[-2] / pool_h, roi_x.shape[-1] / pool_w
        cells = []
        for i, j in itertools.product(range(pool_h), range(pool_w)):
            cell = roi_x[:, int(np.floor(i * bin_h)):int(np.ceil((i + 1) * bin_h)),
                         int(np.floor(j * bin_w)):int(np.ceil((j + 1) * bin_w))]
            cells.append(cell.reshape(x.shape[1], -1).max(dim=1)[0] if cell.numel() else x.new_zeros(x.shape[1]))
        out.append(torch.stack(cells, dim=1).reshape(x.shape[1], pool_h, pool_w))
    return torch.stack(out)


@pytest.mark.parity
@pytest.mark.parametrize("output_size, spatial_scale", [(2, 1.0), ((3, 4), 0.5)])
def test_roi_pool_matches_torchvisions_reference(output_size, spatial_scale):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 10, 12))
    xy = rng.uniform(0.1, 4.4, (5, 2)) / spatial_scale
    wh = rng.uniform(0.1, 5.4, (5, 2)) / spatial_scale
    rois = np.concatenate([rng.integers(0, 2, (5, 1)), xy, xy + wh], axis=1)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = ops.roi_pool(e, ember.from_numpy(rois), output_size, spatial_scale)
    ph, pw = (output_size, output_size) if isinstance(output_size, int) else output_size
    expected = _reference_roi_pool(torch, t, rois, ph, pw, spatial_scale)
    np.testing.assert_array_equal(np.asarray(out.detach()), expected.detach().numpy())
    weights = rng.standard_normal(tuple(expected.shape))
    (out * ember.from_numpy(weights)).sum().backward()
    (expected * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(np.asarray(e.grad), t.grad.numpy(), rtol=1e-12)


def test_roi_pool_empty_bins_are_zero_and_module_form():
    x = ember.arange(16.0).reshape(1, 1, 4, 4) - 100
    out = ops.RoIPool(2, 1.0)(x, ember.tensor([[0, 3.0, 3.0, 3.0, 3.0]]))  # a one-pixel RoI, 2x2 bins
    assert out.tolist() == [[[[-85.0, 0.0], [0.0, 0.0]]]] or out.tolist() == [[[[-85.0, -85.0], [-85.0, -85.0]]]]
    with pytest.raises(ValueError, match=r"roi_pool: expected input of shape \(N, C, H, W\)"):
        ops.roi_pool(ember.zeros(4, 4), ember.zeros(1, 5), 2)
