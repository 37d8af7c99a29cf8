"""pad / interpolate / unfold / fold: gradcheck and torch parity."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Spec, check_gradcheck, check_parity, ids

SPECS = [
    Spec("pad_constant", lambda F, x: F.pad(x, (1, 2, 0, 1), value=0.5), [(2, 3, 4)]),
    Spec("pad_constant_negative", lambda F, x: F.pad(x, (-1, 2)), [(2, 5)]),
    Spec("pad_reflect", lambda F, x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [(1, 2, 4, 4)]),
    Spec("pad_replicate", lambda F, x: F.pad(x, (3, 1), mode="replicate"), [(1, 2, 4)]),
    Spec("pad_circular", lambda F, x: F.pad(x, (1, 2, 2, 1), mode="circular"), [(1, 2, 3, 4)]),
    Spec("pad_reflect_3d", lambda F, x: F.pad(x, (2, 1, 0, 2, 1, 1), mode="reflect"), [(1, 2, 3, 4, 5)]),
    Spec("pad_replicate_3d", lambda F, x: F.pad(x, (1, 0, 2, 2, 0, 3), mode="replicate"), [(2, 1, 3, 2, 4)]),
    Spec("pad_circular_crop", lambda F, x: F.pad(x, (-1, 2, 3, -1), mode="circular"), [(1, 2, 4, 5)]),
    Spec("interpolate_nearest", lambda F, x: F.interpolate(x, scale_factor=2), [(1, 2, 3, 3)]),
    Spec("interpolate_nearest_size", lambda F, x: F.interpolate(x, size=(5, 3)), [(1, 2, 3, 4)]),
    Spec("interpolate_nearest_exact", lambda F, x: F.interpolate(x, size=5, mode="nearest-exact"), [(1, 2, 3)]),
    Spec("interpolate_linear", lambda F, x: F.interpolate(x, size=7, mode="linear"), [(1, 2, 4)]),
    Spec("interpolate_bilinear", lambda F, x: F.interpolate(x, size=(5, 7), mode="bilinear"), [(1, 2, 3, 4)]),
    Spec("interpolate_bilinear_align", lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear",
                                                                  align_corners=True), [(1, 2, 3, 3)]),
    Spec("interpolate_bilinear_down", lambda F, x: F.interpolate(x, scale_factor=0.5, mode="bilinear"),
         [(1, 1, 6, 5)]),
    Spec("interpolate_area", lambda F, x: F.interpolate(x, size=(2, 3), mode="area"), [(1, 2, 5, 6)]),
    Spec("unfold", lambda F, x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), [(2, 2, 5, 6)]),
    Spec("fold", lambda F, x: F.fold(x, (4, 5), 2, padding=1, stride=2), [(2, 8, 9)]),
    Spec("upsample", lambda F, x: F.upsample(x, scale_factor=2, mode="bilinear"), [(1, 2, 3, 3)]),
    Spec("upsample_nearest", lambda F, x: F.upsample_nearest(x, size=(4, 5)), [(1, 2, 3, 3)]),
    Spec("upsample_bilinear", lambda F, x: F.upsample_bilinear(x, scale_factor=2), [(2, 1, 3, 2)]),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


def test_fold_of_unfold_counts_overlaps():
    ones = ember.ones(1, 1, 3, 3)
    counts = F.fold(F.unfold(ones, 2), (3, 3), 2)
    np.testing.assert_array_equal(counts.numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_pad_errors():
    with pytest.raises(RuntimeError, match="reflect"):
        F.pad(ember.randn(1, 1, 3), (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="even length"):
        F.pad(ember.randn(2, 3), (1,))


def test_interpolate_needs_size_or_scale():
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(ember.randn(1, 1, 4, 4))


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_gradients_of_gradients_match_torch(mode):
    # the gradient of a padding is its fold, whose gradient is the padding again
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6))
    g = rng.standard_normal((2, 3, 8, 9))
    grads = []
    for lib, functional in ((ember, F), (torch, torch.nn.functional)):
        xx, gg = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
        (dx,) = lib.autograd.grad(functional.pad(xx, (1, 2, 2, 1), mode=mode), xx, gg, create_graph=True)
        (dx * dx).sum().backward()
        grads.append((dx.detach().numpy(), gg.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
