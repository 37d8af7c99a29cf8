"""Convolutions at ResNet-18 / DCGAN widths (128+ channels on small planes) against torch.

These shapes take the paths chosen for wide layers (``ember.nn.functional.conv``): im2col with the batch
folded into one GEMM (planes under 256 output positions), im2col one block of samples at a time (larger
planes), the direct 3x3 kernel (64 channels, 130 filters), and transposed convolutions whose columns
come from one folded GEMM. Each case is compared with torch, forward and every gradient, for every subset of
input / weight / bias that requires grad.
"""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.nn.functional import conv as conv_impl

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]

# name: (functional name, input shape, weight shape, has bias, keyword arguments, path the forward takes)
CASES = {
    "3x3_s1_4x4_folded": ("conv2d", (3, 128, 4, 4), (128, 128, 3, 3), True, {"padding": 1}, "im2col"),
    "3x3_s2_5x5_folded": ("conv2d", (2, 128, 5, 5), (130, 128, 3, 3), False, {"stride": 2, "padding": 1},
                          "im2col"),
    "2x2_s1_17x17_blocks": ("conv2d", (2, 160, 16, 16), (10, 160, 2, 2), True, {"padding": 1}, "im2col"),
    "3x3_s1_8x8_direct": ("conv2d", (3, 64, 8, 8), (130, 64, 3, 3), True, {"padding": 1}, "3x3"),
    "3x3_s1_8x8_128": ("conv2d", (3, 128, 8, 8), (9, 128, 3, 3), True, {"padding": 1}, "im2col"),
    "3x3_s1_6x6_flipped": ("conv2d", (12, 8, 6, 6), (8, 8, 3, 3), True, {"padding": 1}, "im2col"),
    "1x1_s2_downsample": ("conv2d", (2, 128, 4, 4), (256, 128, 1, 1), False, {"stride": 2}, "im2col"),
    "3x3_groups_folded": ("conv2d", (2, 128, 3, 3), (132, 64, 3, 3), True, {"padding": 1, "groups": 2}, "im2col"),
    "4x4_s2_discriminator": ("conv2d", (2, 128, 8, 8), (129, 128, 4, 4), True, {"stride": 2, "padding": 1},
                             "im2col"),
    "t4x4_s2_generator": ("conv_transpose2d", (2, 128, 4, 4), (128, 64, 4, 4), True, {"stride": 2, "padding": 1},
                          None),
    "t4x4_from_noise": ("conv_transpose2d", (3, 100, 1, 1), (100, 128, 4, 4), False, {}, None),
    "t4x4_s2_groups": ("conv_transpose2d", (2, 128, 3, 3), (128, 33, 4, 4), True,
                       {"stride": 2, "padding": 1, "groups": 2}, None),
    # planes smaller than the kernel's reach: the taps that read only padding are dropped
    "3x3_on_1x1_cropped": ("conv2d", (3, 128, 1, 1), (130, 128, 3, 3), True, {"padding": 1}, None),
    "3x3_s2_2x2_cropped": ("conv2d", (2, 128, 2, 2), (129, 128, 3, 3), False, {"stride": 2, "padding": 1}, None),
    "5x5_on_2x2_cropped": ("conv2d", (2, 128, 2, 2), (6, 128, 5, 5), True, {"padding": 2}, None),
    "1d_3_on_1_cropped": ("conv1d", (2, 128, 1), (5, 128, 3), True, {"padding": 1}, None),
    "3d_folded": ("conv3d", (2, 128, 3, 3, 3), (130, 128, 3, 3, 3), True, {"padding": 1}, "im2col"),
    "t3d_s2": ("conv_transpose3d", (2, 128, 2, 2, 2), (128, 3, 2, 2, 2), True, {"stride": 2}, None),
}



def _run(lib, fn_name, x, w, b, kwargs, subset, upstream):
    """Forward and backward of one case in ``lib``; returns the output and the gradients of ``subset``."""
    make = ember.tensor if lib is ember else torch.tensor
    leaves = [make(a, requires_grad=name in subset) if a is not None else None
              for name, a in zip(("input", "weight", "bias"), (x, w, b))]
    out = getattr(lib.nn.functional, fn_name)(*leaves, **kwargs)
    (out * make(upstream)).sum().backward()
    grads = [leaf.grad.numpy() for name, leaf in zip(("input", "weight", "bias"), leaves) if name in subset]
    return out.detach().numpy(), grads


@pytest.mark.parametrize("case", CASES)
def test_wide_conv_matches_torch_for_every_requires_grad_subset(case):
    fn_name, x_shape, w_shape, has_bias, kwargs, _ = CASES[case]
    rng = np.random.default_rng(len(case))
    x = rng.standard_normal(x_shape).astype(np.float32)
    fan_in = w_shape[0] if "transpose" in fn_name else np.prod(w_shape[1:])
    w = (rng.standard_normal(w_shape) / np.sqrt(fan_in)).astype(np.float32)
    b = rng.standard_normal(w_shape[0] if "transpose" not in fn_name else w_shape[1] * kwargs.get("groups", 1))
    b = b.astype(np.float32) if has_bias else None
    expected_out = getattr(torch.nn.functional, fn_name)(torch.tensor(x), torch.tensor(w),
                                                         None if b is None else torch.tensor(b), **kwargs)
    upstream = rng.standard_normal(tuple(expected_out.shape)).astype(np.float32)
    names = ["input", "weight"] + (["bias"] if has_bias else [])
    for size in range(1, len(names) + 1):
        for subset in itertools.combinations(names, size):
            out, grads = _run(ember, fn_name, x, w, b, kwargs, subset, upstream)
            ref_out, ref_grads = _run(torch, fn_name, x, w, b, kwargs, subset, upstream)
            np.testing.assert_allclose(out, ref_out, rtol=1e-4, atol=1e-4, err_msg=f"{case} output")
            for name, got, ref in zip(subset, grads, ref_grads):
                scale = max(1.0, float(np.abs(ref).max()))
                np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * scale,
                                           err_msg=f"{case}: gradient of {name} (requires grad: {subset})")


@pytest.mark.parametrize("case", [name for name, spec in CASES.items() if spec[5] is not None])
def test_wide_cases_take_the_path_they_test(case):
    # the cases above cover the paths only while the dispatch rule sends them there
    _, x_shape, w_shape, _, kwargs, path = CASES[case]
    dims = len(x_shape) - 2
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    stride = (kwargs.get("stride", 1),) * dims
    padding = (kwargs.get("padding", 0),) * dims
    assert conv_impl._conv_kernel(x, w, stride, padding, (1,) * dims, kwargs.get("groups", 1)) == path
    out_size = [(s + 2 * p - k) // st + 1 for s, p, k, st in zip(x_shape[2:], padding, w_shape[2:], stride)]
    if path == "im2col":  # the columns' layout: the batch folded into one GEMM below 256 positions
        folded = conv_impl._folds_batch(x_shape[0], int(np.prod(out_size)))
        assert folded == (case != "2x2_s1_17x17_blocks")


@pytest.mark.parametrize("case, flipped", [("3x3_s1_6x6_flipped", True), ("3x3_s1_4x4_folded", False)])
def test_input_gradient_takes_the_flipped_kernel_only_where_the_weight_is_the_smaller(case, flipped, monkeypatch):
    # a stride-1 padded layer's input gradient: a convolution with the flipped kernel, unless the weight is
    # larger than the output gradient (then col2im of W^T g, which reads the weight in place)
    _, x_shape, w_shape, _, kwargs, _ = CASES[case]
    calls = []
    flip = conv_impl._flip_kernel
    monkeypatch.setattr(conv_impl, "_flip_kernel", lambda *args: calls.append(1) or flip(*args))
    x = ember.tensor(np.ones(x_shape, np.float32), requires_grad=True)
    ember.nn.functional.conv2d(x, ember.tensor(np.ones(w_shape, np.float32)), **kwargs).sum().backward()
    assert bool(calls) == flipped


def test_folded_and_per_sample_columns_agree():
    # the same convolution through both layouts of the columns: output and weight gradient
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 130, 5, 5)).astype(np.float32)
    w = rng.standard_normal((7, 130, 3, 3)).astype(np.float32)
    g = rng.standard_normal((3, 7, 5, 5)).astype(np.float32)
    args = (1, (1, 1), (1, 1), (1, 1), (5, 5))
    folded_out, folded_cols = conv_impl._im2col_matmul(x, w, *args)
    threshold = conv_impl._FOLD_POSITIONS
    conv_impl._FOLD_POSITIONS = 0
    try:
        blocked_out, blocked_cols = conv_impl._im2col_matmul(x, w, *args)
    finally:
        conv_impl._FOLD_POSITIONS = threshold
    assert folded_cols.ndim == 3 and blocked_cols.ndim == 4
    np.testing.assert_allclose(folded_out, blocked_out, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(conv_impl._weight_grad(folded_cols, g, 1, w.shape),
                               conv_impl._weight_grad(blocked_cols, g, 1, w.shape), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("case", [name for name in CASES if name.endswith("_cropped")])
def test_cropped_cases_drop_taps(case):
    # the cases above test the dropped taps only while the convolution drops some
    _, x_shape, w_shape, _, kwargs, _ = CASES[case]
    dims = len(x_shape) - 2
    stride, padding = (kwargs.get("stride", 1),) * dims, (kwargs.get("padding", 0),) * dims
    out_size = [(s + 2 * p - k) // st + 1 for s, p, k, st in zip(x_shape[2:], padding, w_shape[2:], stride)]
    crop = conv_impl._useful_taps(x_shape[2:], w_shape[2:], out_size, stride, padding, (1,) * dims)
    assert crop is not None
    kept = np.zeros(w_shape)[crop[0]].shape
    assert np.prod(kept) < np.prod(w_shape)
