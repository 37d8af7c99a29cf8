"""ember.vision.tv_tensors: the tagged tensors torchvision v2 scripts build, with torchvision's semantics."""

from __future__ import annotations

import copy
import pickle

import ember
import numpy as np
import pytest
from ember.vision import tv_tensors
from PIL import Image as PILImage

from ._torchvision import import_torchvision


def _boxes(**kwargs):
    return tv_tensors.BoundingBoxes([[1, 2, 5, 7], [0, 0, 3, 3]], format="XYXY", canvas_size=(8, 10), **kwargs)


def test_types_are_tensors_sharing_memory_with_their_data():
    data = ember.zeros(3, 4, 5)
    image = tv_tensors.Image(data)
    assert isinstance(image, ember.Tensor) and isinstance(image, tv_tensors.TVTensor)
    data[0, 0, 0] = 7.0
    assert image[0, 0, 0].item() == 7.0
    assert tv_tensors.Image(ember.zeros(4, 5)).shape == (1, 4, 5)  # a 2-D image gets its channel axis
    assert tv_tensors.BoundingBoxes([1, 2, 3, 4], format="XYXY", canvas_size=(5, 5)).shape == (1, 4)
    assert tv_tensors.KeyPoints([3.0, 4.0], canvas_size=(5, 5)).shape == (1, 2)
    assert tv_tensors.Mask(ember.zeros(2, 3, dtype=ember.int64)).dtype == ember.int64
    assert tv_tensors.Image(ember.zeros(1, 2, 2), dtype=ember.float64).dtype == ember.float64


@pytest.mark.parametrize("make, message", [
    (lambda: tv_tensors.Image(ember.zeros(3)), "at least 2 dimensions"),
    (lambda: tv_tensors.Video(ember.zeros(3, 4, 4)), "at least 4 dimensions"),
    (lambda: tv_tensors.BoundingBoxes(ember.zeros(1, 2, 4), format="XYXY", canvas_size=(2, 2)), "1D or 2D"),
    (lambda: tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYZ", canvas_size=(2, 2)), "format must be"),
    (lambda: tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=5), "canvas_size"),
    (lambda: tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(2, 2), clamping_mode="x"),
     "clamping_mode"),
    (lambda: tv_tensors.BoundingBoxes([[0, 0, 1, 1, 0]], format="XYWHR", canvas_size=(2, 2)), "floating point"),
    (lambda: tv_tensors.KeyPoints(ember.zeros(3, 3), canvas_size=(2, 2)), r"\(..., 2\)"),
])
def test_bad_construction_names_the_problem(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_operations_give_plain_tensors_except_clone_to_detach():
    boxes = _boxes()
    assert type(boxes + 1) is ember.Tensor and type(boxes[0]) is ember.Tensor
    for kept in (boxes.clone(), boxes.to(ember.float64), boxes.detach()):
        assert type(kept) is tv_tensors.BoundingBoxes
        assert kept.canvas_size == (8, 10) and kept.format is tv_tensors.BoundingBoxFormat.XYXY
    assert boxes.to(ember.float64).dtype == ember.float64
    assert type(boxes.cpu()) is ember.Tensor and type(boxes.contiguous()) is ember.Tensor  # as torchvision
    shifted = boxes.clone()
    alias = shifted
    shifted += 1  # in place: the data changes, the name now holds a plain tensor (torchvision's rule)
    assert type(shifted) is ember.Tensor and type(alias) is tv_tensors.BoundingBoxes
    np.testing.assert_array_equal(alias.numpy(), boxes.numpy() + 1)


def test_set_return_type_keeps_the_type_and_restores_on_exit():
    boxes = _boxes()
    with tv_tensors.set_return_type("TVTensor"):
        shifted = boxes + 1
        assert type(shifted) is tv_tensors.BoundingBoxes and shifted.canvas_size == (8, 10)
        assert type(boxes.sum()) is tv_tensors.BoundingBoxes
    assert type(boxes + 1) is ember.Tensor
    tv_tensors.set_return_type("TVTensor")  # a plain call sets it globally, as torchvision's
    try:
        assert type(boxes * 2) is tv_tensors.BoundingBoxes
    finally:
        tv_tensors.set_return_type("Tensor")
    with pytest.raises(ValueError, match="return_type"):
        tv_tensors.set_return_type("ndarray")


def test_wrap_takes_metadata_from_like_unless_overridden():
    boxes = _boxes(clamping_mode="hard")
    wrapped = tv_tensors.wrap(ember.ones(1, 4), like=boxes)
    assert type(wrapped) is tv_tensors.BoundingBoxes
    assert (wrapped.format, wrapped.canvas_size, wrapped.clamping_mode) == (boxes.format, (8, 10), "hard")
    other = tv_tensors.wrap(ember.ones(1, 4), like=boxes, canvas_size=(3, 3), format="CXCYWH")
    assert other.canvas_size == (3, 3) and other.format is tv_tensors.BoundingBoxFormat.CXCYWH
    assert type(tv_tensors.wrap(ember.zeros(2, 2), like=tv_tensors.Mask(ember.ones(2, 2)))) is tv_tensors.Mask
    with pytest.raises(TypeError, match="like"):
        tv_tensors.wrap(ember.ones(1), like=ember.ones(1))


def test_copies_and_pickles_keep_type_and_metadata():
    boxes = _boxes(clamping_mode=None)
    for copied in (copy.deepcopy(boxes), pickle.loads(pickle.dumps(boxes))):
        assert type(copied) is tv_tensors.BoundingBoxes
        assert (copied.format, copied.canvas_size, copied.clamping_mode) == (boxes.format, (8, 10), None)
        np.testing.assert_array_equal(copied.numpy(), boxes.numpy())
    points = pickle.loads(pickle.dumps(tv_tensors.KeyPoints([[1.0, 2.0]], canvas_size=(4, 4))))
    assert type(points) is tv_tensors.KeyPoints and points.canvas_size == (4, 4)


def test_gradients_flow_through_an_image():
    image = tv_tensors.Image(ember.rand(3, 2, 2), requires_grad=True)
    (image * image).sum().backward()
    np.testing.assert_allclose(image.grad.numpy(), 2 * image.detach().numpy())


def test_repr_names_the_type_and_metadata():
    text = repr(_boxes())
    assert text.startswith("BoundingBoxes([[1, 2, 5, 7],") and "canvas_size=(8, 10)" in text
    assert repr(tv_tensors.Image(ember.zeros(1, 1, 2))).startswith("Image([[[0., 0.]]]")


@pytest.mark.parity
def test_pil_images_and_masks_match_torchvision():
    import_torchvision()
    from torchvision import tv_tensors as tvt

    rng = np.random.default_rng(0)
    rgb = PILImage.fromarray(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8))
    gray = PILImage.fromarray(rng.integers(0, 4, (5, 6), dtype=np.uint8))
    np.testing.assert_array_equal(tv_tensors.Image(rgb).numpy(), tvt.Image(rgb).numpy())
    np.testing.assert_array_equal(tv_tensors.Mask(gray).numpy(), tvt.Mask(gray).numpy())
    assert tv_tensors.Mask(gray).shape == tuple(tvt.Mask(gray).shape)
    assert [f.name for f in tv_tensors.BoundingBoxFormat] == [f.name for f in tvt.BoundingBoxFormat]
    for name in ("XYXY", "XYWHR", "XYXYXYXY"):
        assert tv_tensors.is_rotated_bounding_format(name) == tvt.is_rotated_bounding_format(name)
