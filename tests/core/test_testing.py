"""ember.testing: assert_close, make_tensor and assert_allclose pass and fail on the same calls as torch.testing's,
with torch's messages (torch's names renamed)."""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
from ember.testing import assert_allclose, assert_close, make_tensor


def cases(lib):
    t = lib.tensor
    f64 = lib.float64
    return [
     lambda A: A(t([1.,2.,3.]), t([1.,2.5,3.])),
     lambda A: A(t([[1.,2.],[3.,4.]]), t([[1.,2.],[3.,0.]])),
     lambda A: A(t([1.,2.]), t([1.,2.,3.])),
     lambda A: A(t([1.,2.]), t([1.,2.], dtype=f64)),
     lambda A: A(t([1,2]), t([1,3])),
     lambda A: A(1.0, 1.5),
     lambda A: A(1, 2),
     lambda A: A(t(1.), 1.),
     lambda A: A([t(1.), t(2.)], [t(1.), t(3.)]),
     lambda A: A({"a": t(1.), "b": [1, 2]}, {"a": t(1.), "b": [1, 3]}),
     lambda A: A([1,2], [1,2,3]),
     lambda A: A({"a":1}, {"b":1}),
     lambda A: A(t([float('nan')]), t([float('nan')])),
     lambda A: A(t([float('nan'), 1.]), t([float('nan'), 1.]), equal_nan=True),
     lambda A: A(t([1.]), t([2.]), rtol=1e-3),
     lambda A: A(t([1.]), t([2.]), atol=1e-3),
     lambda A: A(t([1.]), t([2.]), msg="custom"),
     lambda A: A(t([1.]), t([2.]), msg=lambda m: m + " EXTRA"),
     lambda A: A([t([1.]), t([1.])], [t([1.]), t([2.])], msg=lambda m: m + " EXTRA"),
     lambda A: A(np.array([1.]), np.array([2.])),
     lambda A: A(np.array([1.], np.float32), np.array([1.00001], np.float32)),
     lambda A: A(np.array([1.]), t([2.])),
     lambda A: A(t([True]), t([False])),
     lambda A: A(t([1+1j]), t([1+2j])),
     lambda A: A(t([1.,2.]), t([1,2]), check_dtype=False),
     lambda A: A(t([1.,2.]), t([1,3]), check_dtype=False),
     lambda A: A(t([0.]), t([1e-6])),
     lambda A: A(t([0.]), t([1e-4])),
     lambda A: A(t([1.]), t([float('inf')])),
     lambda A: A(t([float('inf')]), t([float('inf')])),
     lambda A: A(lib.zeros(0), lib.zeros(0)),
     lambda A: A("a", "b"),
     lambda A: A(t([1.,2.]), (1.,2.)),
     lambda A: A(True, False),
     lambda A: A(1, 1.0),
     lambda A: A(t(1.), t(2.)),
     lambda A: A(None, None),
     lambda A: A(None, 1),
     lambda A: A(t([1.], requires_grad=True), t([1.])),
     lambda A: A(t([1.], dtype=lib.float16), t([1.001], dtype=lib.float16)),
     lambda A: A(t([1.], dtype=lib.float16), t([1.01], dtype=lib.float16)),
     lambda A: A(lib.arange(24.).reshape(2,3,4), lib.arange(24.).reshape(2,3,4) * 1.5),
     lambda A: A(t([1,2], dtype=lib.int8), t([1,2], dtype=lib.int16)),
     lambda A: A(lib.nn.Parameter(t([1.])), t([1.])),
     lambda A: A(lib.nn.Parameter(t([1.])), t([1.]), allow_subclasses=False),
     lambda A: A((1, [2.0, {"k": t([3.])}]), (1, [2.0, {"k": t([3.5])}])),
     lambda A: A(t([1.,2.]).view(2,1).expand(2,2), t([[1.,1.],[2.,2.]]), check_stride=True),
     lambda A: A(np.float32(1.0), 1.0),
     lambda A: A(1.0, 1 + 1e-8),
     lambda A: A(t([5, 0], dtype=lib.uint8), t([4, 1], dtype=lib.uint8)),
    ]


def _outcomes(lib, function) -> list[tuple[str, str]]:
    """(exception name or "PASS", message) of each case, with torch's names written as Ember's."""
    found = []
    for case in cases(lib):
        try:
            case(function)
            found.append(("PASS", ""))
        except Exception as error:  # noqa: BLE001
            found.append((type(error).__name__, str(error).replace("torch.Tensor", "ember.tensor.Tensor")
                          .replace("torch.", "ember.")))
    return found


def test_messages_name_the_greatest_differences_their_indices_and_the_item():
    with pytest.raises(AssertionError) as error:
        assert_close(ember.tensor([[1.0, 2.0], [3.0, 4.0]]), ember.tensor([[1.0, 2.0], [3.0, 0.0]]))
    assert str(error.value) == ("Tensor-likes are not close!\n\nMismatched elements: 1 / 4 (25.0%)\n"
                                "Greatest absolute difference: 4.0 at index (1, 1) (up to 1e-05 allowed)\n"
                                "Greatest relative difference: inf at index (1, 1) (up to 1.3e-06 allowed)")
    with pytest.raises(AssertionError, match=r"(?s)Expected 3 but got 2\..*item \['b'\]\[1\]$"):
        assert_close({"a": ember.tensor(1.0), "b": [1, 2]}, {"a": ember.tensor(1.0), "b": [1, 3]})
    with pytest.raises(AssertionError, match=r"^The values for attribute 'dtype' do not match: "
                                             r"ember\.float32 != ember\.float64\.$"):
        assert_close(ember.tensor([1.0]), ember.tensor([1.0], dtype=ember.float64))
    assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1, 2]), check_dtype=False)
    assert_close(ember.tensor([float("nan")]), ember.tensor([float("nan")]), equal_nan=True)
    with pytest.raises(ValueError, match="must be either specified or omitted, but got no atol"):
        assert_close(ember.tensor(1.0), ember.tensor(1.0), rtol=1e-3)


@pytest.mark.parity
def test_the_same_calls_pass_and_fail_as_torchs_with_its_messages():
    torch = pytest.importorskip("torch")

    ours, theirs = _outcomes(ember, assert_close), _outcomes(torch, torch.testing.assert_close)
    assert len(ours) == len(theirs) == 50
    for index, (mine, torchs) in enumerate(zip(ours, theirs)):
        assert mine == torchs, index
    assert sum(outcome == "PASS" for outcome, _ in ours) >= 10


@pytest.mark.parity
def test_assert_allclose_warns_and_compares_as_torchs():
    torch = pytest.importorskip("torch")

    def outcomes(lib, function):
        found = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for args in ((lib.tensor([1.0, 2.0]), [1.0, 2.00001]), (lib.tensor([1.0, np.nan]), lib.tensor([1.0, np.nan])),
                         (lib.tensor([1.0, 2.0]), lib.tensor([1, 2], dtype=lib.float64)), ([1.0, 2.0], [1.0, 2.1])):
                try:
                    function(*args)
                    found.append("PASS")
                except AssertionError as error:
                    found.append(str(error))
        assert {warning.category for warning in caught} == {FutureWarning}
        return found

    assert outcomes(ember, assert_allclose) == outcomes(torch, torch.testing.assert_allclose)


def test_make_tensor_draws_in_range_with_torchs_options():
    x = make_tensor(3, 4, dtype=ember.float32, device="cpu", low=-1, high=1, requires_grad=True)
    assert x.shape == (3, 4) and x.requires_grad and x.is_leaf and -1 <= x.min().item() and x.max().item() < 1
    y = make_tensor((2, 5), dtype=ember.int64, device="cpu", low=0, high=3, noncontiguous=True)
    assert y.shape == (2, 5) and not y.is_contiguous() and 0 <= y.min().item() and y.max().item() <= 2
    z = make_tensor(1000, dtype=ember.int8, device="cpu", low=-2, high=2, exclude_zero=True)
    assert sorted(set(z.tolist())) == [-2, -1, 1]
    f = make_tensor(1000, dtype=ember.float64, device="cpu", low=-1e-300, high=1e-300, exclude_zero=True)
    assert (f != 0).all()
    assert make_tensor(50, dtype=ember.bool, device="cpu").dtype == ember.bool
    assert make_tensor(3, dtype=ember.complex64, device="cpu").dtype == ember.complex64
    assert ember.isfinite(make_tensor(10, dtype=ember.float32, device="cpu", low=-1e39, high=1e39)).all()
    ember.manual_seed(3)
    first = make_tensor(4, dtype=ember.float32, device="cpu")
    ember.manual_seed(3)
    assert_close(make_tensor(4, dtype=ember.float32, device="cpu"), first)


@pytest.mark.parametrize(("options", "message"), [
    ({"dtype": ember.int64, "requires_grad": True}, "`requires_grad=True` is not supported for boolean and integral"),
    ({"dtype": ember.float32, "low": 2, "high": 1}, "`low` must be less than `high`, but got 2 >= 1"),
    ({"dtype": ember.float32, "low": float("nan")}, "`low` and `high` cannot be NaN"),
    ({"dtype": ember.uint8, "low": -10, "high": -1}, r"is \[-10, -1\), but ember.uint8 only supports \[0, 256\)"),
    ({"dtype": ember.float32, "noncontiguous": True, "memory_format": ember.channels_last}, "mutually exclusive"),
])
def test_make_tensor_refuses_what_torchs_refuses(options, message):
    with pytest.raises(ValueError, match=message):
        make_tensor(2, 2, device="cpu", **options)


def test_ember_testing_is_a_lazy_attribute():
    assert ember.testing.assert_close is assert_close
