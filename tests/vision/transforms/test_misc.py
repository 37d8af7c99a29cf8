"""Containers, conversions, colour transforms, reprs and recipes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import transforms as T

NAMESPACE = {name: getattr(T, name) for name in T.__all__}
ALL = [
    T.Resize(20), T.Resize((10, 12), interpolation="bicubic", antialias=False), T.CenterCrop(8),
    T.RandomCrop(16, padding=[1, 2], fill=3, padding_mode="edge"), T.RandomResizedCrop(12, scale=(0.5, 1.0)),
    T.RandomHorizontalFlip(0.3), T.RandomVerticalFlip(), T.RandomRotation(10, expand=True, fill=1),
    T.RandomAffine(5, translate=(0.1, 0.2), scale=(0.9, 1.1), shear=(-3, 3, -2, 2)),
    T.RandomPerspective(0.2, p=1.0), T.ColorJitter(0.2, (0.5, 1.5), 0.1, 0.05), T.Grayscale(3),
    T.RandomGrayscale(0.5), T.GaussianBlur(5, (0.5, 1.0)), T.RandomErasing(p=1.0, value="random"),
    T.Pad(2, padding_mode="reflect"), T.AutoAugment("cifar10"), T.RandAugment(num_ops=3), T.TrivialAugmentWide(),
    T.RandomApply([T.RandomHorizontalFlip(1.0)], p=0.7), T.RandomChoice([T.Grayscale(3), T.GaussianBlur(3)]),
    T.RandomOrder([T.RandomVerticalFlip(), T.RandomHorizontalFlip()]), T.RandomInvert(), T.RandomSolarize(128, p=0.9),
    T.RandomAdjustSharpness(2.0), T.RandomAutocontrast(0.7),
]


@pytest.mark.parametrize("transform", ALL, ids=lambda t: type(t).__name__)
def test_repr_rebuilds_the_same_transform(transform):
    text = repr(transform)
    assert text.startswith(type(transform).__name__ + "(")
    assert repr(eval(text, NAMESPACE)) == text


@pytest.mark.parametrize("transform", ALL, ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("kind", ["pil", "hwc", "chw_tensor", "float_tensor"])
def test_every_transform_accepts_every_image_kind_and_keeps_it(transform, kind):
    base = np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    image = {"pil": Image.fromarray(base), "hwc": base,
             "chw_tensor": ember.Tensor(np.ascontiguousarray(base.transpose(2, 0, 1))),
             "float_tensor": ember.Tensor(np.ascontiguousarray(base.transpose(2, 0, 1)) / np.float32(255))}[kind]
    out = transform(image)
    assert type(out) is type(image)
    if kind == "float_tensor":
        assert out.dtype == ember.float32


@pytest.mark.parametrize("transform", ALL + [T.ToTensor(), T.Normalize([0.5], [0.5]), T.ToDtype("float32")],
                         ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("bad", [[[1, 2], [3, 4]], "img.png", 3, None, np.zeros((4, 4), np.int64)],
                         ids=["list", "str", "int", "None", "int64"])
def test_unsupported_inputs_raise_type_error(transform, bad):
    with pytest.raises(TypeError):
        transform(bad)


def test_build_transform_from_recipe_data():
    t = T.build_transform([
        {"RandomCrop": {"size": 32, "padding": 4}},
        {"class_path": "RandomApply", "init_args": {"transforms": [{"ColorJitter": {"brightness": 0.2}}], "p": 0.5}},
        "RandomHorizontalFlip",
        {"class_path": "ember.vision.transforms.Resize", "init_args": {"size": 16, "interpolation": "bicubic"}},
        "ToTensor",
        {"Normalize": {"mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}},
    ])
    assert isinstance(t, T.Compose) and len(t.transforms) == 6
    assert isinstance(t.transforms[1].transforms[0], T.ColorJitter)
    assert t.transforms[3].interpolation is T.InterpolationMode.BICUBIC
    out = t(np.zeros((32, 32, 3), np.uint8))
    assert out.shape == (3, 16, 16)
    with pytest.raises(ValueError, match="did you mean 'ember.vision.transforms.RandomCrop'"):
        T.build_transform({"RandomCorp": {"size": 3}})
    with pytest.raises(ValueError, match="interpolation"):
        T.Resize(3, interpolation="bilinar")


def test_color_jitter_changes_colours_within_range():
    img = np.full((8, 8, 3), 100, np.uint8)
    out = T.ColorJitter(brightness=(1.5, 1.5))(img)
    assert (out == 150).all()
    gray = T.Grayscale(num_output_channels=3)(np.dstack([np.full((2, 2), v, np.uint8) for v in (255, 0, 0)]))
    assert (gray == 76).all()  # 0.299 * 255


def test_random_apply_probability_and_erasing():
    img = np.zeros((10, 10), np.float32)
    hits = sum(np.any(T.RandomApply([T.RandomErasing(p=1.0, value=1)], p=0.3)(img)) for _ in range(200))
    assert 30 < hits < 90
    erased = T.RandomErasing(p=1.0, value=1, scale=(0.1, 0.1), ratio=(1.0, 1.0))(img)
    assert erased.sum() == 9  # area 10% of 100 pixels, square: round(sqrt(10)) = 3 -> a 3x3 box of ones
    assert img.sum() == 0  # not in place by default


def test_random_colour_ops_apply_with_their_probability():
    img = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    always = [T.RandomInvert(1.0), T.RandomPosterize(2, 1.0), T.RandomSolarize(100, 1.0)]
    for t, expected in zip(always, [255 - img, img & 0b11000000, np.where(img >= 100, 255 - img, img)]):
        np.testing.assert_array_equal(t(img), expected)
    dull = np.repeat(np.arange(100, 116, dtype=np.uint8), 256).reshape(64, 64)  # a narrow histogram
    assert np.ptp(T.RandomEqualize(1.0)(dull)) > 200
    assert all(np.array_equal(T.RandomInvert(0.0)(img), img) for _ in range(5))


def test_lambda_and_to_pil_image():
    double = T.Lambda(lambda x: x * 2)
    assert double(np.ones((2, 2), np.float32)).sum() == 8
    with pytest.raises(TypeError):
        T.Lambda("not callable")
    pil = T.ToPILImage()(ember.zeros(3, 4, 5))
    assert pil.size == (5, 4) and pil.mode == "RGB"


def test_lambda_takes_any_input_as_torchvision_does():
    """The transforms tutorial's one-hot ``target_transform``: Lambda on an int label, not an image."""
    one_hot = T.Lambda(lambda y: ember.zeros(10, dtype=ember.float).scatter_(0, ember.tensor([y]), value=1))
    assert one_hot(3).tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert T.Lambda(len)(["a", "b"]) == 2
    assert T.Lambda(lambda sample: sample * 2)({"image": np.ones((2, 2), np.float32)})["image"].sum() == 8


def test_build_transform_checks_arguments_like_a_recipe_and_reports_every_problem():
    with pytest.raises(ValueError) as info:
        T.build_transform([{"RandomCrop": {"sise": 3}}, {"RandomApply": {"transforms": ["Nope"], "p": 0.5}}])
    message = str(info.value)
    assert "transform.init_args.transforms.0.init_args.sise: unknown argument" in message
    assert "did you mean 'size'" in message
    assert "transform.init_args.transforms.1.init_args.transforms.0.class_path" in message
    with pytest.raises(ValueError, match="os.path.join is a function without a return annotation"):
        T.build_transform("os.path.join")
