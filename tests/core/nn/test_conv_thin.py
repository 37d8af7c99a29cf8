"""Convolutions with few output channels by one GEMM over every tap and a tap sum (``ember.kernels.conv_thin``)
against torch.

The layers that take this path (stride 1, at most a few output channels, fewer than their input channels:
fast_neural_style's last 9x9 conv, 32 -> 3) are compared with torch: output and every gradient for every
subset of input, weight and bias that requires grad, in float32 and float64, batch 1 and more, odd kernels,
padding 0 and k // 2, dilation, unbatched input and conv1d, and the kernels split over one and two threads.
"""

from __future__ import annotations

import numpy as np
import pytest
from ember.nn.functional import conv as conv_impl

from ._torch_compare import compare_every_subset

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]


def _path(x_shape, w_shape, padding, dilation=1):
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    if len(w_shape) == 3:  # conv1d runs on a height-1 view
        x, w = x[:, :, None], w[:, :, None]
        return conv_impl._conv_kernel(x, w, (1, 1), (0, padding), (1, dilation), 1)
    return conv_impl._conv_kernel(x, w, (1, 1), (padding,) * 2, (dilation,) * 2, 1)


def _compare(fn_name, x_shape, w_shape, kwargs, dtype, rng):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    compare_every_subset(torch, fn_name, [x, w, b], kwargs, rng, rtol=1e-4 if dtype == np.float32 else 1e-10)


# (input shape, weight shape, padding, dilation): fast_neural_style's last layer (smaller plane), odd kernels
# 3-9, padding 0 and k // 2, rectangular planes, one sample, dilation
CASES = {
    "9x9_32_to_3_valid": ((2, 32, 21, 19), (3, 32, 9, 9), 0, 1),
    "9x9_32_to_3_same": ((2, 32, 13, 14), (3, 32, 9, 9), 4, 1),
    "7x7_16_to_1_one_sample": ((1, 16, 12, 17), (1, 16, 7, 7), 3, 1),
    "3x3_70_to_2_valid": ((3, 70, 9, 8), (2, 70, 3, 3), 0, 1),
    "1x7_12_to_4_padding_1": ((2, 12, 6, 11), (4, 12, 1, 7), 1, 1),
    "5x5_9_to_8_dilation_2": ((2, 9, 15, 13), (8, 9, 5, 5), 2, 2),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_thin_conv2d_matches_torch(case, dtype):
    x_shape, w_shape, padding, dilation = CASES[case]
    assert _path(x_shape, w_shape, padding, dilation) == "thin"
    _compare("conv2d", x_shape, w_shape, {"padding": padding, "dilation": dilation}, dtype,
             np.random.default_rng(len(case)))


def test_thin_conv2d_unbatched_matches_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 11, 12)).astype(np.float32)
    w = rng.standard_normal((2, 16, 7, 7)).astype(np.float32) / 30
    assert _path((1,) + x.shape, w.shape, 3) == "thin"
    compare_every_subset(torch, "conv2d", [x, w], {"padding": 3}, rng)


@pytest.mark.parametrize("padding", [0, 4])
def test_thin_conv1d_matches_torch(padding):
    x_shape, w_shape = (3, 20, 40), (2, 20, 9)
    assert _path(x_shape, w_shape, padding) == "thin"
    _compare("conv1d", x_shape, w_shape, {"padding": padding}, np.float32, np.random.default_rng(padding))


@pytest.mark.parametrize("padding", [0, 2])
def test_thin_conv2d_stride_2_matches_torch(padding):
    x_shape, w_shape = (2, 16, 15, 18), (3, 16, 5, 5)
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    assert conv_impl._conv_kernel(x, w, (2, 2), (padding,) * 2, (1, 1), 1) == "thin"
    _compare("conv2d", x_shape, w_shape, {"padding": padding, "stride": 2}, np.float32,
             np.random.default_rng(padding))


def test_thin_kernels_split_over_two_threads_match_torch(kernel_threads):
    # tap planes of 3 x 81 x 48 x 48 elements a sample: beyond the kernels' one-thread size
    x_shape, w_shape = (3, 32, 48, 48), (3, 32, 9, 9)
    assert _path(x_shape, w_shape, 0) == "thin"
    _compare("conv2d", x_shape, w_shape, {}, np.float32, np.random.default_rng(7))


@pytest.mark.parametrize("x_shape, w_shape, stride", [
    ((2, 3, 20, 20), (32, 3, 9, 9), 1),  # few input channels, many output channels: im2col's columns are small
    ((2, 32, 20, 20), (8, 32, 5, 5), 2),  # strided: the GEMM over every input position does 4x the work
    ((2, 32, 20, 20), (3, 32, 1, 1), 1),  # 1x1: im2col's columns are the input itself
], ids=["wide_output", "stride_2", "1x1"])
def test_other_layers_keep_im2col(x_shape, w_shape, stride):
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    assert conv_impl._conv_kernel(x, w, (stride,) * 2, (0, 0), (1, 1), 1) == "im2col"


@pytest.mark.parametrize("x_shape, w_shape, padding", [
    ((2, 3, 17, 15), (32, 3, 9, 9), 4),  # fast_neural_style's first layer, padded here
    ((2, 4, 9, 9), (6, 4, 5, 5), 2),
], ids=["9x9_3_to_32", "5x5_4_to_6"])
def test_few_input_channels_input_grad_by_col2im_matches_torch(x_shape, w_shape, padding):
    # the output as large as the input, fewer input than output channels: the input gradient takes col2im of
    # Wᵀ g (C * K rows), not the flipped forward (O * K rows)
    _compare("conv2d", x_shape, w_shape, {"padding": padding}, np.float32, np.random.default_rng(11))
