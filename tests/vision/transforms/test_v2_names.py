"""The torchvision.transforms.v2 names added for ported scripts, each compared with torchvision's numbers."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.vision import tv_tensors
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F
from PIL import Image as PILImage

from .._torchvision import import_torchvision


def _uint8(shape=(3, 10, 12), seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _float(shape=(3, 10, 12), seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _tv():
    import_torchvision()
    import torch
    from torchvision import tv_tensors as tvt
    from torchvision.transforms import v2 as tv2

    return torch, tvt, tv2


def test_the_v2_import_paths_a_ported_script_uses():
    import ember.vision.transforms.v2 as T
    from ember.vision.transforms.v2 import functional

    assert T.Resize is v2.Resize and functional is F
    assert F.horizontal_flip is F.hflip and callable(F.to_image) and callable(F.to_dtype)
    assert type(F.to_image(_uint8().transpose(1, 2, 0))) is tv_tensors.Image


@pytest.mark.parity
def test_convert_bounding_box_format_matches_torchvision_for_every_pair():
    _torch, tvt, tv2 = _tv()
    data = [[1.0, 2.0, 5.0, 9.0], [0.5, 0.0, 3.0, 4.0]]
    for old, new in itertools.permutations(["XYXY", "XYWH", "CXCYWH"], 2):
        boxes = tv_tensors.BoundingBoxes(data, format=old, canvas_size=(10, 10))
        ours = v2.ConvertBoundingBoxFormat(new)(boxes)
        theirs = tv2.ConvertBoundingBoxFormat(new)(tvt.BoundingBoxes(data, format=old, canvas_size=(10, 10)))
        assert ours.format.value == theirs.format.value == new
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
        plain = F.convert_bounding_box_format(ember.tensor(data), old_format=old, new_format=new)
        assert type(plain) is ember.Tensor
        np.testing.assert_allclose(plain.numpy(), theirs.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="unknown format"):
        v2.ConvertBoundingBoxFormat("XY")


@pytest.mark.parity
@pytest.mark.parametrize("source, dtype", [("float", "uint8"), ("uint8", "float32"), ("uint8", "uint8")])
def test_convert_image_dtype_matches_torchvision(source, dtype):
    torch, _tvt, tv2 = _tv()
    arr = _float() if source == "float" else _uint8()
    arr.flat[0] = 0.5 if source == "float" else arr.flat[0]  # 0.5 -> 127, as torchvision (not 128)
    ours = v2.ConvertImageDtype(getattr(ember, dtype))(ember.from_numpy(arr))
    theirs = tv2.ConvertImageDtype(getattr(torch, dtype))(torch.from_numpy(arr))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["float", "uint8"])
def test_gaussian_noise_without_spread_is_torchvisions_shift_and_clip(kind):
    torch, _tvt, tv2 = _tv()
    arr = _float() if kind == "float" else _uint8()
    for clip in (True, False):
        ours = v2.GaussianNoise(mean=0.3, sigma=0.0, clip=clip)(ember.from_numpy(arr))
        theirs = tv2.GaussianNoise(mean=0.3, sigma=0.0, clip=clip)(torch.from_numpy(arr))
        np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float), atol=1e-6)


def test_gaussian_noise_has_the_asked_spread_and_follows_the_seed():
    x = ember.full((1, 64, 64), 0.5)
    ember.manual_seed(3)
    a = v2.GaussianNoise(sigma=0.1)(x).numpy()
    ember.manual_seed(3)
    b = v2.GaussianNoise(sigma=0.1)(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert abs((a - 0.5).std() - 0.1) < 0.01 and abs((a - 0.5).mean()) < 0.01
    mask = tv_tensors.Mask(ember.zeros(64, 64, dtype=ember.int64))
    assert v2.GaussianNoise()(tv_tensors.Image(x), mask)[1] is mask
    with pytest.raises(ValueError, match="sigma"):
        v2.GaussianNoise(sigma=-1.0)
    with pytest.raises(ValueError, match="uint8 or float"):
        F.gaussian_noise(ember.zeros(1, 2, 2, dtype=ember.uint16))


def test_identity_returns_its_input():
    sample = (tv_tensors.Image(ember.zeros(3, 2, 2)), {"labels": ember.tensor([1])})
    assert v2.Identity()(*sample)[0] is sample[0]
    arr = _uint8()
    assert v2.Identity()(arr) is arr


@pytest.mark.parity
def test_jpeg_matches_torchvisions_pil_path():
    _torch, _tvt, tv2 = _tv()
    arr = _uint8((3, 16, 16))
    pil = PILImage.fromarray(arr.transpose(1, 2, 0))
    theirs = np.asarray(tv2.JPEG(50)(pil)).transpose(2, 0, 1)
    np.testing.assert_array_equal(np.asarray(v2.JPEG(50)(pil)).transpose(2, 0, 1), theirs)
    ours = v2.JPEG(50)(tv_tensors.Image(ember.from_numpy(arr)))
    assert type(ours) is tv_tensors.Image
    np.testing.assert_array_equal(ours.numpy(), theirs)  # tensors go through the same encoder
    assert np.abs(ours.numpy().astype(int) - arr).mean() > 1  # it did compress
    batch = v2.JPEG((10, 90))(ember.from_numpy(np.stack([arr, arr])))
    np.testing.assert_array_equal(batch.numpy()[0], batch.numpy()[1])
    with pytest.raises(ValueError, match="1 to 100"):
        v2.JPEG(0)
    with pytest.raises(TypeError, match="uint8"):
        v2.JPEG(50)(ember.from_numpy(_float()))


@pytest.mark.parity
def test_linear_transformation_matches_torchvision():
    torch, _tvt, tv2 = _tv()
    rng = np.random.default_rng(1)
    matrix, mean = rng.standard_normal((12, 12), dtype=np.float32), rng.standard_normal(12, dtype=np.float32)
    images = _float((2, 3, 2, 2))
    ours = v2.LinearTransformation(ember.from_numpy(matrix), ember.from_numpy(mean))(ember.from_numpy(images))
    theirs = tv2.LinearTransformation(torch.from_numpy(matrix), torch.from_numpy(mean))(torch.from_numpy(images))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="square"):
        v2.LinearTransformation(ember.zeros(2, 3), ember.zeros(2))
    with pytest.raises(ValueError, match="incompatible shape"):
        v2.LinearTransformation(ember.eye(5), ember.zeros(5))(ember.zeros(3, 2, 2))
    with pytest.raises(TypeError, match="PIL"):
        v2.LinearTransformation(ember.eye(12), ember.zeros(12))(PILImage.new("RGB", (2, 2)))


@pytest.mark.parity
def test_rgb_matches_torchvision():
    torch, tvt, tv2 = _tv()
    for arr in (_uint8((1, 4, 5)), _uint8((3, 4, 5))):
        ours = v2.RGB()(tv_tensors.Image(ember.from_numpy(arr)))
        theirs = tv2.RGB()(tvt.Image(torch.from_numpy(arr)))
        assert type(ours) is tv_tensors.Image
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert v2.RGB()(PILImage.new("L", (3, 3))).mode == "RGB"


def test_random_channel_permutation_permutes_image_and_video_alike():
    arr = np.arange(4)[:, None, None] * np.ones((4, 2, 3), np.float32)
    image = tv_tensors.Image(ember.from_numpy(arr))
    video = tv_tensors.Video(ember.from_numpy(np.stack([arr, arr])))
    seen = set()
    for seed in range(8):
        ember.manual_seed(seed)
        out_image, out_video = v2.RandomChannelPermutation()(image, video)
        order = tuple(int(v) for v in out_image.numpy()[:, 0, 0])
        assert sorted(order) == [0, 1, 2, 3]
        assert tuple(int(v) for v in out_video.numpy()[1, :, 0, 0]) == order
        seen.add(order)
    assert len(seen) > 1


@pytest.mark.parity
def test_photometric_distort_is_torchvisions_sequence_up_to_the_channel_order():
    torch, _tvt, _tv2 = _tv()
    from torchvision.transforms.v2 import functional as TF

    arr = _float((3, 6, 7))
    x = torch.from_numpy(arr)
    kwargs = {"brightness": (1.2, 1.2), "contrast": (1.0, 1.0), "saturation": (0.7, 0.7), "hue": (0.05, 0.05)}
    expected = TF.adjust_hue(TF.adjust_saturation(TF.adjust_brightness(x, 1.2), 0.7), 0.05).numpy()
    for seed in range(3):
        ember.manual_seed(seed)
        ours = v2.RandomPhotometricDistort(**kwargs, p=1.0)(ember.from_numpy(arr)).numpy()
        assert any(np.allclose(ours, expected[list(perm)], atol=1e-4) for perm in itertools.permutations(range(3)))
    assert np.array_equal(v2.RandomPhotometricDistort(p=0.0)(ember.from_numpy(arr)).numpy(), arr)


@pytest.mark.parity
def test_keypoint_transforms_match_torchvision():
    torch, tvt, tv2 = _tv()
    data = [[-1.0, 2.0], [3.5, 4.0], [9.0, 12.0], [5.0, 5.0]]
    points = tv_tensors.KeyPoints(data, canvas_size=(10, 8))
    theirs_points = tvt.KeyPoints(data, canvas_size=(10, 8))
    np.testing.assert_array_equal(v2.ClampKeyPoints()(points).numpy(), tv2.ClampKeyPoints()(theirs_points).numpy())
    labels = ember.tensor([1, 2, 3, 4])
    ours = v2.SanitizeKeyPoints(labels_getter="default")({"points": points, "labels": labels})
    theirs = tv2.SanitizeKeyPoints(labels_getter="default")({"points": theirs_points,
                                                             "labels": torch.tensor([1, 2, 3, 4])})
    np.testing.assert_array_equal(ours["points"].numpy(), theirs["points"].numpy())
    np.testing.assert_array_equal(ours["labels"].numpy(), theirs["labels"].numpy())
    assert type(ours["points"]) is tv_tensors.KeyPoints
    with pytest.raises(ValueError, match="No keypoints"):
        v2.SanitizeKeyPoints()({"labels": labels, "image": ember.zeros(1, 2, 2)})


@pytest.mark.parity
def test_set_clamping_mode_decides_whether_moved_boxes_are_clamped():
    _torch, tvt, tv2 = _tv()
    data = [[1.0, 1.0, 6.0, 6.0]]
    for mode in (None, "hard"):
        ours = v2.Compose([v2.SetClampingMode(mode), v2.Pad([0, 0, 0, 0]), v2.CenterCrop(4)])(
            tv_tensors.BoundingBoxes(data, format="XYXY", canvas_size=(8, 8)))
        theirs = tv2.Compose([tv2.SetClampingMode(mode), tv2.CenterCrop(4)])(
            tvt.BoundingBoxes(data, format="XYXY", canvas_size=(8, 8)))
        assert ours.clamping_mode == theirs.clamping_mode == mode
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match="clamping_mode"):
        v2.SetClampingMode("loose")


@pytest.mark.parity
def test_uniform_temporal_subsample_matches_torchvision():
    torch, tvt, tv2 = _tv()
    video = _uint8((2, 7, 1, 2, 2))
    for n in (1, 3, 7, 9):
        ours = v2.UniformTemporalSubsample(n)(tv_tensors.Video(ember.from_numpy(video)))
        theirs = tv2.UniformTemporalSubsample(n)(tvt.Video(torch.from_numpy(video)))
        assert type(ours) is tv_tensors.Video
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parity
def test_to_dtype_with_a_dict_of_types_matches_torchvision():
    torch, tvt, tv2 = _tv()
    image, mask = _uint8((3, 4, 4)), _uint8((4, 4))
    ours = v2.ToDtype({tv_tensors.Image: ember.float32, tv_tensors.Mask: ember.int64, "others": None}, scale=True)(
        tv_tensors.Image(ember.from_numpy(image)), tv_tensors.Mask(ember.from_numpy(mask)), ember.tensor([1]))
    theirs = tv2.ToDtype({tvt.Image: torch.float32, tvt.Mask: torch.int64, "others": None}, scale=True)(
        tvt.Image(torch.from_numpy(image)), tvt.Mask(torch.from_numpy(mask)), torch.tensor([1]))
    for a, b in zip(ours, theirs):
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="No dtype was specified"):
        v2.ToDtype({tv_tensors.Image: ember.float32})(tv_tensors.Image(ember.zeros(1, 2, 2)),
                                                      tv_tensors.Mask(ember.zeros(2, 2)))


@pytest.mark.parity
def test_helpers_find_things_in_a_flat_sample_as_torchvision():
    torch, tvt, tv2 = _tv()
    image = tv_tensors.Image(ember.zeros(3, 4, 5))
    boxes = tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(4, 5))
    points = tv_tensors.KeyPoints([[0.0, 1.0]], canvas_size=(4, 5))
    flat = [image, boxes, "label", points]
    assert v2.query_chw(flat) == (3, 4, 5) and v2.query_size(flat) == (4, 5)
    assert v2.get_bounding_boxes(flat) is boxes and v2.get_keypoints(flat) is points
    assert v2.has_any(flat, tv_tensors.Mask, tv_tensors.Image) and not v2.has_any(flat, tv_tensors.Mask)
    assert v2.has_all(flat, tv_tensors.Image, tv_tensors.BoundingBoxes)
    assert not v2.has_all(flat, tv_tensors.Image, tv_tensors.Video)
    assert v2.check_type("x", (int, lambda o: isinstance(o, str))) and not v2.check_type(1.0, (int,))
    with pytest.raises(ValueError, match="No bounding boxes"):
        v2.get_bounding_boxes([image])
    with pytest.raises(TypeError, match="No image or video"):
        v2.query_chw([boxes])
    with pytest.raises(ValueError, match="multiple"):
        v2.query_chw([image, tv_tensors.Image(ember.zeros(3, 5, 5))])
    theirs = [tvt.Image(torch.zeros(3, 4, 5)), tvt.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(4, 5))]
    assert tv2.query_chw(theirs) == v2.query_chw(flat) and tv2.query_size(theirs) == v2.query_size(flat)


def test_every_torchvision_v2_name_is_importable():
    names = ["ClampKeyPoints", "ConvertBoundingBoxFormat", "ConvertImageDtype", "GaussianNoise", "Identity", "JPEG",
             "LinearTransformation", "RGB", "RandomChannelPermutation", "RandomPhotometricDistort",
             "SanitizeKeyPoints", "SetClampingMode", "UniformTemporalSubsample", "check_type",
             "get_bounding_boxes", "get_keypoints", "has_all", "has_any", "query_chw", "query_size"]
    for name in names:
        assert name in v2.__all__ and getattr(v2, name) is not None
