"""pixel_shuffle / pixel_unshuffle / channel_shuffle and their modules: against torch (forward and gradient,
with batch dimensions in front), round trips, and torch's errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import functional as F

from .functional_specs import Float, Spec, check_gradcheck, check_parity

SPECS = [
    Spec("pixel_shuffle", lambda F, x: F.pixel_shuffle(x, 2), [(2, 8, 3, 4)]),
    Spec("pixel_shuffle_unbatched", lambda F, x: F.pixel_shuffle(x, 3), [(9, 2, 2)]),
    Spec("pixel_shuffle_5d", lambda F, x: F.pixel_shuffle(x, 2), [(2, 3, 4, 2, 3)]),
    Spec("pixel_unshuffle", lambda F, x: F.pixel_unshuffle(x, 2), [(2, 3, 4, 6)]),
    Spec("pixel_unshuffle_5d", lambda F, x: F.pixel_unshuffle(x, 3), [(2, 1, 2, 3, 6)]),
    Spec("channel_shuffle", lambda F, x: F.channel_shuffle(x, 3), [(2, 6, 2, 3)]),
    Spec("channel_shuffle_3d", lambda F, x: F.channel_shuffle(x, 2), [(2, 4, 5)]),
    Spec("channel_shuffle_5d", lambda F, x: F.channel_shuffle(x, 2), [(1, 4, 2, 3, 2)]),
    # (torch's native_channel_shuffle has no derivative; Ember's, a reshape, has one: compared forward only)
    Spec("native_channel_shuffle", lambda F, x: F.native_channel_shuffle(x, 2), [Float((2, 4, 3, 3), grad=False)]),
]


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_matches_torch(spec):
    pytest.importorskip("torch")
    check_parity(spec)


@pytest.mark.parametrize("spec", SPECS[::2], ids=repr)
def test_gradcheck(spec):
    check_gradcheck(spec)


def test_pixel_shuffle_lays_channels_out_as_sub_pixels():
    # channel k = i * r + j of each group lands at sub-pixel (i, j)
    x = ember.arange(4.0).reshape(1, 4, 1, 1)
    np.testing.assert_array_equal(F.pixel_shuffle(x, 2).numpy()[0, 0], [[0, 1], [2, 3]])


def test_unshuffle_inverts_shuffle():
    x = ember.randn(2, 3, 6, 4)
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(x, 2), 2).numpy(), x.numpy())
    np.testing.assert_array_equal(F.channel_shuffle(F.channel_shuffle(ember.randn(1, 4, 2), 2), 2).shape, (1, 4, 2))


def test_channel_shuffle_interleaves_groups():
    x = ember.arange(6.0).reshape(1, 6, 1)
    np.testing.assert_array_equal(F.channel_shuffle(x, 2).numpy().ravel(), [0, 3, 1, 4, 2, 5])


@pytest.mark.parametrize("module, shape, expected", [
    (nn.PixelShuffle(3), (1, 9, 4, 4), (1, 1, 12, 12)),
    (nn.PixelUnshuffle(2), (1, 1, 4, 6), (1, 4, 2, 3)),
    (nn.ChannelShuffle(2), (1, 4, 3, 3), (1, 4, 3, 3)),
])
def test_modules_shape_and_gradient(module, shape, expected):
    x = ember.randn(*shape, requires_grad=True)
    y = module(x)
    assert tuple(y.shape) == expected
    (y * ember.arange(float(y.numel())).reshape(expected)).sum().backward()
    # a permutation: the gradient holds every upstream value exactly once
    np.testing.assert_array_equal(np.sort(x.grad.numpy().ravel()), np.arange(float(y.numel())))


@pytest.mark.parity
def test_module_reprs_match_torch():
    torch = pytest.importorskip("torch")
    for name, arg in [("PixelShuffle", 2), ("PixelUnshuffle", 3), ("ChannelShuffle", 4)]:
        assert repr(getattr(nn, name)(arg)) == repr(getattr(torch.nn, name)(arg))


BAD = [
    (lambda: F.pixel_shuffle(ember.zeros(4, 4), 2), "at least 3 dimensions, but got input with 2"),
    (lambda: F.pixel_shuffle(ember.zeros(5, 4, 4), 2), r"input.size\(-3\)=5 is not divisible by 4"),
    (lambda: F.pixel_shuffle(ember.zeros(4, 4, 4), 0), "positive upscale_factor, but got 0"),
    (lambda: F.pixel_unshuffle(ember.zeros(4, 5, 4), 2), r"height to be divisible .* input.size\(-2\)=5"),
    (lambda: F.pixel_unshuffle(ember.zeros(4, 4, 5), 2), r"width to be divisible .* input.size\(-1\)=5"),
    (lambda: F.pixel_unshuffle(ember.zeros(4, 4, 4), -1), "positive downscale_factor, but got -1"),
    (lambda: F.channel_shuffle(ember.zeros(2, 4), 2), r"input with > 2 dims, but got input with sizes \[2, 4\]"),
    (lambda: F.channel_shuffle(ember.zeros(2, 5, 4), 2), "Got 5 channels and 2 groups"),
    (lambda: F.channel_shuffle(ember.zeros(2, 4, 4), 0), "must be positive. Value of groups:0"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_errors_name_the_problem_as_torch(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()
