"""The array path of every functional op agrees with Pillow's own operation on the same picture."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.vision.transforms import functional as F
from PIL import Image


@pytest.fixture(scope="module")
def picture():
    """A smooth but detailed RGB picture (random colours upsampled), as PIL and as an HWC array."""
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (12, 15, 3), dtype=np.uint8)).resize((61, 47), Image.BILINEAR)
    return img, np.asarray(img)


def _diff(a, b):
    a, b = np.asarray(a).astype(int), np.asarray(b).astype(int)
    assert a.shape == b.shape
    return np.abs(a - b)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic", "box", "hamming", "lanczos"])
@pytest.mark.parametrize("size", [(20, 30), (100, 90), (47, 20)])
def test_resize_matches_pillow(picture, mode, size):
    img, arr = picture
    d = _diff(F.resize(arr, size, mode), F.resize(img, size, mode))
    assert d.max() <= (0 if mode == "nearest" else 1)  # Pillow rounds its fixed-point intermediate


def test_resize_smaller_edge_and_max_size(picture):
    img, arr = picture
    assert F.resize(arr, 30).shape == (30, 38, 3)
    assert F.resize(img, 30).size == (38, 30)
    assert F.get_size(F.resize(arr, 30, max_size=35)) == [27, 35]


@pytest.mark.parametrize("angle", [30, -45, 90, 17.3])
@pytest.mark.parametrize("expand", [False, True])
def test_rotate_matches_pillow(picture, angle, expand):
    img, arr = picture
    bilinear = _diff(F.rotate(arr, angle, "bilinear", expand, fill=[10, 20, 30]),
                     F.rotate(img, angle, "bilinear", expand, fill=[10, 20, 30]))
    assert bilinear.max() <= 1
    nearest = _diff(F.rotate(arr, angle, "nearest", expand), F.rotate(img, angle, "nearest", expand))
    # Pillow's nearest warp uses 16.16 fixed point: a few pixels on exact boundaries may round the other way
    assert (nearest == 0).mean() > 0.99


def test_rotate_matches_pillow_rotate_itself(picture):
    img, arr = picture
    for angle in (25, 90):
        ours = F.rotate(arr, angle, "bilinear", expand=True)
        theirs = img.rotate(angle, Image.BILINEAR, expand=True)
        assert _diff(ours, theirs).max() <= 1


def test_affine_and_perspective_match_pillow(picture):
    img, arr = picture
    assert _diff(F.affine(arr, 20, (3, -4), 1.2, (10, 5), "bilinear"),
                 F.affine(img, 20, (3, -4), 1.2, (10, 5), "bilinear")).max() <= 1
    start = [[0, 0], [60, 0], [60, 46], [0, 46]]
    end = [[5, 3], [55, 0], [60, 40], [2, 46]]
    assert _diff(F.perspective(arr, start, end), F.perspective(img, start, end)).max() <= 1


def test_crop_pad_flip_match_pillow(picture):
    img, arr = picture
    assert _diff(F.crop(arr, 5, 7, 20, 30), img.crop((7, 5, 37, 25))).max() == 0
    assert _diff(F.crop(arr, -5, 40, 20, 30), img.crop((40, -5, 70, 15))).max() == 0  # zero outside
    assert _diff(F.center_crop(arr, 21), F.center_crop(img, 21)).max() == 0
    assert _diff(F.pad(arr, [1, 2, 3, 4], fill=7), F.pad(img, [1, 2, 3, 4], fill=7)).max() == 0
    assert _diff(F.hflip(arr), img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)).max() == 0
    assert _diff(F.vflip(arr), img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)).max() == 0


@pytest.mark.parametrize("name, factor", [
    ("adjust_brightness", 1.4), ("adjust_brightness", 0.3), ("adjust_contrast", 0.6), ("adjust_contrast", 1.8),
    ("adjust_saturation", 0.3), ("adjust_saturation", 1.7), ("adjust_sharpness", 2.0), ("adjust_sharpness", 0.2),
])
def test_colour_ops_match_pillow_image_enhance(picture, name, factor):
    img, arr = picture
    assert _diff(getattr(F, name)(arr, factor), getattr(F, name)(img, factor)).max() <= 1


@pytest.mark.parametrize("hue", [0.2, -0.4])
def test_hue_close_to_pillow_hsv(picture, hue):
    img, arr = picture
    d = _diff(F.adjust_hue(arr, hue), F.adjust_hue(img, hue))
    # Pillow's HSV is quantised to uint8, ours is float: close, not identical
    assert d.mean() < 1.0 and np.percentile(d, 99) <= 6


def test_ops_from_image_ops_match_pillow(picture):
    img, arr = picture
    assert _diff(F.rgb_to_grayscale(arr)[..., 0], img.convert("L")).max() <= 1
    for name, args in [("invert", ()), ("posterize", (3,)), ("solarize", (100,)), ("equalize", ()),
                       ("autocontrast", ())]:
        assert _diff(getattr(F, name)(arr, *args), getattr(F, name)(img, *args)).max() <= 1, name


def test_tensor_chw_and_float_inputs_agree_with_uint8_hwc(picture):
    _, arr = picture
    chw = ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    # (geometric ops on tensors follow torchvision's tensor kernels instead: test_tensor_parity.py)
    out = F.adjust_sharpness(chw, 1.7)
    assert isinstance(out, ember.Tensor) and out.dtype == ember.uint8
    np.testing.assert_array_equal(out._data.transpose(1, 2, 0), F.adjust_sharpness(arr, 1.7))
    as_float = F.resize(arr.astype(np.float32) / 255, (20, 30))
    assert as_float.dtype == np.float32
    assert np.abs(as_float * 255 - F.resize(arr, (20, 30))).max() <= 0.51
    batch = ember.from_numpy(np.stack([chw._data, chw._data]))
    assert F.hflip(batch).shape == (2, 3, 47, 61)


@pytest.mark.parametrize("bad", [[1, 2, 3], "image.png", None, 3.0, np.zeros(5, np.uint8),
                                 np.zeros((4, 4), dtype=np.int64), np.zeros((4, 4), dtype=object)])
def test_unsupported_input_raises_type_error(bad):
    for fn in (F.hflip, lambda x: F.resize(x, 2), lambda x: F.adjust_brightness(x, 1.1), F.to_tensor):
        with pytest.raises(TypeError, match="expected a PIL image"):
            fn(bad)


def test_conversions(picture):
    img, arr = picture
    t = F.to_tensor(img)
    assert t.dtype == ember.float32 and t.shape == (3, 47, 61) and float(t.max()) <= 1.0
    np.testing.assert_allclose(t._data, arr.transpose(2, 0, 1) / 255.0, atol=1e-6)
    assert F.pil_to_tensor(img).dtype == ember.uint8
    back = F.to_pil_image(t)
    assert back.mode == "RGB" and _diff(back, img).max() == 0
    with pytest.raises(TypeError):
        F.pil_to_tensor(arr)
    with pytest.raises(TypeError, match="float"):
        F.normalize(F.pil_to_tensor(img), [0.5] * 3, [0.5] * 3)
    norm = F.normalize(t, [0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    np.testing.assert_allclose(norm._data, (t._data - 0.5) / 0.25, atol=1e-6)
    scaled = F.to_dtype(F.pil_to_tensor(img), ember.float32, scale=True)
    np.testing.assert_allclose(scaled._data, t._data, atol=1e-6)
