"""default_collate / default_convert: PyTorch's rules, Ember tensors out."""

from __future__ import annotations

from collections import namedtuple

import ember
import numpy as np
import pytest
from ember.data import default_collate, default_convert

Point = namedtuple("Point", ["x", "y"])


def test_tensors_and_arrays_are_stacked():
    out = default_collate([ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])])
    assert isinstance(out, ember.Tensor) and out.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    arrays = default_collate([np.zeros((2, 3), np.uint8), np.ones((2, 3), np.uint8)])
    assert arrays.shape == (2, 2, 3) and arrays.dtype == ember.uint8


def test_numbers_become_tensors_with_pytorchs_dtypes():
    assert default_collate([1, 2, 3]).dtype == ember.int64
    floats = default_collate([1.5, 2.0])
    assert floats.dtype == ember.float64 and floats.tolist() == [1.5, 2.0]
    assert default_collate([True, False]).dtype == ember.bool
    scalars = default_collate([np.float32(1.0), np.float32(2.0)])
    assert scalars.dtype == ember.float32 and scalars.shape == (2,)


def test_strings_stay_lists():
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([b"a", b"b"]) == [b"a", b"b"]


def test_dicts_tuples_namedtuples_nested():
    batch = default_collate([
        {"image": np.zeros(2), "meta": (1, "a"), "point": Point(1.0, [1, 2])},
        {"image": np.ones(2), "meta": (2, "b"), "point": Point(2.0, [3, 4])},
    ])
    assert batch["image"].tolist() == [[0.0, 0.0], [1.0, 1.0]]
    meta = batch["meta"]
    assert isinstance(meta, list) and meta[0].tolist() == [1, 2] and meta[1] == ("a", "b")  # a tuple sample -> list; strings as PyTorch
    point = batch["point"]
    assert isinstance(point, Point) and point.x.dtype == ember.float64
    assert [t.tolist() for t in point.y] == [[1, 3], [2, 4]]


def test_errors():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers, dicts or lists"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert_converts_without_batching():
    out = default_convert({"a": np.arange(3), "b": (np.float64(1.5), "s"), "c": Point(np.zeros(1), 2)})
    assert isinstance(out["a"], ember.Tensor) and out["a"].tolist() == [0, 1, 2]
    assert isinstance(out["b"], list) and float(out["b"][0]) == 1.5 and out["b"][1] == "s"
    assert isinstance(out["c"], Point) and isinstance(out["c"].x, ember.Tensor) and out["c"].y == 2
    assert default_convert(np.array(["x"]))[0] == "x"  # non-numeric arrays are left alone


@pytest.mark.parity
def test_matches_pytorch_default_collate():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    samples = [
        {"f": 1.5, "i": 3, "b": True, "np": np.arange(4, dtype=np.int32), "s": np.float32(2), "t": ("x", 7)},
        {"f": 2.5, "i": 4, "b": False, "np": np.arange(4, dtype=np.int32), "s": np.float32(3), "t": ("y", 8)},
    ]
    ours, theirs = default_collate(samples), torch_collate(samples)
    for key in ("f", "i", "b", "np", "s"):
        assert str(ours[key].dtype).split(".")[1] == str(theirs[key].dtype).split(".")[1], key
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())
    assert type(ours["t"]) is type(theirs["t"]) is list
    assert ours["t"][0] == theirs["t"][0] and ours["t"][1].tolist() == theirs["t"][1].tolist()
    assert torch.is_tensor(theirs["f"])
