"""On tensors, the functional transforms give torchvision's numbers (torchvision's tensor kernels)."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.vision.transforms import functional as F

from .._torchvision import import_torchvision

pytestmark = pytest.mark.parity


@pytest.fixture(scope="module")
def tv():
    return import_torchvision()


def _image(dtype, shape=(3, 13, 17), seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "uint8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape, dtype=np.float32)


def _both(arr):
    import torch

    return ember.from_numpy(arr.copy()), torch.from_numpy(arr.copy())


def _check(out, expected, dtype, float_tol=1e-5):
    out, expected = np.asarray(out), expected.numpy()
    assert out.shape == expected.shape and out.dtype == expected.dtype
    if dtype == "uint8":
        assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1
    else:
        np.testing.assert_allclose(out, expected, atol=float_tol)


def test_resize_nearest_takes_torchvisions_pixels(tv):
    from torchvision.transforms.v2 import functional as TF

    e, t = _both(np.arange(36, dtype=np.float32).reshape(1, 6, 6))
    out = F.resize(e, [3, 3], interpolation=F.InterpolationMode.NEAREST)
    assert np.asarray(out)[0, :, 0].tolist() == [0.0, 12.0, 24.0]  # rows 0, 2, 4
    np.testing.assert_array_equal(np.asarray(out), TF.resize(t, [3, 3], TF.InterpolationMode.NEAREST).numpy())


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [(5, 7), (20, 30), (13, 40)])
def test_resize_matches_torchvision(tv, dtype, mode, antialias, size):
    from torchvision.transforms.v2 import functional as TF

    e, t = _both(_image(dtype))
    out = F.resize(e, list(size), interpolation=mode, antialias=antialias)
    expected = TF.resize(t, list(size), interpolation=TF.InterpolationMode(mode), antialias=antialias)
    _check(out, expected, dtype)


@pytest.mark.parametrize("output_size", [(8, 9), (16, 20), (14, 17), (4, 30)])
def test_center_crop_pads_the_same_sides_as_torchvision(tv, output_size):
    from torchvision.transforms.v2 import functional as TF

    e, t = _both(_image("uint8"))
    np.testing.assert_array_equal(np.asarray(F.center_crop(e, list(output_size))),
                                  TF.center_crop(t, list(output_size)).numpy())


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("channels", [1, 3])
def test_rgb_to_grayscale_matches_torchvision(tv, dtype, channels):
    from torchvision.transforms.v2 import functional as TF

    e, t = _both(_image(dtype))
    out = F.rgb_to_grayscale(e, channels)
    expected = TF.rgb_to_grayscale(t, channels)
    if dtype == "uint8":
        np.testing.assert_array_equal(np.asarray(out), expected.numpy())
    else:
        np.testing.assert_allclose(np.asarray(out), expected.numpy(), atol=1e-6)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("angle, expand, center, fill", [
    (30.0, False, None, None), (45.0, True, None, None), (-17.5, False, [3, 4], [0.5, 0.2, 0.9]),
    (90.0, False, None, None), (90.0, True, None, 0.3), (180.0, False, None, None), (270.0, True, [2, 2], None),
])
def test_rotate_matches_torchvision(tv, dtype, mode, angle, expand, center, fill):
    from torchvision.transforms.v2 import functional as TF

    e, t = _both(_image(dtype, (3, 10, 14)))
    if fill is not None and dtype == "uint8":
        fill = [round(v * 255) for v in fill] if isinstance(fill, list) else round(fill * 255)
    out = F.rotate(e, angle, mode, expand=expand, center=center, fill=fill)
    expected = TF.rotate(t, angle, TF.InterpolationMode(mode), expand=expand, center=center, fill=fill)
    _check(out, expected, dtype)


def test_rotate_nearest_breaks_half_pixel_ties_to_even(tv):
    from torchvision.transforms.v2 import functional as TF

    # on an even-sized image rotated by 90 degrees about a pixel corner, sample points fall on .5 ties
    e, t = _both(np.arange(48, dtype=np.float32).reshape(1, 6, 8))
    out = F.rotate(e, 90.0, "nearest", center=[3, 3])
    np.testing.assert_array_equal(np.asarray(out), TF.rotate(t, 90.0, TF.InterpolationMode.NEAREST,
                                                             center=[3, 3]).numpy())


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("mode, fill", [("nearest", None), ("bilinear", None), ("bilinear", 0.5), ("nearest", 0.25)])
def test_elastic_transform_matches_torchvision(tv, dtype, mode, fill):
    import torch
    from torchvision.transforms.v2 import functional as TF

    e, t = _both(_image(dtype, (3, 9, 12)))
    displacement = (np.random.default_rng(1).random((1, 9, 12, 2), dtype=np.float32) - 0.5) * 0.6
    if fill is not None and dtype == "uint8":
        fill = round(fill * 255)
    out = F.elastic_transform(e, ember.from_numpy(displacement), mode, fill)
    expected = TF.elastic_transform(t, torch.from_numpy(displacement), TF.InterpolationMode(mode), fill)
    _check(out, expected, dtype)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("angle, translate, scale, shear, center, fill", [
    (25.0, [2, -1], 1.1, [5.0, -3.0], None, None), (-40.0, [0, 0], 0.8, [12.0], [4, 3], 0.4),
    (0.0, [1.5, 0.5], 1.0, 0.0, None, None),
])
def test_affine_matches_torchvision(tv, dtype, mode, angle, translate, scale, shear, center, fill):
    from torchvision.transforms.v2 import functional as TF

    e, t = _both(_image(dtype, (3, 10, 13)))
    if fill is not None and dtype == "uint8":
        fill = round(fill * 255)
    out = F.affine(e, angle, translate, scale, shear, mode, fill, center)
    expected = TF.affine(t, angle, translate, scale, shear, TF.InterpolationMode(mode), fill, center)
    _check(out, expected, dtype)
