"""Geometric transforms move image, mask and boxes together (checked on drawn rectangles)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

import ember
from ember.vision import transforms as T

RECTS = {1: ((8, 6, 24, 20), (255, 0, 0)), 2: ((34, 18, 55, 35), (0, 255, 0))}  # label: (x1, y1, x2, y2), colour


def _sample(kind: str = "pil"):
    img = Image.new("RGB", (60, 40), (0, 0, 0))
    draw = ImageDraw.Draw(img)
    mask = np.zeros((40, 60), dtype=np.uint8)
    for label, ((x1, y1, x2, y2), colour) in RECTS.items():
        draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=colour)  # PIL's rectangle includes the end pixel
        mask[y1:y2, x1:x2] = label
    image = {"pil": img, "array": np.asarray(img).copy(),
             "tensor": ember.Tensor(np.ascontiguousarray(np.asarray(img).transpose(2, 0, 1)))}[kind]
    boxes = T.BoundingBoxes([r[0] for r in RECTS.values()], format="XYXY", canvas_size=(40, 60))
    return {"image": image, "mask": mask, "boxes": boxes, "labels": np.array(list(RECTS)), "id": 7}


def _mask_box(mask, label):
    ys, xs = np.nonzero(mask == label)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float32)


def _image_hwc(image):
    if isinstance(image, ember.Tensor):
        return image._data.transpose(1, 2, 0)
    return np.asarray(image)


def _check_aligned(out, exact: bool, tol: float = 1.0):
    mask = np.asarray(out["mask"])
    image = _image_hwc(out["image"]).astype(int)
    assert image.shape[:2] == mask.shape == tuple(out["boxes"].canvas_size)
    assert len(out["boxes"]) == len(out["labels"])
    for box, label in zip(out["boxes"].data, out["labels"]):
        colour = np.array(RECTS[int(label)][1])
        inside = mask == label
        assert inside.any()
        # the image shows the rectangle's colour where the mask says it is
        assert np.abs(image[inside] - colour).max(axis=1).mean() < 40
        mb = _mask_box(mask, label)
        if exact:
            np.testing.assert_allclose(box, mb, atol=tol)
        else:  # rotated boxes enclose the rotated rectangle
            assert box[0] <= mb[0] + tol and box[1] <= mb[1] + tol
            assert box[2] >= mb[2] - tol and box[3] >= mb[3] - tol


@pytest.mark.parametrize("kind", ["pil", "array", "tensor"])
@pytest.mark.parametrize("transform, exact", [
    (T.RandomHorizontalFlip(p=1.0), True),
    (T.RandomVerticalFlip(p=1.0), True),
    (T.Compose([T.RandomHorizontalFlip(p=1.0), T.RandomVerticalFlip(p=1.0)]), True),
    (T.Pad([3, 5, 0, 2], fill=0), True),
    (T.RandomCrop(36, padding=4), True),
    (T.Resize((80, 90), interpolation="nearest"), True),
    (T.RandomResizedCrop((32, 32), scale=(0.6, 1.0), interpolation="nearest"), True),
    (T.RandomRotation((90, 90), expand=True), True),
    (T.RandomRotation(20), False),
    (T.RandomAffine(0, translate=(0.1, 0.1)), True),
])
def test_joint_geometry_keeps_image_mask_boxes_aligned(kind, transform, exact):
    for seed in range(4):
        ember.manual_seed(seed)
        sample = _sample(kind)
        out = transform(sample)
        assert out["id"] == 7 and type(out["image"]) is type(sample["image"])
        assert len(out["boxes"]) >= 1
        _check_aligned(out, exact, tol=1.5 if isinstance(transform, (T.Resize, T.RandomResizedCrop)) else 1.0)


def test_horizontal_flip_exact_boxes():
    out = T.RandomHorizontalFlip(p=1.0)(_sample())
    np.testing.assert_array_equal(out["boxes"].data, [[36, 6, 52, 20], [5, 18, 26, 35]])
    np.testing.assert_array_equal(out["mask"], _sample()["mask"][:, ::-1])


def test_boxes_leaving_the_image_are_dropped_with_labels():
    crop_left = T.Pad([-30, 0, 0, 0])  # negative padding cuts 30 columns: rectangle 1 (x < 24) leaves
    out = crop_left(_sample())
    assert out["labels"].tolist() == [2]
    np.testing.assert_array_equal(out["boxes"].data, [[4, 18, 25, 35]])
    assert out["boxes"].canvas_size == (40, 30)
    _check_aligned(out, exact=True)
    partial = T.CenterCrop((20, 20))(_sample())  # x 20..40, y 10..30: rectangle 1 is clipped, not dropped
    np.testing.assert_array_equal(partial["boxes"].data, [[0, 0, 4, 10], [14, 8, 20, 20]])
    # an affine translation that pushes everything out drops all boxes
    gone = T.RandomAffine(0, translate=(1.0, 1.0))
    counts = []
    for seed in range(20):
        ember.manual_seed(seed)
        result = gone(_sample())
        assert len(result["boxes"]) == len(result["labels"])
        counts.append(len(result["boxes"]))
    assert min(counts) == 0 and max(counts) >= 1


def test_box_formats_round_trip():
    boxes = T.BoundingBoxes([[10, 20, 30, 60]], format="XYXY", canvas_size=(100, 100))
    assert boxes.convert("XYWH").data.tolist() == [[10, 20, 20, 40]]
    assert boxes.convert("CXCYWH").data.tolist() == [[20, 40, 20, 40]]
    cxcy = boxes.convert("CXCYWH")
    out = T.RandomHorizontalFlip(p=1.0)({"image": np.zeros((100, 100), np.uint8), "boxes": cxcy})
    assert out["boxes"].format == "CXCYWH" and out["boxes"].data.tolist() == [[80, 40, 20, 40]]


def test_sample_errors_name_the_problem():
    with pytest.raises(TypeError, match="BoundingBoxes"):
        T.RandomHorizontalFlip()({"image": np.zeros((4, 4), np.uint8), "boxes": [[0, 0, 1, 1]]})
    with pytest.raises(ValueError, match="canvas_size"):
        T.RandomHorizontalFlip()({"image": np.zeros((4, 4), np.uint8),
                                  "boxes": T.BoundingBoxes([[0, 0, 1, 1]], canvas_size=(5, 5))})
    with pytest.raises(KeyError, match="image"):
        T.RandomHorizontalFlip()({"mask": np.zeros((4, 4), np.uint8)})
    with pytest.raises(TypeError, match="sample\\['image'\\]"):
        T.RandomHorizontalFlip()({"image": [[0]]})


def test_random_crop_padding_and_pad_if_needed():
    img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    out = T.RandomCrop(6, pad_if_needed=True)(img)
    assert out.shape == (6, 6)
    with pytest.raises(ValueError, match="pad_if_needed"):
        T.RandomCrop(6)(img)
    padded = T.RandomCrop(4, padding=2, padding_mode="reflect")(img)
    assert padded.shape == (4, 4)


def test_random_transforms_follow_embers_seed():
    img = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    pipeline = T.Compose([T.RandomResizedCrop(24), T.RandomHorizontalFlip(), T.RandomRotation(15),
                          T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomErasing(p=0.5)])
    ember.manual_seed(3)
    a = [pipeline(img) for _ in range(3)]
    ember.manual_seed(3)
    b = [pipeline(img) for _ in range(3)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(a[0], x) for x in a[1:])
