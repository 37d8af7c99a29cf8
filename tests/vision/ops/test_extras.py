"""vision.ops' deformable convolution, position-sensitive and multi-scale RoI pooling, DropBlock3d and
Conv3dNormActivation, compared with torchvision (or, where its compiled kernels do not load here, with the
kernel's formula written in torch)."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.vision import ops

from .._torchvision import import_torchvision


def _torch_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask):
    """torchvision's deform_conv2d kernel in torch ops: zero-padded bilinear samples (grid_sample with
    align_corners=True reads pixel coordinates exactly), masked, then a grouped matmul."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    taps = kh * kw
    groups_off, groups_w = offset.shape[1] // (2 * taps), c // cg
    ho, wo = offset.shape[-2:]
    off = offset.reshape(n, groups_off, taps, 2, ho, wo)
    ky = torch.arange(kh).repeat_interleave(kw) * dilation[0]
    kx = torch.arange(kw).repeat(kh) * dilation[1]
    by = (torch.arange(ho) * stride[0] - padding[0])[None, :, None] + ky[:, None, None]
    bx = (torch.arange(wo) * stride[1] - padding[1])[None, None, :] + kx[:, None, None]
    y, xx = off[:, :, :, 0] + by, off[:, :, :, 1] + bx
    gx, gy = 2 * xx / (w - 1) - 1, 2 * y / (h - 1) - 1
    cols = []
    for g in range(groups_off):
        grid = torch.stack([gx[:, g], gy[:, g]], -1).reshape(n, taps * ho, wo, 2)
        part = x[:, g * c // groups_off:(g + 1) * c // groups_off]
        s = F.grid_sample(part, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        s = s.reshape(n, c // groups_off, taps, ho, wo)
        if mask is not None:
            s = s * mask.reshape(n, groups_off, taps, ho, wo)[:, g, None]
        cols.append(s)
    cols = torch.cat(cols, 1).reshape(n, groups_w, cg * taps, ho * wo)
    out = torch.matmul(weight.reshape(groups_w, o // groups_w, cg * taps), cols).reshape(n, o, ho, wo)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


DEFORM_CASES = [  # (N, C_in, H, W), weight (C_out, C_in/groups, kh, kw), offset groups, stride, padding, dilation
    ((2, 4, 5, 6), (6, 2, 3, 3), 2, (1, 1), (1, 1), (1, 1)),
    ((1, 2, 7, 6), (3, 2, 2, 3), 1, (2, 1), (0, 1), (2, 1)),
]


@pytest.mark.parity
@pytest.mark.parametrize("case", range(len(DEFORM_CASES)))
def test_deform_conv2d_forward_and_every_gradient_subset_match_the_kernel(case):
    import torch

    shape, wshape, groups_off, stride, padding, dilation = DEFORM_CASES[case]
    rng = np.random.default_rng(case)
    n, _c, h, w = shape
    o, _, kh, kw = wshape
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    arrays = {
        "input": rng.standard_normal(shape), "offset": rng.standard_normal((n, 2 * groups_off * kh * kw, ho, wo)) * 1.5,
        "weight": rng.standard_normal(wshape), "bias": rng.standard_normal(o),
        "mask": rng.random((n, groups_off * kh * kw, ho, wo)),
    }
    names = list(arrays)
    for use_mask in (True, False):
        for subset in itertools.chain.from_iterable(itertools.combinations(names, r) for r in (1, 5)):
            if not use_mask and "mask" in subset:
                continue
            ours = {k: ember.tensor(v, requires_grad=k in subset) for k, v in arrays.items()}
            theirs = {k: torch.tensor(v, requires_grad=k in subset) for k, v in arrays.items()}
            a = ops.deform_conv2d(ours["input"], ours["offset"], ours["weight"], ours["bias"], stride, padding,
                                  dilation, ours["mask"] if use_mask else None)
            b = _torch_deform_conv2d(theirs["input"], theirs["offset"], theirs["weight"], theirs["bias"], stride,
                                     padding, dilation, theirs["mask"] if use_mask else None)
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-10)
            upstream = rng.standard_normal(tuple(b.shape))
            (a * ember.tensor(upstream)).sum().backward()
            (b * torch.tensor(upstream)).sum().backward()
            for k in subset:
                np.testing.assert_allclose(ours[k].grad.numpy(), theirs[k].grad.numpy(), atol=1e-9, err_msg=k)


@pytest.mark.parity
def test_deform_conv2d_module_with_zero_offsets_is_a_convolution():
    import torch

    layer = ops.DeformConv2d(4, 6, kernel_size=3, stride=2, padding=1, groups=2)
    x = ember.rand(2, 4, 7, 7)
    out = layer(x, ember.zeros(2, 18, 4, 4))
    ref = torch.nn.functional.conv2d(torch.from_numpy(x.numpy()), torch.from_numpy(layer.weight.detach().numpy()),
                                     torch.from_numpy(layer.bias.detach().numpy()), stride=2, padding=1, groups=2)
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), atol=1e-5)
    assert repr(layer) == "DeformConv2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2)"
    with pytest.raises(RuntimeError, match="offset tensor at dimension 1"):
        layer(x, ember.zeros(2, 17, 4, 4))
    with pytest.raises(RuntimeError, match="offset must have shape"):
        layer(x, ember.zeros(2, 18, 5, 5))
    with pytest.raises(ValueError, match="divisible by groups"):
        ops.DeformConv2d(3, 6, 3, groups=2)


def _boxes():
    return ember.tensor([[0, 1.0, 2.0, 9.5, 8.0], [1, 0.0, 0.0, 5.0, 11.0], [0, 4.2, 3.3, 6.1, 5.0],
                         [1, -2.0, 6.0, 14.0, 13.0]])


@pytest.mark.parity
@pytest.mark.parametrize("sampling_ratio, scale", [(-1, 1.0), (2, 0.5)])
def test_ps_roi_align_is_torchvisions_aligned_roi_align_per_bin_channel(sampling_ratio, scale):
    tv = import_torchvision()
    import torch

    # (torchvision's compiled kernel does not load here; its Python roi_align is the reference, which agrees
    # with the kernel for boxes that stay within the map: hence 14 x 16)
    x = np.random.default_rng(0).standard_normal((2, 2 * 2 * 3, 14, 16))
    boxes = ember.tensor([[0, 1.0, 2.0, 9.5, 8.0], [1, 0.0, 0.0, 5.0, 11.0], [0, 4.2, 3.3, 6.1, 5.0],
                          [1, 0.5, 6.0, 14.0, 13.0]], dtype=ember.float64)
    ours_x, theirs_x = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = ops.ps_roi_align(ours_x, boxes, (2, 3), scale, sampling_ratio)
    full = tv.ops.roi_align(theirs_x, torch.from_numpy(boxes.numpy()), (2, 3), scale, sampling_ratio,
                            aligned=True)  # (K, 12, 2, 3): bin (i, j) of channel c comes from channel (c*2+i)*3+j
    index = torch.arange(12).reshape(2, 2, 3)
    ref = torch.stack([full[:, index[:, i, j], i, j] for i in range(2) for j in range(3)], -1).reshape(4, 2, 2, 3)
    assert tuple(out.shape) == (4, 2, 2, 3)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    upstream = np.random.default_rng(1).standard_normal((4, 2, 2, 3))
    (out * ember.tensor(upstream)).sum().backward()
    (ref * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), atol=1e-10)
    module = ops.PSRoIAlign((2, 3), scale, sampling_ratio)
    np.testing.assert_allclose(module(ours_x, boxes).detach().numpy(), out.detach().numpy())


def _ps_roi_pool_reference(x, rois, ph, pw, scale):
    """torchvision's ps_roi_pool forward kernel, loop for loop."""
    _n, c, h, w = x.shape
    c_out = c // (ph * pw)
    out = np.zeros((len(rois), c_out, ph, pw))
    rnd = lambda v: int(np.sign(v) * np.floor(abs(v) + 0.5))
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sw, sh, ew, eh = rnd(x1 * scale), rnd(y1 * scale), rnd(x2 * scale), rnd(y2 * scale)
        rw, rh = max(ew - sw, 1), max(eh - sh, 1)
        bh, bw = rh / ph, rw / pw
        for co in range(c_out):
            for i in range(ph):
                for j in range(pw):
                    hs = min(max(int(np.floor(i * bh)) + sh, 0), h - 1)
                    he = min(max(int(np.ceil((i + 1) * bh)) + sh, 0), h - 1)
                    ws = min(max(int(np.floor(j * bw)) + sw, 0), w - 1)
                    we = min(max(int(np.ceil((j + 1) * bw)) + sw, 0), w - 1)
                    if he > hs and we > ws:
                        out[k, co, i, j] = x[int(b), (co * ph + i) * pw + j, hs:he, ws:we].mean()
    return out


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_ps_roi_pool_matches_torchvisions_kernel(scale):
    x = np.random.default_rng(2).standard_normal((2, 8, 9, 11))
    out = ops.ps_roi_pool(ember.tensor(x), _boxes().double(), 2, scale)
    np.testing.assert_allclose(out.numpy(), _ps_roi_pool_reference(x, _boxes().numpy(), 2, 2, scale), atol=1e-12)
    xt = ember.tensor(x, requires_grad=True)
    ops.PSRoIPool(2, scale)(xt, _boxes().double()).sum().backward()
    assert xt.grad.numpy()[:, :, -1, :].sum() == 0  # the last row is never pooled by the forward
    with pytest.raises(RuntimeError, match="multiple of pooling height"):
        ops.ps_roi_pool(ember.zeros(1, 6, 4, 4), _boxes()[:1], 2)
    assert tuple(ops.ps_roi_pool(ember.zeros(1, 8, 4, 4), ember.zeros(0, 5), 2).shape) == (0, 2, 2, 2)


@pytest.mark.parity
def test_multi_scale_roi_align_matches_torchvision():
    tv = import_torchvision()
    import torch

    rng = np.random.default_rng(3)
    feats = {"p2": rng.standard_normal((2, 3, 32, 32)), "p3": rng.standard_normal((2, 3, 16, 16)),
             "p4": rng.standard_normal((2, 3, 8, 8)), "skip": rng.standard_normal((2, 3, 4, 4))}
    boxes = [np.array([[0.0, 0.0, 20.0, 20.0], [4.0, 8.0, 120.0, 100.0], [10.0, 10.0, 14.0, 60.0]]),
             np.array([[30.0, 5.0, 127.0, 127.0]])]
    ours_feats = {k: ember.tensor(v, requires_grad=True) for k, v in feats.items()}
    theirs_feats = {k: torch.tensor(v, requires_grad=True) for k, v in feats.items()}
    names = ["p2", "p3", "p4"]
    out = ops.MultiScaleRoIAlign(names, (2, 2), 2, canonical_scale=56)(
        ours_feats, [ember.tensor(b) for b in boxes], [(128, 128), (120, 128)])
    ref = tv.ops.MultiScaleRoIAlign(names, (2, 2), 2, canonical_scale=56)(
        theirs_feats, [torch.tensor(b) for b in boxes], [(128, 128), (120, 128)])
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    out.sum().backward()
    ref.sum().backward()
    for k in names:
        if ours_feats[k].grad is None:  # a level no box maps to (p3 here): torch holds zeros
            assert not theirs_feats[k].grad.numpy().any()
            continue
        np.testing.assert_allclose(ours_feats[k].grad.numpy(), theirs_feats[k].grad.numpy(), atol=1e-10)
    assert ours_feats["skip"].grad is None and ours_feats["p2"].grad is not None


def test_drop_block3d_zeroes_cubes_and_rescales_the_rest():
    x = ember.ones(2, 3, 6, 6, 6)
    ember.manual_seed(0)
    out = ops.drop_block3d(x, 0.3, 3).numpy()
    kept = out[out != 0]
    assert 0 < kept.size < out.size and np.allclose(kept, kept[0])
    np.testing.assert_allclose(kept[0], out.size / kept.size, rtol=1e-5)  # survivors scaled by numel / kept
    assert ops.drop_block3d(x, 0.0, 3) is x and ops.drop_block3d(x, 0.5, 3, training=False) is x
    block = ops.DropBlock3d(0.3, 3).eval()
    assert block(x) is x
    with pytest.raises(ValueError, match="5 dimensional"):
        ops.drop_block3d(ember.ones(1, 1, 4, 4), 0.1, 2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ops.drop_block3d(x, 1.5, 2)


@pytest.mark.parity
def test_conv3d_norm_activation_matches_torchvision():
    tv = import_torchvision()
    import torch

    ours = ops.Conv3dNormActivation(2, 4, kernel_size=(3, 1, 3), stride=(1, 2, 1)).eval()
    theirs = tv.ops.Conv3dNormActivation(2, 4, kernel_size=(3, 1, 3), stride=(1, 2, 1)).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(ours(ember.from_numpy(x)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    assert ours[0].padding == theirs[0].padding and ours[0].bias is None
