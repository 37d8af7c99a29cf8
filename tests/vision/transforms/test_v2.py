"""torchvision v2 transforms that detection and classification scripts use: same outputs as torchvision."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.vision import transforms as T
from ember.vision.transforms import functional as F

from .._torchvision import import_torchvision


def _image(shape=(3, 11, 14)):
    return np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parity
@pytest.mark.parametrize("size", [4, (5, 3), (11, 14)])
def test_five_and_ten_crop_match_torchvision(size):
    import_torchvision()
    import torch
    from torchvision.transforms.v2 import functional as TF

    arr = _image()
    for vertical in (False, True):
        ours = T.TenCrop(size, vertical_flip=vertical)(ember.from_numpy(arr))
        theirs = TF.ten_crop(torch.from_numpy(arr), list(np.broadcast_to(size, 2)), vertical_flip=vertical)
        assert len(ours) == len(theirs) == 10
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(np.asarray(a), b.numpy())
    assert len(T.FiveCrop(size)(arr.transpose(1, 2, 0))) == 5
    with pytest.raises(ValueError, match="bigger than the image size"):
        T.FiveCrop(12)(arr)


@pytest.mark.parity
@pytest.mark.parametrize("size, max_size", [(None, 9), ([6], 9), ([8], 9), ([5, 7], None)])
def test_resize_with_max_size_matches_torchvision(size, max_size):
    import_torchvision()
    import torch
    from torchvision.transforms import v2

    arr = _image()
    ours = T.Resize(size, max_size=max_size)(ember.from_numpy(arr))
    theirs = v2.Resize(size, max_size=max_size)(torch.from_numpy(arr))
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert np.abs(np.asarray(ours).astype(int) - theirs.numpy().astype(int)).max() <= 1


@pytest.mark.parity
def test_to_image_and_center_crop_transform_match_torchvision():
    import_torchvision()
    from torchvision.transforms import v2

    hwc = _image((7, 9, 3))
    ours = T.ToImage()(hwc)
    theirs = v2.ToImage()(hwc)
    assert isinstance(ours, ember.Tensor) and ours.dtype == ember.uint8
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())
    assert type(T.ToPureTensor()(ours)) is ember.Tensor  # ToImage gives a tv_tensors.Image, as v2's
    for size in ((10, 12), (4, 5), (6, 13)):
        np.testing.assert_array_equal(np.asarray(T.CenterCrop(size)(ours)), v2.CenterCrop(size)(theirs).numpy())


def test_random_zoom_out_places_the_image_inside_a_larger_canvas():
    ember.manual_seed(0)
    img = np.full((1, 4, 6), 7, np.uint8)
    boxes = T.BoundingBoxes([[1, 1, 3, 3]], format="XYXY", canvas_size=(4, 6))
    out = T.RandomZoomOut(fill=0, side_range=(2.0, 3.0), p=1.0)({"image": ember.from_numpy(img), "boxes": boxes})
    canvas = np.asarray(out["image"])[0]
    assert 8 <= canvas.shape[0] <= 12 and 12 <= canvas.shape[1] <= 18
    ys, xs = np.nonzero(canvas == 7)
    assert (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) == (4, 6)
    np.testing.assert_allclose(out["boxes"].data, [[xs.min() + 1, ys.min() + 1, xs.min() + 3, ys.min() + 3]])
    assert T.RandomZoomOut(p=0.0)(img).shape == img.shape


def test_random_resizes_draw_sizes_in_their_ranges():
    ember.manual_seed(0)
    img = np.zeros((3, 20, 40), np.uint8)
    shorter = {T.RandomResize(5, 9)(img).shape[1] for _ in range(30)}
    assert shorter <= set(range(5, 9)) and len(shorter) > 1
    for _ in range(10):
        h, w = T.RandomShortestSize([8, 10], max_size=30)(img).shape[1:]
        assert min(h, w) in (8, 10) or max(h, w) == 30
        h, w = T.ScaleJitter((16, 16), scale_range=(0.5, 1.5))(img).shape[1:]
        assert 4 <= w <= 24 and abs(w - 2 * h) <= 1


def test_sanitize_and_clamp_bounding_boxes_drop_labels_with_boxes():
    img = np.zeros((10, 10), np.uint8)
    boxes = T.BoundingBoxes([[0, 0, 5, 5], [2, 2, 2.5, 9], [-3, 1, 4, 4], [8, 8, 14, 12]], format="XYXY",
                            canvas_size=(10, 10))
    out = T.SanitizeBoundingBoxes()({"image": img, "boxes": boxes, "labels": np.array([1, 2, 3, 4])})
    assert out["labels"].tolist() == [1]
    clamped = T.ClampBoundingBoxes()({"image": img, "boxes": boxes, "labels": np.array([1, 2, 3, 4])})
    np.testing.assert_array_equal(clamped["boxes"].data[2:], [[0, 1, 4, 4], [8, 8, 10, 10]])
    out = T.Compose([T.ClampBoundingBoxes(), T.SanitizeBoundingBoxes()])(
        {"image": img, "boxes": boxes, "labels": np.array([1, 2, 3, 4])})
    assert out["labels"].tolist() == [1, 3, 4]


def test_five_crop_functional_matches_the_corners():
    arr = np.arange(20, dtype=np.uint8).reshape(4, 5)
    tl, tr, bl, br, center = F.five_crop(arr, 2)
    assert tl.tolist() == [[0, 1], [5, 6]] and br.tolist() == [[13, 14], [18, 19]]
    assert tr.tolist() == [[3, 4], [8, 9]] and bl.tolist() == [[10, 11], [15, 16]]
    assert center.tolist() == [[7, 8], [12, 13]]  # left = round(1.5) = 2, as torchvision


def test_elastic_transform_is_seeded_smooth_and_identity_without_alpha():
    x = np.random.default_rng(0).random((3, 16, 16), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(T.ElasticTransform(alpha=0.0)(ember.from_numpy(x))), x, atol=1e-6)
    ember.manual_seed(3)
    a = np.asarray(T.ElasticTransform(alpha=30.0, sigma=3.0)(ember.from_numpy(x)))
    ember.manual_seed(3)
    b = np.asarray(T.ElasticTransform(alpha=30.0, sigma=3.0)(ember.from_numpy(x)))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - x).mean() > 0.05
    with pytest.raises(NotImplementedError, match="bounding boxes"):
        T.ElasticTransform()({"image": x, "boxes": T.BoundingBoxes([[0, 0, 2, 2]], canvas_size=(16, 16))})


def test_random_iou_crop_keeps_an_overlapping_box_and_zeroes_the_others():
    img = np.zeros((1, 40, 60), np.uint8)
    boxes = T.BoundingBoxes([[5, 5, 20, 20], [40, 25, 58, 38]], format="XYXY", canvas_size=(40, 60))
    crop = T.RandomIoUCrop(sampler_options=[0.5])
    for seed in range(5):
        ember.manual_seed(seed)
        out = T.Compose([crop, T.SanitizeBoundingBoxes()])({"image": img, "boxes": boxes, "labels": [1, 2]})
        h, w = out["image"].shape[1:]
        assert out["boxes"].canvas_size == (h, w) and 1 <= len(out["labels"]) <= 2
        assert (out["boxes"].data[:, 2] <= w).all() and (out["boxes"].data[:, 3] <= h).all()
        assert 12 <= h <= 40 and 18 <= w <= 60
    ember.manual_seed(0)
    same = T.RandomIoUCrop(sampler_options=[1.0])({"image": img, "boxes": boxes})
    assert same["image"].shape == img.shape
    with pytest.raises(TypeError, match="needs a sample dict with 'boxes'"):
        T.RandomIoUCrop()(img)
