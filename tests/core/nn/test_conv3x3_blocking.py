"""The direct 3x3 kernels (``ember.kernels.conv3x3``) against torch, on the shapes their blocking and
layouts special-case: stride 1, 2 and 3, padding 0-2, odd plane sizes, batches that do not fill the last
pass, channel counts that are not multiples of the four-channel blocks, float32 and float64, on one and
on two threads; and ``conv2d`` through them with every subset of its inputs requiring grad.
"""

from __future__ import annotations

import numpy as np
import pytest
from ember.kernels import conv3x3

from ._torch_compare import compare_every_subset

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]

CASES = [  # (batch, in channels, height, width, out channels, stride, padding)
    (3, 5, 7, 9, 6, 1, 1),  # odd everything, 6 = a block of four and two left over
    (2, 4, 8, 8, 4, 1, 0),
    (2, 3, 6, 5, 7, 1, 2),
    (5, 16, 8, 8, 16, 1, 1),  # several samples a pass, the last pass short
    (3, 6, 9, 11, 5, 2, 1),  # stride 2, odd sizes: phases of unequal length
    (4, 8, 8, 8, 10, 2, 1),
    (2, 5, 10, 7, 6, 2, 0),
    (3, 4, 9, 8, 3, 2, 2),
    (2, 3, 10, 11, 4, 3, 1),  # stride 3: the general phase code
]


def _torch_grads(x, w, g, stride, padding):
    xt, wt, gt = (torch.from_numpy(a) for a in (x, w, g))
    return torch.ops.aten.convolution_backward(gt, xt, wt, None, [stride] * 2, [padding] * 2, [1, 1], False,
                                               [0, 0], 1, [True, True, False])[:2]


def _close(got, ref, what, dtype):
    tol = 2e-5 if dtype == np.float32 else 1e-11
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * scale, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "n{}c{}_{}x{}_k{}_s{}_p{}".format(*c))
def test_kernels_match_torch(case, dtype, kernel_threads):
    n, c, h, width, k, stride, padding = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((n, c, h, width)).astype(dtype)
    w = rng.standard_normal((k, c, 3, 3)).astype(dtype)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, stride, padding).numpy()
    out = conv3x3.conv3x3(x, w, padding, padding, stride)
    _close(out, expected, f"forward {case}", dtype)
    g = rng.standard_normal(expected.shape).astype(dtype)
    gx_ref, gw_ref = (t.numpy() for t in _torch_grads(x, w, g, stride, padding))
    _close(conv3x3.conv3x3_weight_grad(x, g, padding, padding, stride), gw_ref, f"weight grad {case}", dtype)
    if stride == 1:  # as conv.py takes it: the forward of g with the flipped, in/out-swapped kernel
        flipped = np.ascontiguousarray(w.swapaxes(0, 1)[:, :, ::-1, ::-1])
        gx = conv3x3.conv3x3(g, flipped, 2 - padding, 2 - padding)
    else:
        gx = conv3x3.conv3x3_input_grad(g, w, padding, padding, stride, h, width)
    _close(gx, gx_ref, f"input grad {case}", dtype)


def test_nan_in_the_input_reaches_the_output():
    x = np.ones((1, 4, 6, 6), np.float32)
    x[0, 1, 2, 3] = np.nan
    out = conv3x3.conv3x3(x, np.ones((4, 4, 3, 3), np.float32), 1, 1, 2)
    assert np.isnan(out[0, :, 1, 1]).all() and np.isfinite(out[0, :, 0, 0]).all()


@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_every_subset_of_inputs(stride, kernel_threads):
    """``conv2d`` on a layer that runs the direct kernels, every subset of (input, weight, bias) requiring grad."""
    rng = np.random.default_rng(stride)
    arrays = [rng.standard_normal((3, 6, 10, 9)).astype(np.float32),
              rng.standard_normal((5, 6, 3, 3)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    compare_every_subset(torch, "conv2d", arrays, {"stride": stride, "padding": 1}, rng, rtol=2e-5)
