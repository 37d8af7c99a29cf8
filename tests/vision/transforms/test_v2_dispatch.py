"""v2 transforms on tv_tensors: images, masks, boxes and key points move together, with torchvision's numbers."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.vision import tv_tensors
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F

from .._torchvision import import_torchvision

H, W = 12, 16


def _sample():
    rng = np.random.default_rng(0)
    image = tv_tensors.Image(ember.from_numpy(rng.random((3, H, W), dtype=np.float32)))
    mask = tv_tensors.Mask(ember.from_numpy(rng.integers(0, 5, (H, W)).astype(np.int64)))
    boxes = tv_tensors.BoundingBoxes([[1.0, 2.0, 9.0, 7.0], [10.0, 0.0, 16.0, 12.0], [3.5, 4.0, 6.0, 11.0]],
                                     format="XYXY", canvas_size=(H, W))
    points = tv_tensors.KeyPoints([[0.0, 0.0], [15.0, 11.0], [4.5, 6.25]], canvas_size=(H, W))
    return image, mask, boxes, points


def _torch(x):
    """The torchvision tv_tensor of an Ember one."""
    import torch
    from torchvision import tv_tensors as tvt

    data = torch.from_numpy(x.numpy().copy())
    if isinstance(x, tv_tensors.BoundingBoxes):
        return tvt.BoundingBoxes(data, format=x.format.value, canvas_size=x.canvas_size,
                                 clamping_mode=x.clamping_mode)
    if isinstance(x, tv_tensors.KeyPoints):
        return tvt.KeyPoints(data, canvas_size=x.canvas_size)
    return {tv_tensors.Image: tvt.Image, tv_tensors.Mask: tvt.Mask, tv_tensors.Video: tvt.Video}.get(
        type(x), lambda d: d)(data)


def _assert_same(ours, theirs, atol=0.0):
    assert type(ours).__name__ == type(theirs).__name__
    assert tuple(ours.shape) == tuple(theirs.shape)
    if isinstance(ours, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
        assert tuple(ours.canvas_size) == tuple(theirs.canvas_size)
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64), atol=atol,
                               rtol=0)


CASES = [
    ("Resize", lambda m: m.Resize((6, 8))),
    ("Resize-int", lambda m: m.Resize(9)),
    ("CenterCrop", lambda m: m.CenterCrop((8, 10))),
    ("Pad", lambda m: m.Pad([1, 2, 3, 4])),
    ("HorizontalFlip", lambda m: m.RandomHorizontalFlip(p=1.0)),
    ("VerticalFlip", lambda m: m.RandomVerticalFlip(p=1.0)),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, make", CASES, ids=[c[0] for c in CASES])
def test_geometric_transforms_move_every_kind_as_torchvision(name, make):
    import_torchvision()
    from torchvision.transforms import v2 as tv2

    sample = _sample()
    ours = make(v2)(*sample)
    theirs = make(tv2)(*(_torch(x) for x in sample))
    image, mask, boxes, points = ours
    assert [type(x) for x in ours] == [type(x) for x in sample]
    assert [x.dtype for x in ours] == [x.dtype for x in sample]
    _assert_same(image, theirs[0], atol=1e-5)
    _assert_same(mask, theirs[1])  # nearest, exactly
    _assert_same(boxes, theirs[2], atol=1e-4)
    _assert_same(points, theirs[3], atol=1e-4)


@pytest.mark.parity
@pytest.mark.parametrize("call", [
    lambda f: ("resize", (f.resize, [6, 8])),
    lambda f: ("crop", (f.crop, 2, 3, 7, 9)),
    lambda f: ("crop-outside", (f.crop, -2, 10, 6, 9)),
    lambda f: ("horizontal_flip", (f.horizontal_flip,)),
    lambda f: ("vertical_flip", (f.vertical_flip,)),
    lambda f: ("resized_crop", (f.resized_crop, 1, 2, 8, 10, [5, 6])),
    lambda f: ("pad", (f.pad, [2, 1])),
    lambda f: ("center_crop", (f.center_crop, [20, 10])),
], ids=lambda c: c(F)[0])
def test_functional_forms_dispatch_on_the_type(call):
    tv = import_torchvision()
    from torchvision.transforms.v2 import functional as TF

    _, (ours_fn, *args) = call(F)
    _, (theirs_fn, *_) = call(TF)
    for x in _sample()[1:]:  # masks, boxes, key points: exact
        _assert_same(ours_fn(x, *args), theirs_fn(_torch(x), *args), atol=1e-4)
    assert tv is not None


@pytest.mark.parity
@pytest.mark.parametrize("angle, expand", [(30.0, False), (-90.0, True)])
def test_rotate_moves_boxes_to_their_enclosing_box_as_torchvision(angle, expand):
    import_torchvision()
    from torchvision.transforms.v2 import functional as TF

    _, mask, boxes, _ = _sample()
    _assert_same(F.rotate(boxes, angle, expand=expand), TF.rotate(_torch(boxes), angle, expand=expand), atol=1e-3)
    _assert_same(F.rotate(mask, angle, expand=expand), TF.rotate(_torch(mask), angle, expand=expand))


@pytest.mark.parity
@pytest.mark.parametrize("clamping_mode", ["soft", None])
def test_affine_boxes_follow_the_clamping_mode(clamping_mode):
    import_torchvision()
    from torchvision.transforms.v2 import functional as TF

    boxes = tv_tensors.BoundingBoxes([[1.0, 2.0, 9.0, 7.0], [10.0, 0.0, 16.0, 12.0]], format="XYWH",
                                     canvas_size=(H, W), clamping_mode=clamping_mode)
    args = {"angle": 0.0, "translate": [5, -3], "scale": 1.0, "shear": [0.0, 0.0]}
    _assert_same(F.affine(boxes, **args), TF.affine(_torch(boxes), **args), atol=1e-4)


@pytest.mark.parity
def test_plain_tensors_follow_torchvisions_heuristic():
    import_torchvision()
    import torch
    from torchvision.transforms import v2 as tv2

    image = ember.rand(3, H, W)
    labels = ember.tensor([1, 2, 3])
    out_image, out_labels = v2.RandomHorizontalFlip(p=1.0)(image, labels)  # the first plain tensor is the image
    theirs = tv2.RandomHorizontalFlip(p=1.0)(torch.from_numpy(image.numpy()), torch.tensor([1, 2, 3]))
    np.testing.assert_array_equal(out_image.numpy(), theirs[0].numpy())
    assert out_labels is labels
    tagged = tv_tensors.Image(ember.rand(3, H, W))
    other = ember.rand(3, H, W)
    assert v2.RandomHorizontalFlip(p=1.0)(tagged, other)[1] is other  # with an Image, plain tensors pass


def test_structures_come_back_as_they_went_in():
    image, mask, boxes, points = _sample()
    target = {"boxes": boxes, "masks": mask, "labels": ember.tensor([1, 2, 3]), "name": "a.png"}
    out_image, out_target = v2.Compose([v2.RandomVerticalFlip(p=1.0), v2.Resize(24)])(image, target)
    assert type(out_image) is tv_tensors.Image and tuple(out_image.shape) == (3, 24, 32)
    assert set(out_target) == set(target) and out_target["name"] == "a.png"
    assert out_target["labels"] is target["labels"]
    assert out_target["boxes"].canvas_size == (24, 32) and tuple(out_target["masks"].shape) == (24, 32)
    single = v2.Resize(6)({"image": image, "points": [points]})
    assert type(single["points"]) is list and single["points"][0].canvas_size == (6, 8)


def test_sizes_that_disagree_raise():
    image, _, _, _ = _sample()
    boxes = tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(5, 5))
    with pytest.raises(ValueError, match="multiple HxW"):
        v2.Resize(4)(image, boxes)
    with pytest.raises(NotImplementedError, match="rotated"):
        v2.RandomHorizontalFlip(1.0)(image, tv_tensors.BoundingBoxes([[1.0, 1, 2, 2, 0]], format="XYWHR",
                                                                     canvas_size=(H, W)))
    with pytest.raises(TypeError, match="Resize"):
        v2.Resize(4)([[1, 2], [3, 4]])


def test_colour_transforms_leave_masks_and_boxes_alone():
    image, mask, boxes, points = _sample()
    out = v2.ColorJitter(brightness=0.5)(image, mask, boxes, points)
    assert out[1] is mask and out[2] is boxes and out[3] is points
    assert type(out[0]) is tv_tensors.Image
    with pytest.raises(TypeError, match="images and videos"):
        F.adjust_brightness(mask, 1.5)


@pytest.mark.parity
def test_iou_crop_and_sanitize_pipeline_matches_torchvision_rules():
    import_torchvision()
    import torch
    from torchvision.transforms import v2 as tv2

    image, mask, _, _ = _sample()
    boxes = tv_tensors.BoundingBoxes([[1.0, 2.0, 9.0, 7.0], [10.0, 0.0, 16.0, 12.0], [3.0, 3.0, 3.5, 9.0]],
                                     format="XYXY", canvas_size=(H, W))
    masks = tv_tensors.Mask(ember.from_numpy(np.stack([mask.numpy() == k for k in range(3)])))
    labels = ember.tensor([7, 8, 9])
    for seed in range(4):
        ember.manual_seed(seed)
        out = v2.Compose([v2.RandomIoUCrop(), v2.SanitizeBoundingBoxes()])(
            {"image": image, "boxes": boxes, "masks": masks, "labels": labels})
        h, w = out["image"].shape[-2:]
        assert out["boxes"].canvas_size == (h, w) and tuple(out["masks"].shape[-2:]) == (h, w)
        kept = out["boxes"].numpy()
        assert len(kept) == len(out["labels"]) == out["masks"].shape[0] >= 1
        assert (kept[:, 2] <= w).all() and (kept[:, 3] <= h).all() and (kept >= 0).all()
    # the sanitizing rule on fixed boxes, against torchvision's
    sample = {"boxes": boxes, "labels": labels, "masks": masks}
    ours = v2.SanitizeBoundingBoxes(min_size=1.0)(sample)
    theirs = tv2.SanitizeBoundingBoxes(min_size=1.0)(
        {"boxes": _torch(boxes), "labels": torch.tensor([7, 8, 9]), "masks": _torch(masks)})
    _assert_same(ours["boxes"], theirs["boxes"])
    np.testing.assert_array_equal(ours["labels"].numpy(), theirs["labels"].numpy())
    _assert_same(ours["masks"], theirs["masks"])
    with pytest.raises(ValueError, match="labels"):
        v2.SanitizeBoundingBoxes()({"boxes": boxes, "labels": [7, 8, 9]})
    with pytest.raises(ValueError, match="Could not infer where the labels are"):
        v2.SanitizeBoundingBoxes()({"boxes": boxes, "classes": labels})
    assert len(v2.SanitizeBoundingBoxes(labels_getter=None)({"boxes": boxes})["boxes"]) == 2


def _custom_transform(module, functional):
    """torchvision's 'write your own v2 transform' pattern, against either library."""

    class FlipAndDim(module.Transform):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def make_params(self, flat_inputs):
            return {"size": tuple(module.query_size(flat_inputs)), "count": len(flat_inputs)}

        def transform(self, inpt, params):
            inpt = self._call_kernel(functional.horizontal_flip, inpt)
            return self._call_kernel(functional.adjust_brightness, inpt, brightness_factor=self.factor)

    return FlipAndDim(0.5)


@pytest.mark.parity
def test_a_custom_v2_transform_runs_as_in_torchvision():
    import_torchvision()
    from torchvision.transforms import v2 as tv2
    from torchvision.transforms.v2 import functional as TF

    image, mask, boxes, points = _sample()
    labels = ember.tensor([1, 2, 3])
    ours = _custom_transform(v2, F)(image, {"boxes": boxes, "masks": mask, "points": points, "labels": labels})
    theirs = _custom_transform(tv2, TF)(_torch(image), {"boxes": _torch(boxes), "masks": _torch(mask),
                                                        "points": _torch(points), "labels": _torch(labels)})
    _assert_same(ours[0], theirs[0], atol=1e-6)
    _assert_same(ours[1]["boxes"], theirs[1]["boxes"])
    _assert_same(ours[1]["masks"], theirs[1]["masks"])  # flipped, not dimmed
    _assert_same(ours[1]["points"], theirs[1]["points"])
    assert ours[1]["labels"] is labels
