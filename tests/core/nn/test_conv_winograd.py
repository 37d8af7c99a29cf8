"""3x3 stride-1 convolutions by Winograd F(2x2, 3x3) (``ember.kernels.winograd``) against torch.

The layers that take this path (wide 3x3 layers, or small planes, with enough output positions in the
batch) are compared with torch: output and every gradient for every subset of input, weight and bias that
requires grad, in float32 and float64, with paddings 0-2, odd plane sizes (partial tiles), one sample, and
the transforms split over one and two threads.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.kernels import winograd
from ember.nn.functional import conv as conv_impl

from ._torch_compare import compare_every_subset

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]


def _path(x_shape, w_shape, padding):
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    return conv_impl._conv_kernel(x, w, (1, 1), (padding, padding), (1, 1), 1)


def _compare(x_shape, w_shape, padding, dtype, rng, rtol):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    compare_every_subset(torch, "conv2d", [x, w, b], {"padding": padding}, rng, rtol=rtol)


# (input shape, weight shape, padding): wide layers (ResNet-18's 128-512 channels, fewer here), small
# planes of any width, odd sizes (the last row and column of tiles half outside the output), one sample
CASES = {
    "wide_16x16": ((2, 66, 16, 16), (64, 66, 3, 3), 1),
    "wide_odd_7x9": ((9, 70, 7, 9), (65, 70, 3, 3), 1),
    "small_plane_6x6_valid": ((40, 64, 6, 6), (64, 64, 3, 3), 0),
    "small_plane_5x5_padding_2": ((12, 64, 5, 5), (66, 64, 3, 3), 2),
    "one_sample_23x23": ((1, 65, 23, 23), (64, 65, 3, 3), 1),
    "few_outputs_8x8": ((8, 96, 8, 8), (16, 96, 3, 3), 1),  # a DenseNet-like layer: 16 output channels
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_winograd_matches_torch(case, dtype):
    x_shape, w_shape, padding = CASES[case]
    assert _path(x_shape, w_shape, padding) == "winograd"
    rng = np.random.default_rng(len(case))
    _compare(x_shape, w_shape, padding, dtype, rng, 1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("shapes", [((4, 66, 24, 24), (64, 66, 3, 3)), ((2, 66, 16, 16), (130, 66, 3, 3))],
                         ids=["large_input", "large_weight"])
def test_winograd_transforms_split_over_two_threads_match_torch(shapes, kernel_threads):
    # beyond the transforms' one-thread size: the input's (152k elements) or the weight's (16 x 130 x 66)
    x_shape, w_shape = shapes
    assert max(np.prod(x_shape), 16 * w_shape[0] * w_shape[1]) >= winograd._input_transform.work
    assert _path(x_shape, w_shape, 1) == "winograd"
    _compare(x_shape, w_shape, 1, np.float32, np.random.default_rng(5), 1e-4)


def test_which_layers_take_winograd():
    # ResNet-18's 3x3 layers at 128 and 256 channels, batch 8 (CIFAR): Winograd
    assert _path((8, 128, 16, 16), (128, 128, 3, 3), 1) == "winograd"
    assert _path((8, 256, 8, 8), (256, 256, 3, 3), 1) == "winograd"
    # too few output positions in the batch (512 channels on 4x4 planes, batch 8) for the transforms to pay
    assert _path((8, 512, 4, 4), (512, 512, 3, 3), 1) == "im2col"
    # up to 64 channels on planes of 8x8 and more, the direct kernel (on two threads and more; one thread below);
    # strided layers never take Winograd
    import numba

    assert _path((8, 64, 32, 32), (64, 64, 3, 3), 1) == ("3x3" if numba.get_num_threads() > 1 else "winograd")
    # small planes with fewer than 64 channels in or out keep im2col
    assert _path((40, 16, 6, 6), (64, 16, 3, 3), 1) == "im2col"
    assert _path((40, 64, 6, 6), (10, 64, 3, 3), 1) == "im2col"
    # fewer output channels, from 16: DenseNet-121's 128 -> 32 layers (kuangliu/pytorch-cifar, batch 16)
    assert _path((16, 128, 16, 16), (32, 128, 3, 3), 1) == "winograd"
    assert _path((16, 128, 8, 8), (16, 128, 3, 3), 1) == "winograd"
    assert _path((40, 64, 6, 6), (64, 64, 3, 3), 1) == "winograd"
    assert _path((8, 128, 16, 16), (256, 128, 3, 3), 1) == "winograd"
    x, w = np.zeros((8, 128, 16, 16), np.float32), np.zeros((256, 128, 3, 3), np.float32)
    assert conv_impl._conv_kernel(x, w, (2, 2), (1, 1), (1, 1), 1) == "im2col"


def test_on_one_kernel_thread_64_channel_layers_take_winograd_and_strided_ones_im2col():
    # on one thread Winograd beats the direct kernel from 64 channels (0.72-0.99 x its time); on more threads
    # the direct kernel, split over them, stays
    import numba

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert _path((64, 64, 8, 8), (64, 64, 3, 3), 1) == "winograd"  # ResNet-8's last stage
        assert _path((8, 64, 32, 32), (64, 64, 3, 3), 1) == "winograd"  # ResNet-18 CIFAR's first
        assert _path((8, 64, 4, 4), (64, 64, 3, 3), 1) == "im2col"  # 128 output positions: too few
        assert _path((64, 32, 16, 16), (32, 32, 3, 3), 1) == "3x3"  # 32 channels: direct
        assert _path((64, 64, 8, 8), (32, 64, 3, 3), 1) == "3x3"  # 32 out: direct
        x, w = np.zeros((64, 32, 16, 16), np.float32), np.zeros((64, 32, 3, 3), np.float32)
        assert conv_impl._conv_kernel(x, w, (2, 2), (1, 1), (1, 1), 1) == "im2col"  # stride 2 from 17 channels
        x, w = np.zeros((64, 16, 32, 32), np.float32), np.zeros((32, 16, 3, 3), np.float32)
        assert conv_impl._conv_kernel(x, w, (2, 2), (1, 1), (1, 1), 1) == "3x3"
        if before > 1:
            numba.set_num_threads(2)
            assert _path((64, 64, 8, 8), (64, 64, 3, 3), 1) == "3x3"
            x, w = np.zeros((64, 32, 16, 16), np.float32), np.zeros((64, 32, 3, 3), np.float32)
            assert conv_impl._conv_kernel(x, w, (2, 2), (1, 1), (1, 1), 1) == "3x3"
    finally:
        numba.set_num_threads(before)


def test_filter_gradient_is_the_adjoint_of_the_filter_transform():
    """<G w Gᵀ, dU> = <w, Gᵀ dU G>: the weight gradient's last step is the transpose of the first."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4, 3, 3))
    dm, v = rng.standard_normal((16, 3, 7)), rng.standard_normal((16, 4, 7))
    du = np.matmul(dm, v.transpose(0, 2, 1))
    np.testing.assert_allclose(np.sum(winograd.filter_transform(w) * du),
                               np.sum(w * winograd.filter_gradient(dm, v)), rtol=1e-12)


def test_a_winograd_layer_trains_like_torch():
    """Three SGD steps of a 3x3 layer at 128 channels in both libraries, from the same weights."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 128, 8, 8)).astype(np.float32)
    w0 = (rng.standard_normal((128, 128, 3, 3)) / 34).astype(np.float32)
    assert _path(x.shape, w0.shape, 1) == "winograd"
    weights = []
    for lib in (ember, torch):
        w = (ember.tensor if lib is ember else torch.tensor)(w0.copy(), requires_grad=True)
        opt = lib.optim.SGD([w], lr=0.1)
        xt = (ember.tensor if lib is ember else torch.tensor)(x)
        for _ in range(3):
            opt.zero_grad()
            lib.nn.functional.conv2d(xt, w, padding=1).tanh().square().mean().backward()
            opt.step()
        weights.append(w.detach().numpy())
    np.testing.assert_allclose(weights[0], weights[1], rtol=1e-4, atol=1e-5)
