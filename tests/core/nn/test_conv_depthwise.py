"""Depthwise convolutions (``groups`` = input = output channels) by the channels-last kernels
(``ember.kernels.depthwise``) against torch: output and every gradient for every subset of input, weight and bias
that requires grad, in float32 and float64, the 3x3 / 5x5 / 7x7 layers of MobileNet and ConvNeXt, strides,
dilation, asymmetric and 'same' padding, one sample, and the kernels split over one and two threads."""

from __future__ import annotations

import numpy as np
import pytest
from ember.nn.functional import conv as conv_impl

from ._torch_compare import compare_every_subset

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]


def _path(x_shape, w_shape, groups, stride=1, padding=0, dilation=1):
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    return conv_impl._conv_kernel(x, w, (stride,) * 2, (padding,) * 2, (dilation,) * 2, groups)


def _compare(x_shape, k, kwargs, dtype, rng, out_channels=None):
    c = x_shape[1]
    w_shape = (out_channels or c, 1, *k) if isinstance(k, tuple) else (out_channels or c, 1, k, k)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[2:]))).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    compare_every_subset(torch, "conv2d", [x, w, b], dict(kwargs, groups=c), rng,
                         rtol=1e-4 if dtype == np.float32 else 1e-10)


CASES = {  # (input shape, kernel, options)
    "convnext_7x7": ((2, 40, 9, 8), 7, {"padding": 3}),
    "convnext_7x7_2x2_plane": ((2, 16, 2, 2), 7, {"padding": 3}),
    "mobilenet_3x3": ((2, 24, 11, 10), 3, {"padding": 1}),
    "mobilenet_3x3_stride_2": ((1, 16, 11, 12), 3, {"padding": 1, "stride": 2}),
    "5x5_stride_2_no_padding": ((2, 8, 13, 9), 5, {"stride": 2}),
    "3x3_dilation_2": ((2, 12, 10, 10), 3, {"padding": 2, "dilation": 2}),
    "1x5_asymmetric": ((2, 10, 7, 9), (1, 5), {"padding": (0, 2)}),
    "3x3_same": ((2, 9, 6, 7), 3, {"padding": "same"}),
    "4x4_same_even": ((1, 8, 6, 6), 4, {"padding": "same"}),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_depthwise_conv2d_matches_torch(case, dtype):
    x_shape, k, options = CASES[case]
    k2 = k if isinstance(k, tuple) else (k, k)
    if isinstance(options.get("padding"), int):
        assert _path(x_shape, (x_shape[1], 1, *k2), x_shape[1], options.get("stride", 1), options["padding"],
                     options.get("dilation", 1)) == "depthwise"
    _compare(x_shape, k, options, dtype, np.random.default_rng(len(case)))


def test_depthwise_kernels_split_over_two_threads_match_torch(kernel_threads):
    # 8 x 40 x 32 x 32 elements: beyond the kernels' one-thread size
    _compare((8, 40, 32, 32), 7, {"padding": 3}, np.float32, np.random.default_rng(4))


def test_few_channels_or_a_channel_multiplier_keep_the_planar_kernel():
    assert _path((2, 4, 8, 8), (4, 1, 3, 3), 4) == "grouped"  # planes longer than the channel loop
    assert _path((2, 16, 8, 8), (32, 1, 3, 3), 16) == "grouped"  # two output channels per input channel
    assert _path((2, 16, 8, 8), (16, 1, 3, 3), 16) == "depthwise"
