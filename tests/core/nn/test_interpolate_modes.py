"""F.interpolate's bicubic, trilinear, lanczos, 3-D area and 5-D nearest modes, recompute_scale_factor and
antialiased bicubic against torch (forward and input gradient, up and down), nn.Upsample with them, and torch's errors
for modes that do not fit the input."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import functional as F

from .functional_specs import Spec, check_gradcheck, check_parity


def _spec(name, shape, **kwargs):
    return Spec(name, lambda F, x: F.interpolate(x, **kwargs), [shape])


SPECS = [
    _spec("bicubic_up", (2, 3, 4, 5), size=(7, 9), mode="bicubic"),
    _spec("bicubic_up_scale", (1, 2, 3, 4), scale_factor=2.5, mode="bicubic"),
    _spec("bicubic_down", (1, 2, 8, 9), scale_factor=0.4, mode="bicubic"),
    _spec("bicubic_align_corners", (1, 2, 5, 6), size=(9, 4), mode="bicubic", align_corners=True),
    _spec("bicubic_recompute", (1, 2, 8, 9), scale_factor=0.45, mode="bicubic", recompute_scale_factor=True),
    _spec("bicubic_antialias_down", (1, 2, 9, 11), size=(4, 3), mode="bicubic", antialias=True),
    _spec("bicubic_antialias_mixed", (1, 2, 8, 9), scale_factor=(0.3, 1.7), mode="bicubic", antialias=True),
    _spec("bicubic_antialias_align", (1, 2, 9, 8), size=(4, 3), mode="bicubic", antialias=True, align_corners=True),
    _spec("lanczos_down", (1, 2, 11, 9), size=(4, 3), mode="lanczos", antialias=True),
    _spec("lanczos_mixed", (1, 2, 6, 9), scale_factor=(1.5, 0.4), mode="lanczos", antialias=True),
    _spec("trilinear_up", (1, 2, 3, 4, 5), size=(5, 2, 7), mode="trilinear"),
    _spec("trilinear_scale", (1, 2, 3, 4, 3), scale_factor=1.5, mode="trilinear"),
    _spec("trilinear_down_align", (1, 2, 6, 7, 5), scale_factor=0.6, mode="trilinear", align_corners=True),
    _spec("area_3d_down", (2, 2, 6, 7, 5), size=(4, 3, 2), mode="area"),
    _spec("area_3d_up", (1, 2, 3, 4, 2), size=(5, 7, 3), mode="area"),
    _spec("area_3d_scale", (1, 2, 6, 7, 5), scale_factor=0.5, mode="area"),
    _spec("nearest_5d", (1, 2, 3, 4, 5), size=(5, 7, 2), mode="nearest"),
    _spec("nearest_5d_scale", (1, 2, 3, 4, 3), scale_factor=1.7, mode="nearest"),
    _spec("nearest_exact_5d", (1, 2, 3, 4, 5), scale_factor=0.6, mode="nearest-exact"),
    _spec("nearest_recompute", (1, 2, 5, 7), scale_factor=0.6, mode="nearest", recompute_scale_factor=True),
    _spec("linear_recompute", (1, 2, 7), scale_factor=0.45, mode="linear", recompute_scale_factor=True),
    _spec("linear_keep_scale", (1, 2, 7), scale_factor=0.45, mode="linear", recompute_scale_factor=False),
]


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_matches_torch(spec):
    pytest.importorskip("torch")
    check_parity(spec)


@pytest.mark.parametrize("spec", SPECS[::3], ids=repr)
def test_gradcheck(spec):
    check_gradcheck(spec)


def test_recompute_scale_factor_changes_the_sampling_positions():
    # 7 * 0.45 -> 3 outputs, output i sampled at (i + 0.5) * scale - 0.5 with scale 1 / 0.45, or 7 / 3 when
    # recomputed
    x = ember.arange(7.0).reshape(1, 1, 7)
    kept = F.interpolate(x, scale_factor=0.45, mode="linear")
    recomputed = F.interpolate(x, scale_factor=0.45, mode="linear", recompute_scale_factor=True)
    assert kept.shape == recomputed.shape == (1, 1, 3)
    np.testing.assert_allclose(recomputed.numpy().ravel(), [2 / 3, 3.0, 5 + 1 / 3], atol=1e-5)
    assert not np.allclose(kept.numpy(), recomputed.numpy())


def test_bicubic_overshoots_and_keeps_constants():
    x = ember.zeros(1, 1, 1, 6)
    x[..., 3:] = 1.0
    y = F.interpolate(x, size=(1, 24), mode="bicubic").numpy()
    assert y.min() < 0 and y.max() > 1  # cubic convolution rings at a step, as in torch
    constant = F.interpolate(ember.full((1, 1, 3, 4), 2.5), scale_factor=3, mode="bicubic")
    np.testing.assert_allclose(constant.numpy(), 2.5, rtol=1e-6)


def test_area_3d_is_the_mean_of_each_block():
    x = ember.randn(1, 2, 4, 6, 2)
    y = F.interpolate(x, size=(2, 3, 1), mode="area")
    blocks = x.numpy().reshape(1, 2, 2, 2, 3, 2, 1, 2).mean(axis=(3, 5, 7))
    np.testing.assert_allclose(y.numpy(), blocks, atol=1e-6)


@pytest.mark.parametrize("mode, size, shape", [
    ("bicubic", 4, (1, 1, 8)), ("bicubic", 4, (1, 1, 4, 4, 4)), ("trilinear", 4, (1, 1, 8)),
    ("trilinear", 4, (1, 1, 4, 4)), ("bilinear", 4, (1, 1, 4, 4, 4)), ("linear", 4, (1, 1, 4, 4)),
    ("lanczos3", 4, (1, 1, 4, 4)), ("nearest", 4, (1, 4)),
])
def test_mode_that_does_not_fit_the_input_raises_not_implemented(mode, size, shape):
    with pytest.raises(NotImplementedError, match=f"{len(shape)}D"):
        F.interpolate(ember.zeros(*shape), size=size, mode=mode)


@pytest.mark.parity
@pytest.mark.parametrize("kwargs, shape", [
    ({"size": 4, "mode": "bicubic"}, (1, 1, 8)),
    ({"size": 4, "mode": "trilinear"}, (1, 1, 4, 4)),
    ({"size": 4, "mode": "nearest", "align_corners": True}, (1, 1, 4, 4)),
    ({"size": (4, 4, 4), "mode": "nearest"}, (1, 1, 4, 4)),
    ({"scale_factor": (2, 2), "mode": "trilinear"}, (1, 1, 4, 4, 4)),
    ({"size": 4, "mode": "nearest", "recompute_scale_factor": True}, (1, 1, 4, 4)),
    ({"size": 4, "scale_factor": 2, "mode": "nearest"}, (1, 1, 4, 4)),
    ({"mode": "nearest"}, (1, 1, 4, 4)),
    ({"size": 4, "mode": "trilinear", "antialias": True}, (1, 1, 4, 4, 4)),
    ({"size": 4, "mode": "lanczos"}, (1, 1, 4, 4)),
    ({"size": 4, "mode": "lanczos", "antialias": True, "align_corners": True}, (1, 1, 4, 4)),
    ({"size": 4, "mode": "lanczos"}, (1, 1, 4)),
])
def test_errors_match_torch(kwargs, shape):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch.nn.functional.interpolate(torch.zeros(shape), **kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        F.interpolate(ember.zeros(*shape), **kwargs)
    assert str(ours.value).split(" (")[0][:40] == str(theirs.value).split(" (")[0][:40]


def test_bicubic_same_size_gradient_is_that_of_the_forward():
    # torch's CPU backward copies the gradient when the size does not change, even when a scale_factor moved
    # the sampling points (4 * 1.2 -> 4); Ember's gradient is the derivative of the forward it computed
    check_gradcheck(_spec("bicubic_same_size_scaled", (1, 1, 4, 4), scale_factor=1.2, mode="bicubic"))


@pytest.mark.parity
@pytest.mark.parametrize("kwargs, shape", [
    ({"scale_factor": 2, "mode": "bicubic", "align_corners": True}, (1, 2, 3, 4)),
    ({"size": (2, 5, 3), "mode": "trilinear"}, (1, 2, 4, 3, 3)),
    ({"scale_factor": 0.5, "mode": "area"}, (1, 2, 4, 6, 4)),
    ({"scale_factor": (2.0, 1.0, 0.5), "mode": "nearest-exact", "recompute_scale_factor": True}, (1, 1, 2, 3, 4)),
])
def test_upsample_module_matches_torch(kwargs, shape):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    np.testing.assert_allclose(ours(ember.tensor(values)).numpy(), theirs(torch.tensor(values)).numpy(), atol=1e-5)


def test_upsampling_2d_modules_are_unchanged():
    x = ember.randn(1, 2, 3, 3)
    np.testing.assert_array_equal(nn.UpsamplingNearest2d(scale_factor=2)(x).numpy(),
                                  F.interpolate(x, scale_factor=2, mode="nearest").numpy())
    np.testing.assert_array_equal(nn.UpsamplingBilinear2d(size=(5, 4))(x).numpy(),
                                  F.interpolate(x, size=(5, 4), mode="bilinear", align_corners=True).numpy())


@pytest.mark.parametrize("name", ["upsample", "upsample_nearest", "upsample_bilinear"])
def test_deprecated_upsample_functions_warn(name):
    with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
        getattr(F, name)(ember.zeros(1, 1, 2, 2), scale_factor=2)


def test_size_must_hold_integers():
    with pytest.raises(TypeError, match="expected size to be one of int"):
        F.interpolate(ember.zeros(1, 1, 4, 4), size=(2.0, 3))
    assert F.interpolate(ember.zeros(1, 1, 4, 4), size=(ember.tensor(2), np.int64(3))).shape == (1, 1, 2, 3)
