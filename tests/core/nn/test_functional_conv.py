"""conv / conv_transpose / linear: gradcheck, torch parity, errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Spec, check_gradcheck, check_parity, ids

SPECS = [
    Spec("linear", lambda F, x, w, b: F.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
    Spec("linear_nobias", lambda F, x, w: F.linear(x, w), [(3, 4), (2, 4)]),
    Spec("bilinear", lambda F, a, b, w, c: F.bilinear(a, b, w, c), [(3, 2), (3, 4), (5, 2, 4), (5,)]),
    Spec("conv1d", lambda F, x, w, b: F.conv1d(x, w, b), [(2, 3, 7), (4, 3, 3), (4,)]),
    Spec("conv1d_stride_pad_dil_groups", lambda F, x, w: F.conv1d(x, w, stride=2, padding=2, dilation=2, groups=2),
         [(2, 4, 9), (6, 2, 3)]),
    Spec("conv1d_same_even", lambda F, x, w: F.conv1d(x, w, padding="same"), [(1, 2, 6), (3, 2, 4)]),
    Spec("conv2d", lambda F, x, w, b: F.conv2d(x, w, b), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    Spec("conv2d_stride_pad", lambda F, x, w: F.conv2d(x, w, stride=2, padding=1), [(2, 2, 5, 6), (3, 2, 3, 3)]),
    Spec("conv2d_asym", lambda F, x, w: F.conv2d(x, w, stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
         [(1, 2, 6, 5), (2, 2, 2, 3)]),
    Spec("conv2d_groups", lambda F, x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
         [(2, 4, 4, 4), (6, 2, 3, 3), (6,)]),
    Spec("conv2d_depthwise", lambda F, x, w: F.conv2d(x, w, groups=3, dilation=2, padding=2),
         [(1, 3, 5, 5), (3, 1, 3, 3)]),
    Spec("conv2d_same", lambda F, x, w: F.conv2d(x, w, padding="same"), [(1, 2, 5, 4), (2, 2, 2, 3)]),
    # stride 1, output at least as large as the input: the input gradient is itself a convolution
    Spec("conv2d_stride1_groups_dil", lambda F, x, w, b: F.conv2d(x, w, b, padding=(2, 1), dilation=(2, 1), groups=2),
         [(2, 6, 6, 5), (4, 3, 3, 2), (4,)]),
    Spec("conv1d_stride1_dil", lambda F, x, w: F.conv1d(x, w, padding=3, dilation=3), [(2, 3, 9), (2, 3, 3)]),
    # padding beyond the dilated kernel: the flipped padding would be negative, so the col2im path runs
    Spec("conv2d_pad_beyond_kernel", lambda F, x, w: F.conv2d(x, w, padding=(3, 1)), [(1, 2, 4, 4), (3, 2, 3, 2)]),
    Spec("conv2d_valid_unbatched", lambda F, x, w: F.conv2d(x, w, padding="valid"), [(2, 5, 5), (3, 2, 3, 3)]),
    # 3x3 layers of stride 1 or 2 run the direct kernel (ember.kernels.conv3x3), several small planes per pass:
    # 5 filters = a block of four and one left over; padding (0, 2) makes the input gradient's (2, 0)
    Spec("conv2d_3x3_direct", lambda F, x, w, b: F.conv2d(x, w, b, padding=1),
         [(2, 3, 16, 17), (5, 3, 3, 3), (5,)]),
    Spec("conv2d_3x3_direct_asym_pad", lambda F, x, w: F.conv2d(x, w, padding=(0, 2)),
         [(1, 4, 18, 15), (8, 4, 3, 3)]),
    Spec("conv2d_3x3_direct_stride2", lambda F, x, w, b: F.conv2d(x, w, b, stride=2, padding=(2, 0)),
         [(5, 4, 9, 8), (6, 4, 3, 3), (6,)]),
    Spec("conv2d_3x3_direct_small_planes", lambda F, x, w: F.conv2d(x, w, padding=1),
         [(13, 3, 4, 5), (3, 3, 3, 3)]),
    # 5x5 layers of stride 1 run the direct kernel (ember.kernels.conv5x5): 6 filters = a block of four and
    # two left over; padding beyond 2; several small planes per pass; 10 samples of 18x19 = passes of
    # 3, 3, 3, 1 (a thread's short pass after a full one must not count the full one's samples again)
    Spec("conv2d_5x5_direct", lambda F, x, w, b: F.conv2d(x, w, b, padding=2),
         [(2, 3, 12, 11), (6, 3, 5, 5), (6,)]),
    Spec("conv2d_5x5_direct_asym_pad", lambda F, x, w: F.conv2d(x, w, padding=(0, 3)),
         [(1, 2, 9, 10), (4, 2, 5, 5)]),
    Spec("conv2d_5x5_direct_small_planes", lambda F, x, w: F.conv2d(x, w),
         [(11, 1, 6, 7), (3, 1, 5, 5)]),
    Spec("conv2d_5x5_direct_short_last_pass", lambda F, x, w: F.conv2d(x, w),
         [(10, 1, 18, 19), (3, 1, 5, 5)]),
    # stride 2 with rows of at least 8 columns: im2col reads the rows split into even and odd columns, col2im (the
    # input gradient) adds into them (kernels.conv._im2col_stride2, _col2im_stride2); an odd width, and dilated
    # taps that start 3 columns into the padding
    Spec("conv2d_4x4_stride2_split_rows", lambda F, x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
         [(1, 2, 9, 17), (3, 2, 4, 4), (3,)]),
    Spec("conv2d_stride2_split_rows_dil", lambda F, x, w: F.conv2d(x, w, stride=2, padding=(1, 3), dilation=(1, 2)),
         [(1, 2, 5, 19), (2, 2, 3, 3)]),
    Spec("conv_transpose1d", lambda F, x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
         [(2, 3, 5), (3, 2, 3), (2,)]),
    Spec("conv_transpose2d", lambda F, x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1),
         [(2, 3, 3, 4), (3, 2, 3, 3), (2,)]),
    Spec("conv_transpose2d_groups_dil", lambda F, x, w: F.conv_transpose2d(
        x, w, stride=(2, 1), output_padding=(1, 0), groups=2, dilation=(1, 2)), [(1, 4, 3, 3), (4, 3, 2, 2)]),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


def test_conv_wrong_channels_names_expected_and_given():
    x, w = ember.randn(8, 1, 28, 28), ember.randn(16, 3, 3, 3)
    with pytest.raises(RuntimeError) as info:
        F.conv2d(x, w)
    message = str(info.value)
    assert "expected input with 3 channels" in message and "got 1 channels" in message
    assert "(16, 3, 3, 3)" in message and "(8, 1, 28, 28)" in message


def test_conv_transpose_wrong_channels():
    with pytest.raises(RuntimeError, match="expected input with 4 channels"):
        F.conv_transpose2d(ember.randn(1, 3, 4, 4), ember.randn(4, 2, 3, 3))


def test_linear_wrong_features_says_so():
    with pytest.raises(RuntimeError, match="512"):
        F.linear(ember.randn(2, 512), ember.randn(10, 784))


def test_conv_keeps_float32_and_first_layer_skips_input_grad():
    x = ember.randn(4, 3, 8, 8)  # no requires_grad: the first layer of a network
    w = ember.randn(5, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert y.dtype == ember.float32 and y._data.flags.c_contiguous
    y.sum().backward()
    assert w.grad.dtype == ember.float32 and x.grad is None


@pytest.mark.parametrize("size", [3, 5])
def test_direct_conv_propagates_nan_to_the_window_it_touches(size):
    x = np.zeros((1, 2, 16, 16), dtype=np.float32)
    x[0, 1, 7, 9] = np.nan
    y = F.conv2d(ember.tensor(x), ember.ones(6, 2, size, size), padding=size // 2).numpy()
    expected = np.zeros((16, 16), dtype=bool)
    expected[7 - size // 2 : 8 + size // 2, 9 - size // 2 : 10 + size // 2] = True
    for channel in y[0]:
        np.testing.assert_array_equal(np.isnan(channel), expected)


def test_unfold_then_matmul_equals_conv2d():
    x, w = ember.randn(2, 3, 6, 6), ember.randn(4, 3, 3, 3)
    cols = F.unfold(x, 3, padding=1, stride=2)
    manual = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(manual._data, F.conv2d(x, w, padding=1, stride=2)._data, atol=1e-5)


@pytest.mark.parity
def test_conv_transpose_weight_gradient_alone_matches_torch():
    # the generator's first layer on noise: no input gradient, so only the columns of g are built
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 5, 5)).astype(np.float32), rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    ours, theirs = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    F.conv_transpose2d(ember.tensor(x), ours, stride=2, groups=2).sum().backward()
    torch.nn.functional.conv_transpose2d(torch.tensor(x), theirs, stride=2, groups=2).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-4)
